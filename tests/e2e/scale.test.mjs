// Scaling a running pipeline (issue 15, part 1): `lakesupd scale`, SIGHUP / `lakesupd reload` of
// workers.*, and workers.transform: auto. Every test checks the tables hold every event exactly once
// (the independent DuckDB verifier), and that the process tree follows the counts asked for.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { test } from 'node:test';
import { assertVerified, children, countInput, gen, LAKESUPD, rowsOf, run, startDaemon, status, until, waitAllRunning, waitLog, workspace } from './lib/daemon.mjs';

/** The roles of the supervisor's direct children (the process tree, not what status says). */
function tree(pid) {
  const n = { transform: 0, writer: 0 };
  for (const c of children(pid)) {
    const role = c.cmd[c.cmd.indexOf('worker') + 1];
    if (role in n) n[role]++;
  }
  return n;
}

/** Waits for every input event in processed_events, stops the daemon (exit 0) and verifies the tables. */
async function finish(d, ws, kinds, timeoutMs = 60000) {
  const events = countInput(ws.input).events;
  await until(() => rowsOf(ws.config, 'processed_events') === events, timeoutMs, `${events} rows`);
  d.child.kill('SIGTERM');
  assert.equal((await d.exited).code, 0);
  for (const k of kinds) assertVerified(ws, k, { more: () => d.logs().slice(-6000) });
}

/** `lakesupd scale` in the background: resolves with its exit code and output. */
function scaleAsync(config, ...counts) {
  return new Promise((resolve) => {
    const p = spawn(LAKESUPD, ['scale', '-c', config, ...counts], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code, out }));
  });
}

test('scale up and down repeatedly while data flows, a worker killed mid-scale: the tree follows, every event exactly once', async () => {
  // small chunks, each 250 ms slower in a transform: a scaled-in transform is still draining
  // when the test kills it (without it, the drain could end before the kill)
  const ws = workspace('scale', { transform: 1, writer: 1, extra: 'source:\n  chunk_bytes: 65536\n' });
  const d = startDaemon(['-c', ws.config], { LAKESUP_FAULT: 'transform.chunk=sleep250' });
  const chunks = () => status(ws.config).workers.filter((w) => w.role === 'transform').reduce((n, w) => n + (w.progress.chunks || 0), 0);
  let files = 0;
  // each feed is ~0.7 MB, 11 chunks of 64 KiB: 3 s of work for one transform at 250 ms a chunk,
  // enough for a scaled-in transform to be caught draining, and little enough to keep the test short
  const feed = (rows = 1400) => gen(['--out', ws.input, '--files', '2', '--rows', String(rows), '--seed', String(700 + files), '--prefix', `f${files++}`]);
  try {
    const s0 = await waitAllRunning(ws.config);
    const sup = s0.supervisor_pid;
    feed();
    // 1 -> 3 transforms under load: `scale` returns once the new ones are ready, and they are processes
    let r = run(['scale', '-c', ws.config, 'transform=3', 'writer=2']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /transform 3 of 3 running, writer 2 of 2 running/);
    assert.deepEqual(tree(sup), { transform: 3, writer: 2 });
    let s = status(ws.config);
    assert.deepEqual(s.scale.transform, { target: 3, actual: 3, auto: false, max: s.scale.transform.max });
    feed();
    // the new transforms get work (they ask for it)
    await until(() => status(ws.config).workers.filter((w) => w.role === 'transform' && w.progress.chunks > 0).length >= 2,
      30000, 'two transforms with chunks');
    // down to 1 while a scaled-in transform is killed in the middle of its drain: its chunks replay
    // (the scale starts once the transforms are at work on the new files)
    // (the scale starts once the transforms are at work on the new files; a drain may still end
    // between the status that shows it and the kill: then the next round tries again)
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) {
        r = run(['scale', '-c', ws.config, 'transform=3', 'writer=2']);
        assert.equal(r.code, 0, r.stdout + r.stderr);
      }
      const c0 = chunks();
      feed();
      await until(() => chunks() > c0, 30000, 'the transforms at work on the new files');
      const down = scaleAsync(ws.config, 'transform=1', 'writer=1');
      const retiring = await until(() => {
        const st = status(ws.config);
        return st && st.workers.find((w) => w.role === 'transform' && w.state === 'retiring' && w.pid > 0);
      }, 20000, 'a transform draining');
      let killed = true;
      try {
        process.kill(retiring.pid, 'SIGKILL');
      } catch (e) {
        if (e.code !== 'ESRCH' || attempt === 5) throw e;
        killed = false;
      }
      r = await down;
      assert.equal(r.code, 0, r.out);
      if (killed) break;
    }
    assert.deepEqual(tree(sup), { transform: 1, writer: 1 });
    // and again, up and down, with data flowing
    for (let round = 0; round < 3; round++) {
      feed(400);
      r = run(['scale', '-c', ws.config, 'transform=2', 'writer=2']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      feed(400);
      r = run(['scale', '-c', ws.config, 'transform=1', 'writer=1']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
    assert.deepEqual(tree(sup), { transform: 1, writer: 1 });
    await finish(d, ws, ['raw', 'processed']);
    const logs = d.logs();
    assert.match(logs, /scaled in but did not drain .*replaying what it held/);
    assert.match(logs, /worker role=transform index=\d pid=\d+ scaled in: drained and exited/);
  } finally {
    d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('transforms 1 -> 3 under load through `lakesupd scale` (writers unchanged): three transform processes, each doing work, every row exactly once', async () => {
  // the transforms are the bottleneck while scaling (each chunk 30 ms slower): there is a backlog
  // of chunks when the new ones start, so they must take part of it
  const ws = workspace('scale-1to3', { transform: 1, writer: 1, extra: 'source:\n  chunk_bytes: 65536\n' });
  const d = startDaemon(['-c', ws.config], { LAKESUP_FAULT: 'transform.chunk=sleep30' });
  try {
    const sup = (await waitAllRunning(ws.config)).supervisor_pid;
    assert.deepEqual(tree(sup), { transform: 1, writer: 1 });
    gen(['--out', ws.input, '--files', '6', '--rows', '8000', '--seed', '790']);
    await until(() => status(ws.config).workers.some((w) => w.role === 'transform' && w.progress.chunks > 0), 30000,
      'the first transform at work');
    const before = rowsOf(ws.config, 'processed_events');
    const r = run(['scale', '-c', ws.config, 'transform=3']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /transform 3 of 3 running, writer 1 of 1 running/);
    // the process tree follows at once: three transform processes under the supervisor
    assert.deepEqual(tree(sup), { transform: 3, writer: 1 });
    const s = status(ws.config);
    assert.deepEqual(s.scale.transform, { target: 3, actual: 3, auto: false, max: s.scale.transform.max });
    const events = countInput(ws.input).events;
    assert.ok(before < events, `the scale happened under load (${before} of ${events} rows were in)`);
    gen(['--out', ws.input, '--files', '3', '--rows', '8000', '--seed', '791', '--prefix', 'late']);
    const total = countInput(ws.input).events;
    // every transform index takes chunks (the new ones ask for work and get it)
    await until(() => {
      const t = status(ws.config).workers.filter((w) => w.role === 'transform' && w.progress.chunks > 0);
      return new Set(t.map((w) => w.index)).size === 3;
    }, 60000, 'three transforms with chunks');
    await until(() => rowsOf(ws.config, 'processed_events') === total, 120000, `${total} rows`);
    assert.deepEqual(tree(sup), { transform: 3, writer: 1 });
    await finish(d, ws, ['raw', 'processed']);
  } finally {
    d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('workers.* edited in the file: SIGHUP and `lakesupd reload` scale the running tree; status shows target and actual', async () => {
  const ws = workspace('reload-scale', { transform: 1, writer: 1 });
  const original = fs.readFileSync(ws.config, 'utf8');
  const d = startDaemon(['-c', ws.config]);
  try {
    const sup = (await waitAllRunning(ws.config)).supervisor_pid;
    gen(['--out', ws.input, '--files', '2', '--rows', '3000', '--seed', '731']);
    fs.writeFileSync(ws.config, original.replace('transform: 1', 'transform: 2'));
    d.child.kill('SIGHUP');
    await waitLog(d, /SIGHUP: transform 1 -> 2: workers\.transform in the file/);
    await until(() => { const s = status(ws.config); return s.scale.transform.actual === 2 && s; }, 20000, '2 transforms');
    assert.equal(tree(sup).transform, 2);
    fs.writeFileSync(ws.config, original.replace('writer: 1', 'writer: 3') + 'log_level: debug\n');
    const r = run(['reload', '-c', ws.config]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /reloaded: log_level, workers\.transform, workers\.writer/);
    await until(() => { const s = status(ws.config); return s.scale.writer.actual === 3 && s.scale.transform.actual === 1; },
      20000, 'writer 3 transform 1');
    // status counts a scaled-in transform out when it starts to drain; its process exits after
    await until(() => { const t = tree(sup); return t.transform === 1 && t.writer === 3; }, 20000,
      'the tree: transform 1, writer 3');
    assert.match(run(['status', '-c', ws.config]).stdout, /workers  transform 1 of 1 running  writer 3 of 3 running/);
    // a broken file changes nothing and says why (exit 100)
    fs.writeFileSync(ws.config, original + 'workers:\n  writer: many\n');
    const bad = run(['reload', '-c', ws.config]);
    assert.equal(bad.code, 100, bad.stdout + bad.stderr);
    fs.writeFileSync(ws.config, original);
    await finish(d, ws, ['processed'], 30000);
  } finally {
    d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('workers.transform: auto adds a transform while they are the bottleneck and removes it when idle, saying why', async () => {
  // transforms made slow (each chunk 100 ms longer: LAKESUP_FAULT's sleep) so that they are the
  // bottleneck; the host's idle cores are stated (this machine is shared: other jobs may use every
  // core, and then holding is the right decision; test_autoscale covers that rule)
  const ws = workspace('autoscale', { transform: 1, writer: 1, extra: 'source:\n  chunk_bytes: 65536\n' });
  fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace('transform: 1', 'transform: auto\n  max_transform: 2'));
  const d = startDaemon(['-c', ws.config], { LAKESUP_FAULT: 'transform.chunk=sleep100', LAKESUP_AUTOSCALE_IDLE_CORES: '1.5' });
  try {
    await waitAllRunning(ws.config);
    await waitLog(d, /workers\.transform: auto — from 1 up to 2 transform\(s\)/, 10000); // the pipe may lag the status
    gen(['--out', ws.input, '--files', '6', '--rows', '5000', '--seed', '760']);
    await waitLog(d, /autoscale: transform 1 -> 2: transforms busy \d+ % of the time, ingest waited \d+ % of the time for a free transform, [\d.]+ idle core/, 30000);
    await until(() => status(ws.config).scale.transform.actual === 2, 20000, '2 transforms');
    // once the backlog is done they idle: back to one
    await waitLog(d, /autoscale: transform 2 -> 1: transforms busy \d+ % of the time \(idle\)/, 60000);
    await until(() => status(ws.config).scale.transform.actual === 1, 20000, '1 transform');
    await finish(d, ws, ['processed']);
  } finally {
    d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('scale refuses what it cannot do: a count out of range, an unknown role, no pipeline running', () => {
  const ws = workspace('scale-usage');
  for (const bad of [['transform=0'], ['transform=65'], ['ingest=2'], ['transform=x'], []]) {
    const r = run(['scale', '-c', ws.config, ...bad]);
    assert.equal(r.code, 2, `${bad}: ${r.stdout}${r.stderr}`);
  }
  const r = run(['scale', '-c', ws.config, 'transform=2']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not running/);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});
