// event_metrics (issue 12): 1-minute tumbling windows by event_type with a 30-second watermark on
// ts, over several files (one batch each) with out-of-order, late and time-less rows, against
// DuckDB's GROUP BY time_bucket over the non-late rows (lateness replayed over the real batch
// boundaries); every late and time-less row in quarantine once; a second run of late rows changes
// no window; configuration errors at start with file, line and key.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { QUICK, rowsOf, run, startDaemon, until, waitAllRunning, workspace } from './lib/daemon.mjs';
import { query, queryTable, readTableSql, replay } from './lib/delta.mjs';
import {
  METRICS_CONFIG, assertQuarantine, assertWindows, genWindowInput, quarantined, readMetrics, reference,
  withTextAggregates,
} from './lib/windows.mjs';

const FILES = QUICK ? 4 : 6;
const ROWS = QUICK ? 300 : 800;

test('tumbling windows equal DuckDB over the non-late rows; late rows quarantined once; a late second run changes nothing', async () => {
  const ws = workspace('win', { extra: METRICS_CONFIG });
  genWindowInput(ws.input, { files: FILES, rows: ROWS, seed: 11 });
  let r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const ref = await reference([ws.input], ws.tables);
  assert.ok(ref.late.size > 10 && ref.none.size > 5, `the input has late (${ref.late.size}) and time-less (${ref.none.size}) rows`);
  const got = await readMetrics(ws.tables);
  assert.ok(ref.windows.length > 20, `windows closed: ${ref.windows.length}`);
  assertWindows(got, ref.windows);
  // available-now drained the backlog: exactly the windows with end <= max(ts) - 30 s
  const maxEnd = Math.max(...got.map((g) => Number(g.we)));
  assert.ok(maxEnd <= ref.watermark && maxEnd > ref.watermark - 60000, 'the last window the final watermark closes is there');
  assertQuarantine(await quarantined(ws.tables), ref);
  // the commits: one per batch, each with txn(appId, batch); the table's schema
  const log = path.join(ws.tables, 'event_metrics', '_delta_log');
  const versions = fs.readdirSync(log).filter((f) => f.endsWith('.json')).sort();
  assert.equal(versions.length, FILES, 'one event_metrics commit per batch');
  versions.forEach((f, i) => {
    const txn = fs.readFileSync(path.join(log, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((a) => a.txn);
    assert.equal(txn.txn.version, i, `${f}: txn version = batch`);
  });
  const schema = await queryTable(path.join(ws.tables, 'event_metrics'), 'DESCRIBE SELECT * FROM $T');
  assert.deepEqual(schema.map((c) => c.column_name),
    ['window_start', 'window_end', 'event_type', 'events', 'amount_sum', 'amount_max', 'amount_min', 'amount_avg', 'with_amount']);
  assert.match(schema[0].column_type, /TIMESTAMP/);
  // table read --batch N: bronze, silver and gold at one consistent point; history shows the batch
  const readN = (t, b) => { const x = run(['table', 'read', t, '-c', ws.config, '--batch', String(b), '--columns', t === 'event_metrics' ? 'window_start' : 'event_id']); assert.equal(x.code, 0, x.stderr); return x.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)); };
  for (const b of [0, 2, FILES - 1]) {
    assert.equal(readN('raw_events', b).length, ref.rowsThrough[b], `raw_events --batch ${b}`);
    assert.equal(readN('processed_events', b).length, ref.rowsThrough[b], `processed_events --batch ${b}`);
    const gold = readN('event_metrics', b);
    assert.equal(gold.length, ref.windows.filter((w) => Number(w.ws) + 60000 <= ref.watermarks[b]).length, `event_metrics --batch ${b}: the windows its watermark closed`);
  }
  const hist = run(['table', 'history', 'event_metrics', '-c', ws.config, '--json']).stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(hist.map((h) => h.batch), [...Array(FILES).keys()].reverse(), 'history: the batch of each version');
  const miss = run(['table', 'read', 'event_metrics', '-c', ws.config, '--batch', '999']);
  assert.equal(miss.code, 1);
  assert.match(miss.stderr, /batch 999 is in no retained version .*\(batches 0\.\.\d+\)/);

  // a second run: a file of rows older than the watermark changes no window, lands in quarantine
  const late2 = path.join(ws.dir, 'late2');
  fs.mkdirSync(late2);
  genWindowInput(late2, { files: 1, rows: 200, seed: 99, prefix: 'z', baseMs: Date.parse('2026-11-24T08:50:00Z'), idFrom: 900000 });
  for (const f of fs.readdirSync(late2)) fs.copyFileSync(path.join(late2, f), path.join(ws.input, f));
  const before = JSON.stringify(got, (k, v) => (typeof v === 'bigint' ? Number(v) : v));
  r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const after = await readMetrics(ws.tables);
  assert.equal(JSON.stringify(after, (k, v) => (typeof v === 'bigint' ? Number(v) : v)), before, 'the late run changed no window');
  const q = await quarantined(ws.tables);
  const rows2 = fs.readFileSync(path.join(late2, fs.readdirSync(late2)[0]), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  for (const row of rows2) {
    const e = q.get(row.event_id);
    assert.ok(e, `${row.event_id} of the late run is in quarantine`);
    assert.equal(e.n, 1);
    assert.equal(e.reason, row.ts === null || Number.isNaN(Date.parse(row.ts)) ? 'no_event_time' : 'late', row.event_id);
  }
  // counted: the progress record of the batch (Spark's numRowsDroppedByWatermark, and ours)
  const prog = run(['progress', '-c', ws.config, '--json', '--last', '100']);
  assert.equal(prog.code, 0, prog.stderr);
  const recs = JSON.parse(prog.stdout);
  const last = recs[recs.length - 1];
  const lateRows = rows2.filter((x) => x.ts !== null && !Number.isNaN(Date.parse(x.ts))).length;
  assert.equal(last.numRowsDroppedByWatermark, lateRows, `progress of the batch counts the late rows: ${prog.stdout.slice(-600)}`);
  assert.equal(last.numRowsWithoutEventTime, rows2.length - lateRows, 'and the time-less ones');
  const firstRun = recs.slice(0, FILES);
  assert.equal(firstRun.reduce((n, x) => n + x.numRowsDroppedByWatermark, 0), ref.late.size, 'first run: late rows counted');
  assert.equal(firstRun.reduce((n, x) => n + x.numRowsWithoutEventTime, 0), ref.none.size, 'first run: time-less rows counted');
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('a bad metrics key, an unknown aggregate or column fail at start with file, line and key', async () => {
  const cases = [
    ['metrics:\n  window: "1 minute"\n  windw: 3\n  aggregates: {n: "count(*)"}\n', /lakesup\.yml:\d+: key 'metrics\.windw': unknown key/],
    ['metrics:\n  window: "1 minute"\n  group_by: [event_type]\n  aggregates: {n: "count(*)", m: "median(amount)"}\n',
      /lakesup\.yml:\d+: key 'metrics\.aggregates\.m': 'median\(amount\)' is not an aggregate/],
    ['metrics:\n  window: "1 minute"\n  aggregates: {n: "count(*)"}\n', /key 'metrics': the windows need an event time/],
    ['metrics:\n  window: "soon"\n  aggregates: {n: "count(*)"}\n', /key 'metrics\.window'/],
    // a first start: checked against the first inferred schema before any batch
    ['metrics:\n  window: "1 minute"\n  aggregates: {n: "count(*)", s: "sum(amout)"}\n',
      /lakesup\.yml:\d+: key 'metrics\.aggregates\.s': position 5: unknown column 'amout'/],
    // approx_percentile's array form: each percentage checked, named by its element
    ['metrics:\n  window: "1 minute"\n  aggregates:\n    n: "count(*)"\n    p: "approx_percentile(amount, array(0.5, 2))"\n',
      /lakesup\.yml:\d+: key 'metrics\.aggregates\.p': percentage 2 \(element 2 of array\(\.\.\.\)\) is not in \[0, 1\]/],
  ];
  for (const [extra, re] of cases) {
    const ws = workspace('wincfg', { extra: extra.includes('transform:') || /need an event/.test(re.source) ? extra : 'transform:\n  event_time: ts\n' + extra });
    fs.writeFileSync(path.join(ws.input, 'a.jsonl'), '{"ts":"2026-11-24T09:00:00Z","event_type":"x","amount":1}\n');
    const r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
    assert.equal(r.code, 100, `exit code of a configuration error (${extra}): ${r.stderr.slice(-800)}`);
    assert.match(r.stderr, re);
    fs.rmSync(ws.dir, { recursive: true, force: true });
  }
  // an unknown column: known once the schema is (a second start), named with its line
  const ws = workspace('wincol', { extra: METRICS_CONFIG });
  genWindowInput(ws.input, { files: 1, rows: 50, seed: 3 });
  let r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const text = fs.readFileSync(ws.config, 'utf8').replace('sum(amount)', 'sum(amout)');
  fs.writeFileSync(ws.config, text);
  const line = text.split('\n').findIndex((l) => l.includes('amout')) + 1;
  r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 100, r.stderr.slice(-2000));
  assert.match(r.stderr, new RegExp(`lakesup\\.yml:${line}: key 'metrics\\.aggregates\\.amount_sum': .*unknown column 'amout'`));
  // a group key of another type than event_metrics' column and the saved window state's (a changed
  // `metrics:` on the same checkpoint): refused at start with exit 100, before any worker, saying
  // what changed (the table's files could not be read as the new type; as Spark refuses an
  // incompatible state schema), never a commit retried for ever; the batch is not lost: the first
  // definition back, it commits
  fs.writeFileSync(ws.config, text.replace('sum(amout)', 'sum(amount)').replace('group_by: [event_type]',
    'group_by: ["length(event_type) AS event_type"]'));
  genWindowInput(ws.input, { files: 1, rows: 50, seed: 4, prefix: 'more', idFrom: 1000 });
  r = run(['start', '-c', ws.config, '--trigger', 'available-now'], { timeoutMs: 60000 });
  assert.equal(r.code, 100, r.stderr.slice(-2000));
  assert.match(r.stderr, /key 'metrics\.group_by': column 'event_type' of event_metrics is STRING in the table, and the metrics make it INTEGER.*CAST\(\.\.\. AS STRING\) AS event_type/);
  assert.doesNotMatch(r.stderr, /retrying in/);
  fs.writeFileSync(ws.config, text.replace('sum(amout)', 'sum(amount)'));
  r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const [{ n }] = await queryTable(path.join(ws.tables, 'raw_events'), 'SELECT count(*)::BIGINT AS n FROM $T');
  assert.equal(Number(n), 100);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('the committer dies after a window file before the state, and between the gold commit and state.db: windows exactly once', async () => {
  // with min/max of strings and a percentile array: their state survives the kills too
  const ws = workspace('winfault', { extra: withTextAggregates(METRICS_CONFIG) });
  const g1 = path.join(ws.dir, 'abort-before-state');
  const g2 = path.join(ws.dir, 'abort-after-gold-commit');
  fs.writeFileSync(g1, '');
  // the 2nd batch's window file is written, its state not stored; then a committer dies right
  // after its 3rd Delta commit (raw_events, processed_events, event_metrics), before state.db
  const d = startDaemon(['-c', ws.config], {
    LAKESUP_FAULT: `committer.gold_before_state=abort@2@while:${g1},committer.after_delta_commit=abort@3@while:${g2}`,
  });
  const aborts = () => (d.logs().match(/role=committer index=0 pid=\d+ exited unexpectedly: killed by signal 6/g) || []).length;
  try {
    await waitAllRunning(ws.config);
    const staging = path.join(ws.dir, 'staging');
    fs.mkdirSync(staging);
    const files = genWindowInput(staging, { files: 5, rows: QUICK ? 200 : 500, seed: 23, labels: true });
    for (const f of fs.readdirSync(staging).sort()) fs.renameSync(path.join(staging, f), path.join(ws.input, f));
    await until(() => aborts() >= 1, 30000, 'the committer to abort before storing the window state');
    fs.writeFileSync(g2, '');
    fs.rmSync(g1);
    await until(() => aborts() >= 2, 30000, 'the committer to abort after the gold commit');
    fs.rmSync(g2);
    const rows = files.flat().length;
    await until(() => rowsOf(ws.config, 'processed_events') === rows, 60000, `${rows} rows`);
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0);
    assert.match(d.logs(), /already in table=event_metrics \(txn\): not committed again/);
  } finally {
    d.child.kill('SIGKILL');
  }
  const ref = await reference([ws.input], ws.tables);
  const got = await readMetrics(ws.tables, '', { text: true });
  assert.ok(got.some((g) => g.label_min !== null && g.amount_ps.length === 2), 'the string and array aggregates are there');
  assertWindows(got, ref.windows);
  assertQuarantine(await quarantined(ws.tables), ref);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('sliding windows (2 minutes every 30 s) equal DuckDB over the non-late rows, each row in every window holding it', async () => {
  const ws = workspace('winslide', { extra: METRICS_CONFIG.replace('window: "1 minute"', 'window: {size: "2 minutes", slide: "30 seconds"}') });
  genWindowInput(ws.input, { files: 4, rows: QUICK ? 200 : 500, seed: 17 });
  const r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const ref = await reference([ws.input], ws.tables, { sizeMs: 120000, slideMs: 30000 });
  assert.ok(ref.windows.length > 20, `windows: ${ref.windows.length}`);
  assertWindows(await readMetrics(ws.tables), ref.windows, '', 120000);
  assertQuarantine(await quarantined(ws.tables), ref);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('update mode: every version holds each window once with its current values, closed windows equal append mode\'s; DuckDB reads every version', async () => {
  const upd = workspace('winupd', { extra: METRICS_CONFIG.replace('output_mode: append', 'output_mode: update') });
  const app = workspace('winapp', { extra: METRICS_CONFIG });
  for (const ws of [upd, app]) {
    genWindowInput(ws.input, { files: 5, rows: QUICK ? 200 : 400, seed: 29 });
    const r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
  }
  const ref = await reference([upd.input], upd.tables);
  const final = await readMetrics(app.tables);
  assertWindows(final, ref.windows, 'append: ');
  const byKey = new Map(final.map((g) => [`${g.ws}|${g.event_type}`, g]));
  const log = path.join(upd.tables, 'event_metrics', '_delta_log');
  const versions = fs.readdirSync(log).filter((f) => f.endsWith('.json')).length;
  assert.equal(versions, 5);
  let open = 0;
  for (let v = 0; v < versions; v++) {
    const snap = await replay(path.join(upd.tables, 'event_metrics'), { version: v });
    const from = await readTableSql(snap);
    const rows = await query(`SELECT epoch_ms(window_start) AS ws, epoch_ms(window_end) AS we, event_type, events, amount_sum, ` +
      `amount_max, amount_min, amount_avg, with_amount FROM ${from} ORDER BY ws, event_type`);
    const seen = new Set();
    for (const g of rows) {
      const k = `${g.ws}|${g.event_type}`;
      assert.ok(!seen.has(k), `version ${v}: ${k} once`);
      seen.add(k);
      // a window append mode closed: early values never exceed the final count, converge to it
      const a = byKey.get(k);
      if (a) assert.ok(Number(g.events) <= Number(a.events), `version ${v}: ${k} count ${g.events} <= final ${a.events}`);
    }
    if (v === versions - 1) {
      const closed = rows.filter((g) => Number(g.we) <= ref.watermark);
      assertWindows(closed, ref.windows, 'update, last version: ');
      open = rows.length - closed.length;
      assert.ok(open > 0, 'the open windows are in the table with their current values');
      assert.ok(rows.filter((g) => Number(g.we) > ref.watermark).every((g) => Number(g.events) > 0));
    }
  }
  // a commit replaces the open windows' file of the one before (remove + add in one commit)
  const c3 = fs.readFileSync(path.join(log, '00000000000000000003.json'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(c3.some((a) => a.remove && /-open-/.test(a.remove.path)), 'the open windows of version 2 removed');
  assert.ok(c3.some((a) => a.add && /-open-/.test(a.add.path)), 'and written again');
  assert.equal(c3.find((a) => a.commitInfo).commitInfo.operationParameters.outputMode, 'Update');
  for (const ws of [upd, app]) fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('session windows (gap 3 s) equal DuckDB\'s sessionization of the non-late rows', async () => {
  const ws = workspace('winsess', { extra: METRICS_CONFIG.replace('window: "1 minute"', 'window: {session_gap: "3 seconds"}') });
  genWindowInput(ws.input, { files: 4, rows: QUICK ? 200 : 500, seed: 41 });
  const r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const ref = await reference([ws.input], ws.tables, { gapMs: 3000 });
  assert.ok(ref.windows.length > 30, `sessions: ${ref.windows.length}`);
  assertWindows(await readMetrics(ws.tables), ref.windows, '', 0);
  assertQuarantine(await quarantined(ws.tables), ref);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('approx_count_distinct and approx_percentile within their error of DuckDB\'s exact answers', async () => {
  const extra = METRICS_CONFIG.replace(/  aggregates: .*\n/,
    '  aggregates: {events: "count(*)", ids: "approx_count_distinct(event_id)", amounts: "approx_count_distinct(amount)", ' +
    'med: "approx_percentile(amount, 0.5)", p90: "approx_percentile(amount, 0.9)"}\n').replace('window: "1 minute"', 'window: "5 minutes"');
  const ws = workspace('winapprox', { extra });
  genWindowInput(ws.input, { files: 6, rows: QUICK ? 400 : 1500, seed: 53 });
  const r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const ref = await reference([ws.input], ws.tables, { sizeMs: 300000 });
  const tmp = path.join(ws.tables, '..', '..', '..', 'reference.jsonl');
  const got = await queryTable(path.join(ws.tables, 'event_metrics'),
    'SELECT epoch_ms(window_start) AS ws, event_type, events, ids, amounts, med, p90 FROM $T ORDER BY ws, event_type');
  assert.equal(got.length, ref.windows.length);
  assert.ok(got.length >= 5, `windows: ${got.length}`);
  let errSum = 0;
  for (const g of got) {
    // exact: DuckDB over the reference rows of the window
    const [e] = await query(`SELECT count(DISTINCT amount) AS amounts, ` +
      `list_sort(list(amount) FILTER (WHERE amount IS NOT NULL)) AS sorted FROM read_json('${tmp}', format='newline_delimited', ` +
      `columns={event_type:'VARCHAR', t:'BIGINT', amount:'DOUBLE', ws:'BIGINT'}) ` +
      `WHERE event_type = '${g.event_type}' AND t >= ${g.ws} AND t < ${Number(g.ws) + 300000}`);
    assert.equal(Number(g.ids) > 0, true);
    const idsErr = Math.abs(Number(g.ids) - Number(g.events)) / Number(g.events);
    const amErr = Math.abs(Number(g.amounts) - Number(e.amounts)) / Number(e.amounts);
    assert.ok(idsErr <= 0.15 && amErr <= 0.15, `${g.ws}|${g.event_type}: distinct ${g.ids} of ${g.events}, ${g.amounts} of ${e.amounts}`);
    errSum += idsErr;
    const sorted = e.sorted.map(Number);
    const rank = (x) => sorted.filter((y) => y < x).length / sorted.length;
    const tol = Math.max(0.03, 1.01 / sorted.length); // a quantile of n values is one of them: 1/n apart
    assert.ok(Math.abs(rank(g.med) - 0.5) <= tol, `${g.ws}|${g.event_type}: median ${g.med} at rank ${rank(g.med)}`);
    assert.ok(Math.abs(rank(g.p90) - 0.9) <= tol, `${g.ws}|${g.event_type}: p90 ${g.p90} at rank ${rank(g.p90)}`);
  }
  assert.ok(errSum / got.length <= 0.05, `mean relative error of approx_count_distinct ${errSum / got.length}`);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('min/max of strings in byte order and approx_percentile(col, array(...)) against DuckDB; Delta types and stats; update mode converges', async () => {
  const aggs = '  aggregates: {events: "count(*)", lo: "min(label)", hi: "max(label)", ' +
    'ps: "approx_percentile(amount, array(0.1, 0.5, 0.9))", top: "percentile_approx(amount, array(1), 1000)"}\n';
  const extra = METRICS_CONFIG.replace(/  aggregates: .*\n/, aggs).replace('window: "1 minute"', 'window: "5 minutes"');
  const app = workspace('winstr', { extra });
  const upd = workspace('winstru', { extra: extra.replace('output_mode: append', 'output_mode: update') });
  for (const ws of [app, upd]) {
    genWindowInput(ws.input, { files: 6, rows: QUICK ? 400 : 1500, seed: 61, labels: true });
    const r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
  }
  const table = path.join(app.tables, 'event_metrics');
  // Spark's types: min/max of a string a string, the array form array<double> (containsNull false)
  const snap = await replay(table);
  const fields = JSON.parse(snap.metaData.schemaString).fields;
  assert.deepEqual(fields.find((f) => f.name === 'ps').type, { type: 'array', elementType: 'double', containsNull: false });
  assert.equal(fields.find((f) => f.name === 'lo').type, 'string');
  const desc = await queryTable(table, 'DESCRIBE SELECT * FROM $T');
  assert.deepEqual(desc.map((c) => [c.column_name, c.column_type]).slice(3),
    [['events', 'BIGINT'], ['lo', 'VARCHAR'], ['hi', 'VARCHAR'], ['ps', 'DOUBLE[]'], ['top', 'DOUBLE[]']]);
  const ref = await reference([app.input], app.tables, { sizeMs: 300000 });
  const tmp = path.join(app.tables, '..', '..', '..', 'reference.jsonl');
  const got = await queryTable(table, 'SELECT epoch_ms(window_start) AS ws, event_type, events, lo, hi, ps, top FROM $T ORDER BY ws, event_type');
  assert.equal(got.length, ref.windows.length);
  assert.ok(got.length >= 5, `windows: ${got.length}`);
  const bytes = (a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  let exact = 0, utf16differs = 0;
  for (const g of got) {
    const k = `${g.ws}|${g.event_type}`;
    const [e] = await query(`SELECT count(*) AS n, min(label) AS lo, max(label) AS hi, count(amount) AS na, ` +
      `quantile_disc(amount, [0.1, 0.5, 0.9]) AS qd, max(amount) AS mx, ` +
      `list_sort(list(amount) FILTER (WHERE amount IS NOT NULL)) AS sorted, list(label) FILTER (WHERE label IS NOT NULL) AS labels ` +
      `FROM read_json('${tmp}', format='newline_delimited', columns={event_type:'VARCHAR', t:'BIGINT', amount:'DOUBLE', ws:'BIGINT', label:'VARCHAR'}) ` +
      `WHERE event_type = '${g.event_type}' AND t >= ${g.ws} AND t < ${Number(g.ws) + 300000}`);
    assert.equal(Number(g.events), Number(e.n), `${k}: count(*)`);
    // strings: DuckDB's min/max (binary collation) = UTF-8 byte order, which is Spark's
    const byBytes = [...e.labels].sort(bytes);
    assert.equal(g.lo, e.lo, `${k}: min(label)`);
    assert.equal(g.hi, e.hi, `${k}: max(label)`);
    assert.equal(g.lo, byBytes[0], `${k}: min by bytes`);
    assert.equal(g.hi, byBytes[byBytes.length - 1], `${k}: max by bytes`);
    if ([...e.labels].sort().pop() !== g.hi) utf16differs++;
    // percentiles: one digest for the three; exact (quantile_disc, Spark's definition) while the
    // window holds fewer than 2 * compression values, else within the digest's rank error
    assert.equal(g.ps.length, 3, `${k}: three percentiles`);
    assert.deepEqual(g.top, [e.mx], `${k}: array(1) is the max`);
    const sorted = e.sorted.map(Number);
    if (sorted.length < 400) {
      assert.deepEqual(g.ps, e.qd, `${k}: exact percentiles of ${sorted.length} values`);
      exact++;
    } else {
      const tol = 0.03;
      [0.1, 0.5, 0.9].forEach((q, i) => {
        const below = sorted.filter((y) => y < g.ps[i]).length / sorted.length, upto = sorted.filter((y) => y <= g.ps[i]).length / sorted.length;
        assert.ok(below <= q + tol && upto >= q - tol, `${k}: p${q} ${g.ps[i]} at ranks [${below}, ${upto}]`);
      });
    }
    assert.ok(g.ps[0] <= g.ps[1] && g.ps[1] <= g.ps[2], `${k}: percentiles in order`);
  }
  assert.ok(utf16differs > 0, 'the input has windows whose max differs by UTF-16 order (the test tells the orders apart)');
  assert.ok(exact > 0 || !QUICK, `windows checked exactly: ${exact}`);
  // Delta statistics of the string columns: each file's min/max of lo and hi, byte order
  for (const f of snap.files) {
    const st = typeof f.stats === 'string' ? JSON.parse(f.stats) : f.stats;
    const [m] = await query(`SELECT min(lo) AS lo, max(hi) AS hi, count(*) AS n FROM read_parquet('${f.fullPath}')`);
    assert.equal(st.numRecords, Number(m.n), `${f.path}: numRecords`);
    if (!m.n) continue;
    assert.ok(bytes(st.minValues.lo, m.lo) <= 0 && m.lo.startsWith(st.minValues.lo), `${f.path}: minValues.lo ${st.minValues.lo} vs ${m.lo}`);
    assert.ok(bytes(st.maxValues.hi, m.hi) >= 0, `${f.path}: maxValues.hi ${st.maxValues.hi} vs ${m.hi}`);
  }
  // update mode: its closed windows are append mode's rows, strings and arrays alike
  const u = await queryTable(path.join(upd.tables, 'event_metrics'),
    `SELECT epoch_ms(window_start) AS ws, event_type, events, lo, hi, ps, top FROM $T WHERE epoch_ms(window_end) <= ${ref.watermark} ORDER BY ws, event_type`);
  const norm = (rows) => JSON.stringify(rows, (k, v) => (typeof v === 'bigint' ? Number(v) : v));
  assert.equal(norm(u), norm(got), 'update mode\'s closed windows equal append mode\'s');
  const open = await queryTable(path.join(upd.tables, 'event_metrics'), `SELECT lo, ps FROM $T WHERE epoch_ms(window_end) > ${ref.watermark}`);
  assert.ok(open.length > 0 && open.every((o) => o.ps.length === 3), 'the open windows carry their arrays too');
  for (const ws of [app, upd]) fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('aggregates of decimals are exact with Spark\'s types (sum DECIMAL(p+10,s), avg DECIMAL(p+4,s+4)) against DuckDB; an aggregate whose type would change in the table is refused at start', async () => {
  const aggs = '  aggregates: {events: "count(*)", ds: "sum(CAST(amount AS DECIMAL(10,2)))", ' +
    'da: "avg(CAST(amount AS DECIMAL(10,2)))", dmax: "max(CAST(amount AS DECIMAL(10,2)))", ' +
    'dp: "approx_percentile(CAST(amount AS DECIMAL(10,2)), 0.5)"}\n';
  const extra = METRICS_CONFIG.replace(/  aggregates: .*\n/, aggs).replace('window: "1 minute"', 'window: "5 minutes"');
  const ws = workspace('windec', { extra });
  genWindowInput(ws.input, { files: 4, rows: QUICK ? 300 : 700, seed: 71 });
  let r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const table = path.join(ws.tables, 'event_metrics');
  const fields = JSON.parse((await replay(table)).metaData.schemaString).fields;
  assert.deepEqual(['ds', 'da', 'dmax', 'dp'].map((n) => fields.find((f) => f.name === n).type),
    ['decimal(20,2)', 'decimal(14,6)', 'decimal(10,2)', 'decimal(10,2)']);
  const ref = await reference([ws.input], ws.tables, { sizeMs: 300000 });
  const tmp = path.join(ws.tables, '..', '..', '..', 'reference.jsonl');
  const got = await queryTable(table, 'SELECT epoch_ms(window_start) AS ws, event_type, ds::VARCHAR AS ds, da::VARCHAR AS da, ' +
    'dmax::VARCHAR AS dmax, dp::VARCHAR AS dp FROM $T ORDER BY ws, event_type');
  assert.equal(got.length, ref.windows.length);
  assert.ok(got.length >= 5, `windows: ${got.length}`);
  // Spark's avg (3.4+, DecimalDivideWithOverflowCheck): the exact sum / count at scale 38, HALF_UP,
  // then to the result's scale 6, HALF_UP
  const halfUp = (v, d) => { const neg = v < 0n, m = neg ? -v : v, q = m / d + ((m % d) * 2n >= d ? 1n : 0n); return neg ? -q : q; };
  const fmt = (v, s) => { const neg = v < 0n, t = (neg ? -v : v).toString().padStart(s + 1, '0'); return `${neg ? '-' : ''}${t.slice(0, -s)}.${t.slice(-s)}`; };
  let exactP = 0, uneven = 0;
  for (const g of got) {
    const k = `${g.ws}|${g.event_type}`;
    const [e] = await query(`SELECT sum(CAST(amount AS DECIMAL(10,2)))::VARCHAR AS s, count(amount) AS n, ` +
      `max(CAST(amount AS DECIMAL(10,2)))::VARCHAR AS mx, CAST(quantile_disc(amount, 0.5) AS DECIMAL(10,2))::VARCHAR AS qd ` +
      `FROM read_json('${tmp}', format='newline_delimited', columns={event_type:'VARCHAR', t:'BIGINT', amount:'DOUBLE', ws:'BIGINT', label:'VARCHAR'}) ` +
      `WHERE event_type = '${g.event_type}' AND t >= ${g.ws} AND t < ${Number(g.ws) + 300000}`);
    assert.equal(g.ds, e.s, `${k}: sum`);
    assert.equal(g.dmax, e.mx, `${k}: max`);
    const n = BigInt(e.n);
    if (n === 0n) { assert.equal(g.da, null, `${k}: avg of no value`); continue; }
    const cents = BigInt(e.s.replace('.', ''));
    assert.equal(g.da, fmt(halfUp(halfUp(cents * 10n ** 36n, n), 10n ** 32n), 6), `${k}: avg of ${e.s} / ${n}`);
    if (cents % n !== 0n) uneven++;
    if (n < 400n) { assert.equal(g.dp, e.qd, `${k}: approx_percentile of ${n} values`); exactP++; }
  }
  assert.ok(uneven > 0 && exactP > 0, `windows whose avg rounds: ${uneven}; exact percentiles: ${exactP}`);
  // the same aggregate name of another type: the table's files could not be read as it
  fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace('ds: "sum(CAST(amount AS DECIMAL(10,2)))"', 'ds: "sum(amount)"'));
  r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 100, r.stderr.slice(-2000));
  assert.match(r.stderr, /key 'metrics\.aggregates\.ds': column 'ds' of event_metrics is DECIMAL\(20,2\) in the table, and the metrics make it DOUBLE.*a cast of the aggregate's argument \(CAST\(x AS DECIMAL\(10,2\)\)\)/);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});
