// transform.dedupe (issue 12): Spark's dropDuplicatesWithinWatermark over several files (one batch
// each, two or more chunks each) with duplicates inside a chunk, across the chunks of a batch and
// across batches, copies beyond `within` (kept) and time-less rows (never duplicates):
// processed_events equals DuckDB's dedupe of the input, a derived table fed from it holds no
// duplicate, raw_events keeps every row, event_metrics counts no duplicate, and the duplicates are counted (progress records, a log line per batch).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { QUICK, rowsOf, run, startDaemon, status, until, waitAllRunning, workspace } from './lib/daemon.mjs';
import { get, monitorUrl, parseMetrics } from './lib/monitoring.mjs';
import { queryTable } from './lib/delta.mjs';
import { DEDUPE_CONFIG, dedupeReference, genDedupeInput } from './lib/dedupe.mjs';
import { assertWindows, quarantined, readMetrics } from './lib/windows.mjs';

const FILES = QUICK ? 9 : 11;

/** processed_events' rows as the reference lists them. */
async function processed(tables) {
  return queryTable(path.join(tables, 'processed_events'),
    'SELECT event_id, epoch_ms(ts) AS t, amount FROM $T ORDER BY event_id, t, amount');
}

const norm = (rows) => rows.map((x) => `${x.event_id}|${x.t === null ? 'null' : Number(x.t)}|${x.amount}`);

test('dedupe: processed_events and event_metrics hold no duplicate; raw_events every row; counted per batch', async () => {
  const ws = workspace('dedupe', {
    extra: DEDUPE_CONFIG + 'tables:\n  purchases:\n    from: processed_events\n    transforms:\n' +
      "      - filter: \"event_type = 'purchase'\"\n      - select: [event_id, ts, amount]\n",
  });
  const lines = genDedupeInput(ws.input, { files: FILES });
  const r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const ref = await dedupeReference(ws.input);
  assert.equal(ref.total, lines);
  assert.ok(ref.dropped > 100, `the input has duplicates (${ref.dropped})`);
  // bronze keeps every input row; silver is DuckDB's dedupe, row for row
  const [{ n }] = await queryTable(path.join(ws.tables, 'raw_events'), 'SELECT count(*) AS n FROM $T');
  assert.equal(Number(n), lines, 'raw_events: every row, duplicates included');
  const got = await processed(ws.tables);
  assert.equal(got.length, ref.kept.length, `processed_events: ${got.length} rows, reference ${ref.kept.length}`);
  assert.deepEqual(norm(got), norm(ref.kept), 'processed_events equals the reference dedupe');
  // a derived table fed from processed_events sees no duplicate either
  const purchases = await queryTable(path.join(ws.tables, 'purchases'),
    'SELECT event_id, epoch_ms(ts) AS t, amount FROM $T ORDER BY event_id, t, amount');
  const wantPurchases = ref.kept.filter((x) => x.event_type === 'purchase');
  assert.ok(wantPurchases.length > 100);
  assert.deepEqual(norm(purchases), norm(wantPurchases), 'the derived table: the kept purchases, once each');
  // the copies beyond `within` are kept: some ids are in processed_events twice, minutes apart
  const twice = await queryTable(path.join(ws.tables, 'processed_events'),
    'SELECT event_id FROM $T WHERE ts IS NOT NULL GROUP BY event_id HAVING count(*) > 1 AND max(ts) - min(ts) >= INTERVAL 10 MINUTE');
  assert.ok(twice.length >= 3, `copies beyond within kept: ${twice.length}`);
  const none = await queryTable(path.join(ws.tables, 'processed_events'),
    "SELECT count(*) AS n FROM $T WHERE event_id LIKE 'none-%'");
  assert.equal(Number(none[0].n), 2 * FILES, 'rows without an event time are never duplicates');
  // quarantine: exactly the time-less rows (their raw rows found although rows before them in their
  // chunk were dropped), no duplicate, no late row
  const q = await quarantined(ws.tables);
  assert.equal(q.size, FILES, `quarantine: ${[...q.keys()].slice(0, 5)}`);
  for (let f = 0; f < FILES; f++) {
    const e = q.get(`none-${f}`);
    assert.ok(e && e.reason === 'no_event_time' && e.n === 2, `none-${f}: ${e ? `${e.reason} x${e.n}` : "missing"}`);
  }
  // event_metrics: the windows of the kept rows only
  assert.ok(ref.windows.length > 20, `windows closed: ${ref.windows.length}`);
  assertWindows(await readMetrics(ws.tables), ref.windows);
  // counted per batch in the progress records, and in total
  const prog = run(['progress', '-c', ws.config, '--json', '--last', '100']);
  assert.equal(prog.code, 0, prog.stderr);
  const recs = JSON.parse(prog.stdout);
  assert.equal(recs.length, FILES);
  const perBatch = recs.map((x) => x.numDuplicateRowsDropped);
  assert.ok(perBatch.every((x) => x > 0), `every batch had duplicates: ${perBatch}`);
  assert.equal(perBatch.reduce((a, b) => a + b, 0), ref.dropped, 'numDuplicateRowsDropped sums to the duplicates dropped');
  // one log line per batch that had duplicates
  const logged = (r.stderr.match(/committer\[0\] \d+: batch=\d+: \d+ duplicate row\(s\) dropped \(transform\.dedupe\)/g) || []);
  assert.equal(logged.length, FILES, 'one line per batch with duplicates');
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('dedupe: the committer dies between a drop list and the replay, before the state, after a Delta commit: each row once', async () => {
  const ws = workspace('dedupefault', { extra: DEDUPE_CONFIG + 'monitor:\n  http: "127.0.0.1:0"\n' });
  const g = ['abort-before-replay', 'abort-before-state', 'abort-after-commit'].map((x) => path.join(ws.dir, x));
  fs.writeFileSync(g[0], '');
  const d = startDaemon(['-c', ws.config], {
    LAKESUP_FAULT: `committer.dedupe_before_replay=abort@1@while:${g[0]},` +
      `committer.dedupe_before_state=abort@1@while:${g[1]},committer.after_delta_commit=abort@2@while:${g[2]}`,
  });
  const aborts = () => (d.logs().match(/role=committer index=0 pid=\d+ exited unexpectedly: killed by signal 6/g) || []).length;
  let ref;
  try {
    await waitAllRunning(ws.config);
    const staging = path.join(ws.dir, 'staging');
    fs.mkdirSync(staging);
    genDedupeInput(staging, { files: 4, rows: QUICK ? 800 : 1300, seed: 9 });
    ref = await dedupeReference(staging);
    for (const f of fs.readdirSync(staging).sort()) fs.renameSync(path.join(staging, f), path.join(ws.input, f));
    for (let i = 0; i < 3; i++) {
      await until(() => aborts() >= i + 1, 60000, `the committer's abort ${i + 1}`);
      fs.rmSync(g[i]);
      if (i < 2) fs.writeFileSync(g[i + 1], '');
    }
    await until(() => rowsOf(ws.config, 'processed_events') === ref.kept.length, 120000, `${ref.kept.length} rows`);
    // counted in status (the committer's counter since its last start: it was restarted) and in
    // Prometheus (the committer's counter summed over its incarnations: every batch once)
    const cm = status(ws.config).workers.find((w) => w.role === 'committer');
    assert.ok(cm.progress.duplicate_rows > 0 && cm.progress.duplicate_rows <= ref.dropped, `status: ${JSON.stringify(cm)}`);
    const base = await monitorUrl(d);
    let seen;
    await until(async () => {
      seen = parseMetrics((await get(`${base}/metrics`)).text).get('lakesup_duplicate_rows_total');
      return seen === ref.dropped;
    }, 30000, `lakesup_duplicate_rows_total = ${ref.dropped} (got ${seen})`);
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0);
  } finally {
    d.child.kill('SIGKILL');
  }
  assert.deepEqual(norm(await processed(ws.tables)), norm(ref.kept), 'processed_events: each kept row once');
  assertWindows(await readMetrics(ws.tables), ref.windows);
  const prog = JSON.parse(run(['progress', '-c', ws.config, '--json', '--last', '100']).stdout);
  assert.equal(prog.reduce((a, x) => a + x.numDuplicateRowsDropped, 0), ref.dropped, 'duplicates counted once per batch');
  fs.rmSync(ws.dir, { recursive: true, force: true });
});
