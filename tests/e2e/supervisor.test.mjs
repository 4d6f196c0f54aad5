// Supervisor behaviour of issue 6 that is not about data faults: SIGHUP
// reload, the running configuration handed to workers, exit codes, state.db
// damage, fsck.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { allRunning, assertVerified, countInput, gen, LAKESUPD, ROOT, rowsOf, run, runningWorker, startDaemon, status, until, waitAllRunning, workspace } from './lib/daemon.mjs';

test('SIGHUP applies live settings to the supervisor and every worker, refuses the rest by name, keeps a bad file out', async () => {
  const ws = workspace('sighup');
  const original = fs.readFileSync(ws.config, 'utf8');
  const d = startDaemon(['-c', ws.config]);
  try {
    await waitAllRunning(ws.config);
    // an edit with a live key (log_level) and a key that needs a restart (tables.compression;
    // workers.* scale the tree live: scale.test.mjs)
    fs.writeFileSync(ws.config, original + 'log_level: debug\nworker_timeout: 20s\ntables:\n  compression: snappy\n');
    d.child.kill('SIGHUP');
    await until(() => /supervisor\[0\] \d+: SIGHUP: reloaded log_level, worker_timeout/.test(d.logs()), 10000, 'the reload');
    assert.match(d.logs(), /SIGHUP: tables\.compression changed in .* but cannot change while the pipeline runs \(restart to apply\): not applied/);
    for (const role of ['ingest', 'transform', 'writer', 'committer', 'monitor'])
      await until(() => new RegExp(`${role}\\[\\d\\] \\d+: SIGHUP: reloaded log_level, worker_timeout`).test(d.logs()), 10000, `${role} reloaded`);
    // debug lines now appear (ingest logs each discovered file at debug)
    gen(['--out', ws.input, '--files', '2', '--rows', '200', '--seed', '401']);
    await until(() => /ingest\[0\] \d+: discovered file=/.test(d.logs()), 10000, 'a debug line');
    // a restarted worker runs with the running configuration, not the edited file: still 2 transforms
    const t = await runningWorker(ws.config, 'transform', 1);
    process.kill(t.pid, 'SIGKILL');
    const after = await until(() => {
      const s = allRunning(ws.config);
      return s && s.workers.find((w) => w.role === 'transform' && w.index === 1).pid !== t.pid && s;
    }, 20000, 'transform 1 restarted');
    assert.equal(after.workers.filter((w) => w.role === 'transform').length, 2);
    // a broken file is refused with file:line and the pipeline keeps going
    fs.writeFileSync(ws.config, original + 'source:\n  max_files_per_trigger: lots\n');
    d.child.kill('SIGHUP');
    await until(() => /SIGHUP: .*lakesup\.yml:\d+: key 'source\.max_files_per_trigger': 'lots' is not an integer; the running configuration is kept/.test(d.logs()),
      10000, 'the refusal');
    fs.writeFileSync(ws.config, original); // (the CLI reads the file too)
    const events = countInput(ws.input).events;
    await until(() => rowsOf(ws.config, 'processed_events') === events, 30000, `${events} rows`);
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0);
    assertVerified(ws, 'processed');
  } finally {
    d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('a corrupt state.db stops start with a clear error; fsck explains; fsck --repair rebuilds it from the tables; nothing doubles', () => {
  const ws = workspace('fsck');
  gen(['--out', ws.input, '--files', '3', '--rows', '700', '--seed', '411', '--prefix', 'a']);
  let r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  r = run(['fsck', '-c', ws.config]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /integrity_check ok/);
  assert.match(r.stdout, /source files: 3 committed, 0 in batches, 0 pending, 0 skipped/);
  assert.match(r.stdout, /^consistent: 0 problem\(s\)$/m);
  // damage state.db: garbage over its header and first pages
  const db = path.join(ws.dir, 'checkpoints', 'state.db');
  for (const sfx of ['-wal', '-shm']) fs.rmSync(db + sfx, { force: true });
  const fd = fs.openSync(db, 'r+');
  fs.writeSync(fd, Buffer.alloc(8192, 0x5a), 0, 8192, 0);
  fs.closeSync(fd);
  r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 1, r.stderr.slice(-2000));
  assert.match(r.stderr, /state\.db .* (is corrupt|not a database).*`lakesupd fsck -c .*` explains what it finds, `lakesupd fsck --repair` rebuilds state\.db from the tables/);
  r = run(['fsck', '-c', ws.config]);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, /PROBLEM .*state\.db.*`lakesupd fsck --repair` rebuilds it from the tables/);
  r = run(['fsck', '-c', ws.config, '--repair']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /REPAIRED .*state\.db rebuilt from the tables: query id [0-9a-f-]+, batches up to \d+ committed, 3 source file\(s\) with rows in raw_events recorded as committed, 0 other/);
  assert.ok(fs.readdirSync(path.join(ws.dir, 'checkpoints')).some((n) => /^state\.db\.corrupt-\d+$/.test(n)));
  // new files arrive; the old ones are not ingested again
  gen(['--out', ws.input, '--files', '2', '--rows', '500', '--seed', '412', '--start-id', '5000000', '--prefix', 'b']);
  r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  assertVerified(ws, 'raw');
  assertVerified(ws, 'processed');
  r = run(['fsck', '-c', ws.config]);
  assert.equal(r.code, 0, r.stdout);
  // (--repair while the pipeline runs: robust.test.mjs)
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('a source_path or warehouse_path that is a file fails start naming the key and the path (exit 100)', () => {
  for (const key of ['source_path', 'warehouse_path']) {
    const ws = workspace(`notdir-${key}`);
    const file = path.join(ws.dir, 'a-file');
    fs.writeFileSync(file, 'x\n');
    const cfg = fs.readFileSync(ws.config, 'utf8').replace(new RegExp(`^${key}: .*$`, 'm'), `${key}: ${file}`);
    fs.writeFileSync(ws.config, cfg);
    const r = run(['start', '-c', ws.config, '--trigger', 'available-now'], { timeoutMs: 60000 });
    assert.equal(r.code, 100, r.stderr.slice(-2000));
    assert.match(r.stdout + r.stderr, new RegExp(`key '${key}': '${file}' exists and is not a directory`));
    assert.equal(fs.readFileSync(file, 'utf8'), 'x\n');
    fs.rmSync(ws.dir, { recursive: true, force: true });
  }
});

// Every key the config parser accepts (as the running configuration written for the workers
// lists them) has a row in the docs with the default the binary really uses: docs/sources.md
// for source.*, README.md's configuration table for the rest.
function docDefaults(file) {
  const rows = new Map();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    // a row may name several keys: | `a`, `b` | default | ... |
    const m = line.match(/^\| ((?:`[a-z_.<>]+`(?:, )?)+) \| ([^|]*) \|/);
    if (!m) continue;
    for (const [, key] of m[1].matchAll(/`([a-z_.<>]+)`/g)) {
      if (!rows.has(key)) rows.set(key, []);
      rows.get(key).push(m[2].trim());
    }
  }
  return rows;
}

const UNITS = { kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, ms: 1, s: 1e3, second: 1e3, seconds: 1e3,
  minute: 6e4, minutes: 6e4, h: 36e5, hour: 36e5, hours: 36e5, d: 864e5, day: 864e5, days: 864e5 };

// The documented default as a comparable value: the first back-quoted token, else the cell.
function docValue(cell) {
  const m = cell.match(/`([^`]*)`/);
  let v = (m ? m[1] : cell).trim();
  if (/^".*"$/.test(v)) v = v.slice(1, -1);
  const n = v.match(/^(\d+)\s*([a-z]*)$/i);
  if (n && (n[2] === '' || UNITS[n[2].toLowerCase()])) return Number(n[1]) * (n[2] ? UNITS[n[2].toLowerCase()] : 1);
  return v;
}

test('every configuration key is documented with the default the binary uses', () => {
  const ws = workspace('doc-defaults');
  fs.writeFileSync(ws.config, `source_path: ${ws.input}\ncheckpoint_path: ${ws.dir}/checkpoints\n` +
    `warehouse_path: ${ws.dir}/lakehouse\n`);
  const r = run(['start', '-c', ws.config, '--trigger', 'available-now'], { timeoutMs: 60000 });
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  // the running configuration: every key, at its default but for the three paths
  const running = new Map();
  const stack = [];
  for (const line of fs.readFileSync(path.join(ws.dir, 'checkpoints', 'run', 'config.yml'), 'utf8').split('\n')) {
    const m = line.match(/^( *)([a-z_]+):\s*(.*)$/);
    if (!m) continue;
    const depth = m[1].length / 2;
    stack.length = depth;
    stack.push(m[2]);
    if (m[3] !== '') running.set(stack.join('.'), m[3]);
  }
  assert.ok(running.size > 50, `running configuration parsed: ${[...running.keys()]}`);
  const sources = docDefaults(path.join(ROOT, 'docs', 'sources.md'));
  const readme = docDefaults(path.join(ROOT, 'README.md'));
  const problems = [];
  for (const [key, raw] of running) {
    if (['source_path', 'checkpoint_path', 'warehouse_path', 'trigger'].includes(key)) continue; // set here
    if (key.startsWith('_origin.')) continue; // the copy's record of the user's file and lines, no key of it
    const docs = key.startsWith('source.') ? sources : readme;
    const name = key.startsWith('source.') ? key.slice(7) : key;
    let cells = name === 'kafka' ? docs.get('kafka.<property>') : docs.get(name);
    // README's table lists source keys by their short names too (`schema` under source.*):
    // a top-level key is its first row
    if (cells && docs === readme) cells = cells.slice(0, 1);
    if (!cells) { problems.push(`${key}: not documented`); continue; }
    if (name === 'kafka' || name === 'bootstrap_servers') continue; // {} / (required)
    let want = raw.replace(/^"(.*)"$/, '$1').replace(/\\(.)/g, '$1');
    const dur = want.match(/^(\d+) ms$/);
    if (dur) want = Number(dur[1]);
    else if (/^\d+$/.test(want)) want = Number(want);
    for (const cell of cells) {
      let got = docValue(cell);
      if (typeof want === 'number' && typeof got === 'string') {
        // "1 minute", "30 days", "100ms", none
        const d = got.match(/^(\d+)\s*([a-z]+)$/i);
        if (d && UNITS[d[2].toLowerCase()]) got = Number(d[1]) * UNITS[d[2].toLowerCase()];
        else if (/^\d+(s|m|h|d)$/.test(got)) got = Number(got.slice(0, -1)) * UNITS[got.slice(-1)];
      }
      if (want === '' && /^(none|\(none\))/.test(got)) got = '';
      if (want === '[]' && /^none$/.test(got)) got = '[]';
      if (key === 'source.use_notifications' && cell.includes('on Linux')) got = 'true';
      if (got !== want) problems.push(`${key}: documented default ${JSON.stringify(cell)}, the binary uses ${raw}`);
    }
  }
  assert.deepEqual(problems, []);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('stop --timeout that is not whole seconds is a usage error (exit 2) that leaves the pipeline running', async () => {
  const ws = workspace('stop-timeout');
  const d = startDaemon(['-c', ws.config]);
  try {
    await waitAllRunning(ws.config, 30000);
    for (const bad of ['abc', '-5', '0', '10x', '99999999']) {
      const r = run(['stop', '-c', ws.config, '--timeout', bad], { timeoutMs: 30000 });
      assert.equal(r.code, 2, `--timeout ${bad}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`--timeout '${bad}': expected whole seconds`));
      assert.ok(status(ws.config), `--timeout ${bad} stopped the pipeline`);
    }
    const r = run(['stop', '-c', ws.config, '--timeout', '60'], { timeoutMs: 90000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /stopped/);
    assert.equal((await d.exited).code, 0);
  } finally {
    d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

// Ingest starts ahead of the other workers and holds (docs/decisions.md, "Ingest lists and infers
// while the other workers start"): with a committer slow to start, an available-now run over an
// empty folder still waits for every worker (exit 0, not an end during the start), a file written
// during the start costs no CPU while it waits, and a stop during the start exits 0 at once; the
// next start takes the file once.
test('ingest holds while the other workers start: available-now over nothing, a stop during the start, a file found meanwhile', async () => {
  const ws = workspace('hold', { transform: 1, writer: 1 });
  const slow = { LAKESUP_FAULT: 'committer.start=sleep2500' };
  const r = run(['start', '-c', ws.config, '--trigger', 'available-now'], { env: slow });
  assert.equal(r.code, 0, r.stderr);
  const ready = r.stderr.indexOf('all 5 workers ready'), done = r.stderr.indexOf('available-now backlog done');
  assert.ok(ready > 0 && done > ready, `every worker ready before the end:\n${r.stderr.slice(-3000)}`);
  const d = startDaemon(['-c', ws.config], slow);
  try {
    await until(() => /ingest\[0\] \d+: first listing done/.test(d.logs()), 10000, 'ingest up, holding');
    gen(['--out', ws.input, '--files', '1', '--rows', '200', '--seed', '361']);
    await new Promise((res) => setTimeout(res, 400));
    const ingestPid = Number(d.logs().match(/started worker role=ingest index=0 pid=(\d+)/)[1]);
    const ticks = () => { const f = fs.readFileSync(`/proc/${ingestPid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
    const t0 = ticks();
    await new Promise((res) => setTimeout(res, 500));
    assert.ok(ticks() - t0 < 10, `ingest waits without spinning (${ticks() - t0} ticks in 0.5 s)`);
    assert.doesNotMatch(d.logs(), /all 5 workers ready/, 'still starting');
    const t = Date.now();
    assert.equal(run(['stop', '-c', ws.config]).code, 0);
    assert.equal((await d.exited).code, 0, d.logs().slice(-3000));
    assert.ok(Date.now() - t < 4000, `stopped in ${Date.now() - t} ms`);
    assert.match(d.logs(), /ingest\[0\] \d+: stopped during the start: nothing was planned/);
  } finally {
    d.child.kill('SIGKILL');
  }
  assert.equal(run(['start', '-c', ws.config, '--trigger', 'available-now']).code, 0);
  assert.equal(rowsOf(ws.config, 'processed_events'), -1); // the daemon is gone: status has no tables
  assertVerified(ws, 'raw');
  assertVerified(ws, 'processed');
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('a worker restarted after the program file was replaced (an upgrade in place) runs the supervisor\'s own program', async () => {
  const ws = workspace('replaced');
  const bin = path.join(ws.dir, 'lakesupd-copy');
  fs.copyFileSync(LAKESUPD, bin);
  fs.chmodSync(bin, 0o755);
  const d = startDaemon(['-c', ws.config], {}, bin);
  try {
    await waitAllRunning(ws.config);
    // the file is replaced (a new inode at the same path, as dpkg does) by a program that fails
    fs.writeFileSync(`${bin}.new`, '#!/bin/sh\nexit 3\n', { mode: 0o755 });
    fs.renameSync(`${bin}.new`, bin);
    const t = await runningWorker(ws.config, 'transform', 0);
    process.kill(t.pid, 'SIGKILL');
    await until(() => {
      const s = allRunning(ws.config);
      return s && s.workers.find((w) => w.role === 'transform' && w.index === 0).pid !== t.pid;
    }, 20000, 'transform 0 restarted, running');
    gen(['--out', ws.input, '--files', '2', '--rows', '300', '--seed', '402']);
    const events = countInput(ws.input).events;
    await until(() => rowsOf(ws.config, 'processed_events') === events, 30000, `${events} rows`);
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0, d.logs().slice(-3000));
    assertVerified(ws, 'processed');
  } finally {
    d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

