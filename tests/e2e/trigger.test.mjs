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

/** The commits of a table's _delta_log: version, commitInfo timestamp (ms), rows added, files. */
function commits(table) {
  const dir = path.join(table, '_delta_log');
  if (!fs.existsSync(dir)) return [];
  const out = [];
  for (const f of fs.readdirSync(dir).filter((n) => /^\d{20}\.json$/.test(n)).sort()) {
    let ts = null, rows = 0, files = 0;
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const a = JSON.parse(line);
      if (a.commitInfo) ts = a.commitInfo.timestamp;
      if (a.add) {
        files++;
        rows += JSON.parse(a.add.stats).numRecords;
      }
    }
    out.push({ version: Number(f.slice(0, 20)), ts, rows, files });
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
