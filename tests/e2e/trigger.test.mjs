// The processing-time trigger (trigger: {processing_time: ...}), as Spark's ProcessingTime: one
// micro-batch per interval with what arrived since the last one, none for an empty interval, one
// commit per table per micro-batch; every worker accepts it (no crash loop) and `status` shows the
// next trigger time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  gen, run, sleep, startDaemon, status, until, verify, waitAllRunning, workspace,
} from './lib/daemon.mjs';

/**
 * The commits of a table's _delta_log: version, commitInfo timestamp (ms), rows added, files. Only
 * the stream's commits: an auto-compaction (OPTIMIZE, adds with dataChange false) adds no rows.
 */
function commits(table) {
  const dir = path.join(table, '_delta_log');
  if (!fs.existsSync(dir)) return [];
  const out = [];
  for (const f of fs.readdirSync(dir).filter((n) => /^\d{20}\.json$/.test(n)).sort()) {
    let ts = null, rows = 0, files = 0, op = null;
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const a = JSON.parse(line);
      if (a.commitInfo) {
        ts = a.commitInfo.timestamp;
        op = a.commitInfo.operation;
      }
      if (a.add && a.add.dataChange !== false) {
        files++;
        rows += JSON.parse(a.add.stats).numRecords;
      }
    }
    if (op !== 'OPTIMIZE') out.push({ version: Number(f.slice(0, 20)), ts, rows, files });
  }
  return out;
}

/** Writes lk_gen's file (seed) into input under name (renamed into place: complete at once). */
function drop(ws, name, seed, rows) {
  const staging = path.join(ws.dir, `staging-${seed}`);
  gen(['--out', staging, '--files', '1', '--rows', String(rows), '--seed', String(seed),
    '--start-id', String(seed * 100000)]);
  const [f] = fs.readdirSync(staging);
  fs.renameSync(path.join(staging, f), path.join(ws.input, name));
  fs.rmSync(staging, { recursive: true, force: true });
}

test('processing_time: one micro-batch per 2 s interval with what arrived, none for an empty interval, commits spaced by the interval; status shows the next trigger; clean stop', async () => {
  const ws = workspace('ptrigger', { transform: 1, writer: 1,
    extra: 'trigger:\n  processing_time: "2 seconds"\n' });
  const raw = path.join(ws.tables, 'raw_events'), processed = path.join(ws.tables, 'processed_events');
  const d = startDaemon(['-c', ws.config]);
  try {
    const s0 = await waitAllRunning(ws.config);
    assert.equal(s0.trigger, 'processing_time');
    assert.equal(s0.trigger_interval_ms, 2000);
    const text = run(['status', '-c', ws.config]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /trigger every 2 s; next micro-batch at \d{4}-\d\d-\d\dT[\d:.]+Z \(in \d+\.\d s\)/);

    // two files together: one micro-batch holds both
    drop(ws, 'a.jsonl', 11, 300);
    drop(ws, 'b.jsonl', 12, 200);
    await until(() => commits(raw).length === 1, 15000, 'the first commit');
    assert.equal(commits(raw)[0].rows, 500);
    // right after a commit (just after a tick) the next tick is ~2 s away: two files 700 ms apart
    // fall into the same interval, and make one commit
    drop(ws, 'c.jsonl', 13, 100);
    await sleep(700);
    drop(ws, 'd.jsonl', 14, 150);
    await until(() => commits(raw).length === 2, 15000, 'the second commit');
    assert.equal(commits(raw)[1].rows, 250);
    // empty intervals: no micro-batch, no commit
    await sleep(5000);
    assert.equal(commits(raw).length, 2, 'an interval without new input committed something');
    const s1 = status(ws.config);
    assert.ok(s1.next_trigger_at_ms > Date.now() - 1000 && s1.next_trigger_at_ms < Date.now() + 2500,
      `next trigger ${s1.next_trigger_at_ms} is not within the next interval of ${Date.now()}`);
    drop(ws, 'e.jsonl', 15, 50);
    await until(() => commits(processed).length === 3, 15000, 'the third commit');

    for (const table of [raw, processed]) {
      const c = commits(table);
      assert.deepEqual(c.map((x) => x.version), [0, 1, 2], `${table}: one commit per micro-batch`);
      for (let i = 1; i < c.length; i++)
        assert.ok(c[i].ts - c[i - 1].ts >= 1500,
          `${table}: commits ${i - 1} and ${i} are ${c[i].ts - c[i - 1].ts} ms apart (interval 2 s)`);
    }
    // every worker took the trigger: none restarted (it used to crash-loop on --trigger processing_time)
    const s2 = status(ws.config);
    for (const w of s2.workers) assert.equal(w.restarts, 0, `${w.role}[${w.index}] restarted`);
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0, d.logs().slice(-3000));
    for (const [table, kind] of [[raw, 'raw'], [processed, 'processed']]) {
      const v = verify(table, ws.input, kind);
      assert.equal(v.code, 0, `verify ${kind}:\n${v.out}`);
    }
  } finally {
    d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('--trigger processing-time=DURATION on the command line; a bad interval is a usage error', async () => {
  const ws = workspace('ptrigger-cli', { transform: 1, writer: 1 });
  const bad = run(['start', '-c', ws.config, '--trigger', 'processing-time=soon']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--trigger 'processing-time=soon': expected processing-time=<duration>/);
  const bare = run(['start', '-c', ws.config, '--trigger', 'processing-time']);
  assert.equal(bare.code, 2);
  assert.match(bare.stderr, /no interval/);
  drop(ws, 'a.jsonl', 21, 100);
  const d = startDaemon(['-c', ws.config, '--trigger', 'processing-time=1s']);
  try {
    const s = await waitAllRunning(ws.config);
    assert.equal(s.trigger, 'processing_time');
    assert.equal(s.trigger_interval_ms, 1000);
    await until(() => commits(path.join(ws.tables, 'processed_events')).length === 1, 15000, 'a commit');
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0);
  } finally {
    d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

/**
 * Feeds ws a steady stream (a file every 200 ms for 8 s) and then a burst of 20 files at once; each
 * file named by its drop time. Returns the drop times.
 */
async function feed(ws, seed0) {
  const dropped = [];
  for (let i = 0; i < 40; i++) {
    drop(ws, `s-${i}.jsonl`, seed0 + i, 200);
    dropped.push(Date.now());
    await sleep(200);
  }
  for (let i = 0; i < 20; i++) {
    drop(ws, `b-${i}.jsonl`, seed0 + 40 + i, 200);
    dropped.push(Date.now());
  }
  return dropped;
}

test('freshness: batches as large as the objective allows; p99 of file close to commit under it, far fewer commits and files than continuous', async (t) => {
  const objectiveMs = 5000;
  const runs = {};
  for (const mode of ['freshness', 'continuous']) {
    const ws = workspace(`fresh-${mode}`, { transform: 2, writer: 2,
      extra: mode === 'freshness' ? 'trigger:\n  freshness: "5 seconds"\n' : '' });
    const raw = path.join(ws.tables, 'raw_events');
    const d = startDaemon(['-c', ws.config]);
    try {
      const s0 = await waitAllRunning(ws.config);
      if (mode === 'freshness') {
        assert.equal(s0.trigger, 'freshness');
        assert.equal(s0.freshness_ms, objectiveMs);
        const text = run(['status', '-c', ws.config]);
        assert.match(text.stdout, /freshness objective 5 s \(input file close to commit\); interval chosen now [\d.]+ s/);
      }
      const dropped = await feed(ws, 500);
      const total = dropped.length * 200;
      await until(() => commits(raw).reduce((n, c) => n + c.rows, 0) === total, 60000, `${mode}: every row committed`);
      const c = commits(raw);
      // when each file's rows were committed: the commits in order hold the files in drop order only
      // roughly, so bound each file by the first commit at which the committed rows cover it
      let acc = 0, k = 0, worst = 0;
      for (let i = 0; i < dropped.length; i++) {
        while (k < c.length && acc + c[k].rows < (i + 1) * 200) acc += c[k++].rows;
        if (k < c.length) worst = Math.max(worst, c[k].ts - dropped[i]);
      }
      const st = status(ws.config);
      runs[mode] = { commits: c.length, files: c.reduce((n, x) => n + x.files, 0), worst, st };
      d.child.kill('SIGTERM');
      assert.equal((await d.exited).code, 0, d.logs().slice(-3000));
      const v = verify(raw, ws.input, 'raw');
      assert.equal(v.code, 0, `verify ${mode}:\n${v.out}`);
      if (mode === 'freshness') {
        assert.match(d.logs(), /ingest\[0\] \d+: freshness 5000 ms: interval \d+ ms \(was \d+ ms; slowest of the last \d batches \d+ ms\)/);
      }
    } finally {
      d.child.kill('SIGKILL');
    }
    fs.rmSync(ws.dir, { recursive: true, force: true });
  }
  const f = runs.freshness, c = runs.continuous;
  const note = JSON.stringify({ freshness: { ...f, st: undefined }, continuous: { ...c, st: undefined } });
  t.diagnostic(note);
  // the monitor's own measure of the objective (the last 1024 files, file close to commit)
  assert.ok(f.st.monitor.latency_p99_seconds <= objectiveMs / 1000,
    `p99 ${f.st.monitor.latency_p99_seconds} s over the objective: ${note}`);
  assert.ok(f.st.monitor.freshness_slo_ratio >= 0.99, `slo ratio ${f.st.monitor.freshness_slo_ratio}: ${note}`);
  // the test's own measure: every file's rows committed within the objective of its drop
  assert.ok(f.worst <= objectiveMs, `a file waited ${f.worst} ms: ${note}`);
  // and far fewer commits and files than continuous for the same input
  assert.ok(f.commits * 3 <= c.commits, `commits: freshness ${f.commits}, continuous ${c.commits}: ${note}`);
  assert.ok(f.files * 3 <= c.files, `files: freshness ${f.files}, continuous ${c.files}: ${note}`);
});
