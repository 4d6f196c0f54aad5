// End-to-end tests of the walking skeleton: the real process tree on real
// files, and the tables checked by an independent reader (DuckDB plus a
// Delta log replay written in JavaScript, tests/e2e/lib/).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { alive, allRunning, assertVerified, children, countInput, gen, QUICK, rowsOf, run, runningWorker, startDaemon, status, until, VERIFY, waitAllRunning, workspace } from './lib/daemon.mjs';

const FILES = QUICK ? 4 : 12;
const ROWS = QUICK ? 1500 : 2500;

function deltaVersions(table) {
  const log = path.join(table, '_delta_log');
  return fs.readdirSync(log).filter((f) => /^\d{20}\.json$/.test(f)).length;
}

test('available-now: every event exactly once in raw_events and processed_events', () => {
  const ws = workspace('avail');
  gen(['--out', ws.input, '--files', String(FILES), '--rows', String(ROWS), '--seed', '7',
       '--corrupt-every', '397', '--empty-every', '211']);
  const r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, `start failed (${r.code}):\n${r.stderr}`);
  assert.match(r.stderr, /INFO supervisor\[0\] \d+: all \d+ workers ready/);
  assert.match(r.stderr, /INFO committer\[0\] \d+: committed batch=0 table=raw_events version=0/);
  assertVerified(ws, 'raw');
  assertVerified(ws, 'processed');

  // a second available-now run with nothing new commits nothing
  const before = deltaVersions(path.join(ws.tables, 'raw_events'));
  const r2 = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(deltaVersions(path.join(ws.tables, 'raw_events')), before);

  // new files are picked up incrementally by the next run
  gen(['--out', ws.input, '--files', '2', '--rows', '500', '--seed', '8', '--start-id', '9000000',
       '--prefix', 'more']);
  const r3 = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r3.code, 0, r3.stderr);
  assert.ok(deltaVersions(path.join(ws.tables, 'raw_events')) > before);
  assertVerified(ws, 'raw');
  assertVerified(ws, 'processed');

  // time travel: version 0 as our reader sees it equals the independent replay at version 0
  const rawTable = path.join(ws.tables, 'raw_events');
  const v0 = run(['table', 'read', 'raw_events', '-c', ws.config, '--version', '0', '--columns', 'event_id']);
  assert.equal(v0.code, 0, v0.stderr);
  const indep = JSON.parse(spawnSync(process.execPath, [VERIFY, '--table', rawTable, '--version', '0'], { encoding: 'utf8' }).stdout);
  assert.equal(v0.stdout.trim().split('\n').length, indep.rows);
  const hist = run(['table', 'history', 'raw_events', '-c', ws.config, '--json']);
  assert.equal(hist.code, 0, hist.stderr);
  const versions = hist.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(versions.length >= 2 && versions[0].version === versions.length - 1);
  assert.ok(versions.every((v) => v.operation === 'STREAMING UPDATE'));
  assert.equal(run(['table', 'read', 'raw_events', '-c', ws.config, '--version', '99']).code, 1);

  // our own reader agrees on the row count
  const list = run(['table', 'list', '-c', ws.config]);
  assert.equal(list.code, 0, list.stderr);
  const { events, corrupt } = countInput(ws.input);
  const rawLine = list.stdout.split('\n').find((l) => l.startsWith('raw_events'));
  assert.equal(Number(rawLine.trim().split(/\s+/)[3]), events + corrupt, list.stdout);
  const read = run(['table', 'read', 'processed_events', '-c', ws.config, '--limit', '3']);
  assert.equal(read.code, 0, read.stderr);
  const rows = read.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.length, 3);
  assert.ok(rows[0].event_id && rows[0].device_os && rows[0].processed_at, read.stdout);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('continuous: process tree, status, second instance refused, files while running, stop', async () => {
  const ws = workspace('cont');
  const d = startDaemon(['-c', ws.config]);
  try {
    const st = await until(() => {
      const s = allRunning(ws.config);
      return s && s.workers.length === 7 && s;
    }, 20000, 'all 7 workers running');
    assert.deepEqual(st.workers.map((w) => w.role).sort(),
      ['committer', 'ingest', 'monitor', 'transform', 'transform', 'writer', 'writer']);

    // ps shows the tree: every worker a direct child, its role in argv
    const kids = children(d.child.pid).filter((k) => k.cmd[1] === 'worker');
    assert.equal(kids.length, 7, JSON.stringify(kids));
    for (const w of st.workers)
      assert.ok(kids.some((k) => k.pid === w.pid && k.cmd[2] === w.role && k.cmd[3] === String(w.index)));

    // a second instance on the same checkpoint is refused, naming the pid
    const second = run(['start', '-c', ws.config], { timeoutMs: 60000 });
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, new RegExp(`pid ${d.child.pid}`));

    // files dropped in while running appear in the tables
    gen(['--out', ws.input, '--files', '3', '--rows', String(ROWS), '--seed', '11']);
    const { events } = countInput(ws.input);
    await until(() => rowsOf(ws.config, 'processed_events') === events, 60000, `${events} rows in processed_events`);
    gen(['--out', ws.input, '--files', '2', '--rows', '700', '--seed', '12', '--start-id', '5000000',
         '--prefix', 'late']);
    const total = countInput(ws.input).events;
    await until(() => rowsOf(ws.config, 'processed_events') === total, 60000, `${total} rows in processed_events`);

    const stop = run(['stop', '-c', ws.config]);
    assert.equal(stop.code, 0, stop.stderr);
    const ex = await d.exited;
    assert.equal(ex.code, 0, d.logs());
    assert.equal(status(ws.config), null);
    assertVerified(ws, 'raw');
    assertVerified(ws, 'processed');
  } finally {
    d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('killed workers restart while files keep arriving; SIGTERM drains; nothing lost or doubled', async () => {
  const ws = workspace('kill');
  const d = startDaemon(['-c', ws.config]);
  try {
    const st = await waitAllRunning(ws.config);
    // files arrive in waves; a transform, a writer and the committer are killed between waves
    let wave = 0;
    for (const role of ['transform', 'writer', 'committer']) {
      gen(['--out', ws.input, '--files', '2', '--rows', QUICK ? '800' : '2000', '--seed', String(60 + wave),
           '--start-id', String(wave * 1000000), '--prefix', `wave${wave}`]);
      wave++;
      const cur = await runningWorker(ws.config, role);
      process.kill(cur.pid, 'SIGKILL');
      await until(() => {
        const s = status(ws.config);
        const x = s && s.workers.find((y) => y.role === role && y.index === cur.index);
        return x && x.restarts >= 1 && x.state === 'running' && x.pid !== cur.pid;
      }, 20000, `${role} restarted`);
    }
    assert.ok(st.workers.length === 7);
    const { events } = countInput(ws.input);
    await until(() => rowsOf(ws.config, 'processed_events') >= events, 90000, `${events} rows`);
    d.child.kill('SIGTERM'); // a graceful stop by signal: drain, commit, exit 0
    assert.equal((await d.exited).code, 0, d.logs());
    assert.match(d.logs(), /signal received: draining/);
    for (const role of ['transform', 'writer', 'committer'])
      assert.match(d.logs(), new RegExp(`ingest\\[0\\] \\d+: replay requested reason=${role}`));
    assertVerified(ws, 'raw');
    assertVerified(ws, 'processed');
  } finally {
    d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('a bad configuration fails before any worker starts, naming file, line and key', () => {
  const ws = workspace('badcfg', { extra: 'workers_typo: 3\n' });
  const r = run(['start', '-c', ws.config], { timeoutMs: 60000 });
  assert.equal(r.code, 100);
  assert.match(r.stderr, new RegExp(`${ws.config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+`));
  assert.match(r.stderr, /workers_typo/);
  assert.doesNotMatch(r.stderr, /started worker/);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('include_existing_files: false skips files present at the first start, takes later ones', () => {
  const ws = workspace('existing', { extra: 'source:\n  include_existing_files: false\n' });
  gen(['--out', ws.input, '--files', '2', '--rows', '200', '--seed', '41', '--prefix', 'old']);
  let r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /include_existing_files is false: 2 file\(s\) present at the first start are skipped/);
  gen(['--out', ws.input, '--files', '1', '--rows', '300', '--seed', '42', '--start-id', '7000000', '--prefix', 'new']);
  r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr);
  const list = run(['table', 'list', '-c', ws.config]);
  const raw = list.stdout.split('\n').find((l) => l.startsWith('raw_events'));
  assert.ok(raw, list.stdout);
  assert.equal(Number(raw.trim().split(/\s+/)[3]), 300, list.stdout);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('continuous: a file written in place is taken once complete; a later overwrite is refused, not duplicated', async () => {
  // listing semantics (the writer closes between appends; with inotify each close would be complete);
  // a settle time of 3 s, not the default 100 ms: a loaded machine can stall the writer's 30 ms pauses
  // past 100 ms, and a listing would then take the file after its first part
  const ws = workspace('inplace', { extra: 'source:\n  use_notifications: false\n  file_ready_delay: 3s\n' });
  const d = startDaemon(['-c', ws.config]);
  try {
    await waitAllRunning(ws.config);
    // write a file in place, in three parts, with pauses shorter than the settle time
    const lines = [];
    for (let i = 0; i < 300; i++)
      lines.push(JSON.stringify({ event_id: `inplace-${i}`, user_id: i, event_type: 'click', ts: '2026-11-24T09:30:00.000Z',
        amount: 1.5, country: 'FR', device: { os: 'ios', version: '1.0' }, message: 'm' }));
    const f = path.join(ws.input, 'inplace.jsonl');
    fs.writeFileSync(f, lines.slice(0, 100).join('\n') + '\n');
    await new Promise((r) => setTimeout(r, 30));
    fs.appendFileSync(f, lines.slice(100, 200).join('\n') + '\n');
    await new Promise((r) => setTimeout(r, 30));
    fs.appendFileSync(f, lines.slice(200).join('\n') + '\n');
    await until(() => rowsOf(ws.config, 'processed_events') === 300, 30000, '300 rows');
    // an overwrite after ingestion: refused with a warning, nothing doubled
    fs.appendFileSync(f, JSON.stringify({ event_id: 'late', user_id: 1 }) + '\n');
    await until(() => /file changed after it was ingested/.test(d.logs()), 10000, 'the overwrite warning');
    assert.equal(run(['stop', '-c', ws.config]).code, 0);
    assert.equal((await d.exited).code, 0, d.logs());
    const list = run(['table', 'list', '-c', ws.config]);
    const raw = list.stdout.split('\n').find((l) => l.startsWith('raw_events'));
    assert.equal(Number(raw.trim().split(/\s+/)[3]), 300, list.stdout);
  } finally {
    d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('a hung worker (SIGSTOP) is killed after worker_timeout and restarted; nothing lost', async () => {
  // worker_timeout 3 s: long enough that a healthy ASan worker on a loaded machine is not killed too
  const ws = workspace('hung', { extra: 'worker_timeout: 3s\nstop_timeout: 20s\n' });
  const d = startDaemon(['-c', ws.config]);
  try {
    const st = await waitAllRunning(ws.config);
    const victim = st.workers.find((w) => w.role === 'transform' && w.index === 1);
    process.kill(victim.pid, 'SIGSTOP');
    gen(['--out', ws.input, '--files', '3', '--rows', QUICK ? '500' : '1500', '--seed', '71']);
    await until(() => new RegExp(`role=transform index=1 pid=${victim.pid} sent no heartbeat`).test(d.logs()),
      15000, 'the liveness kill');
    await until(() => {
      const s = status(ws.config);
      const x = s && s.workers.find((y) => y.role === 'transform' && y.index === 1);
      return x && x.restarts >= 1 && x.state === 'running';
    }, 15000, 'the hung transform restarted');
    const { events } = countInput(ws.input);
    await until(() => rowsOf(ws.config, 'processed_events') >= events, 60000, `${events} rows`);
    assert.equal(run(['stop', '-c', ws.config]).code, 0);
    assert.equal((await d.exited).code, 0, d.logs());
    assertVerified(ws, 'raw');
    assertVerified(ws, 'processed');
  } finally {
    d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('supervisor kill -9 mid-flow: workers die with it, the next start finishes, exactly once', async () => {
  const ws = workspace('supkill', { extra: 'source:\n  chunk_bytes: 65536\n  max_files_per_trigger: 1\n' });
  // many one-file batches (at most 3 in flight): the kill lands with most of them still to do
  const staging = path.join(ws.dir, 'staging');
  gen(['--out', staging, '--files', '24', '--rows', QUICK ? '400' : '1000', '--seed', '81']);
  const names = fs.readdirSync(staging).sort();
  const moveIn = (list) => list.forEach((n) => fs.renameSync(path.join(staging, n), path.join(ws.input, n)));
  // commits fail (injected EACCES) while the gate exists: once it is created, nothing more can commit,
  // however fast the machine (without it a fast run could commit all 24 before the kill)
  const gate = path.join(ws.dir, 'no-commit');
  const d = startDaemon(['-c', ws.config], { LAKESUP_FAULT: `committer.commit=EACCES@while:${gate}` });
  let kids = [];
  try {
    moveIn(names.slice(0, 2));
    // kill the supervisor once the first commits are in, while more are in flight
    await until(() => /committed batch=\d+ table=processed_events/.test(d.logs()), 30000, 'a first commit');
    fs.writeFileSync(gate, '');
    moveIn(names.slice(2));
    await until(() => /committer\[0\] \d+: commit of batch \d+ \(injected fault\)/.test(d.logs()), 30000,
      'a batch waiting for its commit');
    kids = children(d.child.pid).map((k) => k.pid);
    assert.ok(kids.length >= 7, JSON.stringify(kids));
    d.child.kill('SIGKILL');
    await d.exited;
  } finally {
    d.child.kill('SIGKILL');
  }
  // every worker exits with its supervisor (PDEATHSIG): no orphans
  await until(() => kids.every((pid) => !alive(pid)), 5000, 'the workers to exit');
  // the kill came mid-flow: part of the input is not in the table yet
  const before = run(['table', 'list', '-c', ws.config]).stdout.split('\n').find((l) => l.startsWith('processed_events'));
  assert.ok(Number(before.trim().split(/\s+/)[3]) < countInput(ws.input).events, before);
  // the next start cleans up what the kill left and finishes the backlog
  const r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr);
  assertVerified(ws, 'raw');
  assertVerified(ws, 'processed');
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('partition_by: processed_events partitioned by event_date, Hive paths, partitionValues; DuckDB and our reader agree', () => {
  const ws = workspace('partition', { extra: 'tables:\n  processed_events:\n    partition_by: [event_date]\n' });
  // one event every 2 h: the rows span several days
  gen(['--out', ws.input, '--files', '3', '--rows', QUICK ? '500' : '2000', '--seed', '91', '--ts-step-ms', '7200000']);
  const r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const table = path.join(ws.tables, 'processed_events');
  const log = path.join(table, '_delta_log');
  const actions = fs.readFileSync(path.join(log, '00000000000000000000.json'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const md = actions.find((a) => a.metaData).metaData;
  assert.deepEqual(md.partitionColumns, ['event_date']);
  assert.ok(JSON.parse(md.schemaString).fields.some((f) => f.name === 'event_date' && f.type === 'date'));
  const adds = actions.filter((a) => a.add).map((a) => a.add);
  const days = new Set(adds.map((a) => a.partitionValues.event_date));
  assert.ok(days.size >= 20, `several partitions: ${[...days].join(' ')}`);
  for (const a of adds) {
    assert.match(a.path, /^event_date=\d{4}-\d{2}-\d{2}\/part-/);
    assert.equal(a.path.split('/')[0], `event_date=${a.partitionValues.event_date}`);
    assert.ok(fs.existsSync(path.join(table, a.path)));
  }
  // data files do not carry the partition column (Delta convention)
  const dataCols = spawnSync(process.execPath, ['-e', `
    import('@duckdb/node-api').then(async ({ DuckDBInstance }) => {
      const c = await (await DuckDBInstance.create()).connect();
      const r = await c.runAndReadAll("DESCRIBE SELECT * FROM read_parquet('${path.join(table, adds[0].path)}', hive_partitioning=false)");
      console.log(r.getRowObjectsJS().map((x) => x.column_name).join(','));
    });`], { encoding: 'utf8', cwd: path.join(process.cwd(), 'tests', 'e2e') });
  assert.doesNotMatch(dataCols.stdout, /event_date/, dataCols.stderr);
  assertVerified(ws, 'raw');
  assertVerified(ws, 'processed'); // partition values from the log, checked against the UTC day of ts
  // our reader fills event_date from partitionValues
  const rows = run(['table', 'read', 'processed_events', '-c', ws.config, '--limit', '3', '--columns', 'event_id,ts,event_date']);
  assert.equal(rows.code, 0, rows.stderr);
  for (const line of rows.stdout.trim().split('\n')) {
    const o = JSON.parse(line);
    assert.equal(o.event_date, o.ts.slice(0, 10), line);
  }
  // the partitioning of an existing table cannot change
  fs.appendFileSync(ws.config, '');
  const cfg2 = fs.readFileSync(ws.config, 'utf8').replace('partition_by: [event_date]', 'partition_by: [country]');
  fs.writeFileSync(ws.config, cfg2);
  const r2 = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  // a configuration error, which a service manager must not restart: exit 100, not 1
  assert.equal(r2.code, 100, r2.stderr.slice(-2000));
  assert.match(r2.stderr, /tables\.processed_events\.partition_by is \["country"\] but the table at .* is partitioned by \["event_date"\]/);
  // stopped at once, not restarted: under ASan the committer's leaks on this exit turned exit 100 into
  // LeakSanitizer's 23, a crash, so it was restarted until the crash-loop limit
  assert.match(r2.stderr, /role=committer index=0 pid=\d+ failed on its configuration \(exit 100\); not restarting/);
  assert.doesNotMatch(r2.stderr, /crash-loops/);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('table optimize bin-packs small files (dataChange=false) while the pipeline appends; vacuum then removes the old files; exactly once', async () => {
  const ws = workspace('optimize', { extra: 'source:\n  max_files_per_trigger: 1\ntables:\n  processed_events:\n    partition_by: [event_date]\n' });
  gen(['--out', ws.input, '--files', '10', '--rows', QUICK ? '200' : '600', '--seed', '95', '--ts-step-ms', '60000']);
  let r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const liveFiles = (t) => JSON.parse(run(['table', 'describe', t, '-c', ws.config, '--json']).stdout).numFiles;
  const before = { raw: liveFiles('raw_events'), processed: liveFiles('processed_events') };
  // files keep arriving while optimize runs
  const d = startDaemon(['-c', ws.config]);
  try {
    await waitAllRunning(ws.config);
    gen(['--out', ws.input, '--files', '4', '--rows', '300', '--seed', '96', '--start-id', '9000000', '--prefix', 'late']);
    for (const t of ['raw_events', 'processed_events']) {
      r = run(['table', 'optimize', t, '-c', ws.config]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /optimized .* at version \d+: \d+ files \(\d+ bytes\) into \d+ files/);
    }
    const events = countInput(ws.input).events;
    await until(() => rowsOf(ws.config, 'processed_events') === events, 60000, `${events} rows`);
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0, d.logs().slice(-3000));
  } finally {
    d.child.kill('SIGKILL');
  }
  assert.ok(liveFiles('raw_events') < before.raw + 4, `raw files ${before.raw} -> ${liveFiles('raw_events')}`);
  const histOut = run(['table', 'history', 'raw_events', '-c', ws.config, '--json']).stdout.trim();
  const hist = histOut.startsWith('[') ? JSON.parse(histOut) : histOut.split('\n').map((l) => JSON.parse(l));
  const opt = hist.find((h) => h.operation === 'OPTIMIZE');
  assert.ok(opt, JSON.stringify(hist.slice(0, 3)));
  // the OPTIMIZE commit's actions all have dataChange=false
  const log = path.join(ws.tables, 'raw_events', '_delta_log');
  const v = String(opt.version).padStart(20, '0');
  const acts = fs.readFileSync(path.join(log, `${v}.json`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(acts.some((a) => a.remove) && acts.some((a) => a.add));
  for (const a of acts) if (a.add || a.remove) assert.equal((a.add || a.remove).dataChange, false);
  assertVerified(ws, 'raw');
  assertVerified(ws, 'processed');
  // vacuum with no retention removes the compacted-away files; the table still reads the same
  r = run(['table', 'vacuum', 'raw_events', '-c', ws.config, '--retain', '0', '--force']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /deleted [1-9]\d* files/);
  assertVerified(ws, 'raw');
  fs.rmSync(ws.dir, { recursive: true, force: true });
});
