// Remote transforms (issue 15, "Remote workers"): a pipeline with workers.remote and one local
// transform; `lakesupd worker-host` on another host (a network namespace made by the test, or this
// host's loopback where namespaces cannot be made) joins over TCP with CURVE and its transforms take
// chunks; a worker host with a key the pipeline does not know is refused (both sides log it, exit
// 100); the worker host killed with -9 in the middle of the stream loses and doubles nothing (its
// chunks are replayed), and so does the gateway (the pipeline host's `remote` worker) killed with -9:
// the host joins its successor; every event lands exactly once (the DuckDB verifier).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { assertVerified, countInput, gen, LAKESUPD, rowsOf, run, startDaemon, status, until, waitAllRunning, workspace } from './lib/daemon.mjs';
import { hosts, netnsUnavailable } from './lib/netns.mjs';

// LK_E2E_NO_NETNS=1 runs the loopback variant where namespaces could be made
const noNetns = process.env.LK_E2E_NO_NETNS ? 'LK_E2E_NO_NETNS is set' : netnsUnavailable();
const PORT = 17000 + (process.pid % 2000);

/** The gateway's part of `status`: {hosts, transforms, chunks, list}. */
function remoteOf(config) {
  const s = status(config);
  const w = s && s.workers.find((x) => x.role === 'remote');
  if (!w) return null;
  const p = w.progress || {};
  return { hosts: p.remote_hosts || 0, transforms: p.remote_transforms || 0, chunks: p.chunks || 0, list: p.hosts || '' };
}

/** `lakesupd worker-host ...` on host h (a namespace) or here (h null): {child, logs(), exited}. */
function workerHost(h, args, env = {}) {
  const argv = ['worker-host', ...args];
  const opts = { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } };
  const child = h ? h.exec(LAKESUPD, argv, opts) : spawn(LAKESUPD, argv, opts);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, logs: () => out, exited };
}

/** Where a process that should have exited waits: each thread's name, kernel wait and system call. */
function waitsOf(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).map((t) => {
      const f = (n) => { try { return fs.readFileSync(`/proc/${pid}/task/${t}/${n}`, 'utf8').trim(); } catch { return '?'; } };
      return `  thread ${t} ${f('comm')}: waits in ${f('wchan')}, system call ${f('syscall').split(' ')[0]}`;
    }).join('\n');
  } catch (e) { return `  (pid ${pid}: ${e.code})`; }
}

test('keygen: a key pair (secret 0600), never overwritten; worker-host refuses a missing key', () => {
  const ws = workspace('keygen', { transform: 1, writer: 1 });
  const prefix = path.join(ws.dir, 'k.key');
  const r = run(['keygen', '--out', prefix]);
  assert.equal(r.code, 0, r.stderr);
  const pub = r.stdout.match(/public key: (\S{40})/);
  assert.ok(pub, r.stdout);
  assert.match(fs.readFileSync(prefix, 'utf8'), new RegExp(`public-key = "${pub[1].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`));
  assert.equal(fs.statSync(`${prefix}_secret`).mode & 0o777, 0o600);
  assert.doesNotMatch(fs.readFileSync(prefix, 'utf8'), /secret-key/);
  const again = run(['keygen', '--out', prefix]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already there/);
  const missing = run(['worker-host', '--connect', 'tcp://127.0.0.1:1', '--key', path.join(ws.dir, 'nope.key'),
    '--server-key', prefix, 'transform=1']);
  assert.equal(missing.code, 100, missing.stderr + missing.stdout);
  assert.match(missing.stderr + missing.stdout, /no secret key/);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('remote transforms over CURVE: a valid key joins and does work, an unknown key is refused, the worker host and then the gateway killed mid-stream lose and double nothing', async () => {
  const net = noNetns ? null : hosts();
  const ws0 = { dir: null };
  let d = null;
  const whs = [];
  try {
    const h = net ? net.add(1) : null;
    // the pipeline host binds its side of the link (or loopback); the worker host connects to it
    const addr = h ? h.gw : '127.0.0.1';
    const ws = workspace('remote', {
      transform: 1, writer: 1,
      extra: `  remote: {bind: "tcp://${addr}:${PORT}", allowed_keys: ALLOWED}\nsource: {chunk_bytes: 65536}\n`,
    });
    ws0.dir = ws.dir;
    const allowed = path.join(ws.dir, 'allowed');
    fs.mkdirSync(allowed);
    fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace('ALLOWED', allowed));
    const good = path.join(ws.dir, 'good.key'), bad = path.join(ws.dir, 'bad.key');
    for (const k of [good, bad]) assert.equal(run(['keygen', '--out', k]).code, 0);
    fs.copyFileSync(good, path.join(allowed, 'good.key'));
    const badPub = run(['keygen', '--out', path.join(ws.dir, 'x.key')]).stdout; // (a third, unused)
    assert.ok(badPub);
    const badKey = fs.readFileSync(bad, 'utf8').match(/public-key = "(.{40})"/)[1];

    // the local transform a little slower per chunk (the worker host's are not: the fault is the
    // daemon's environment), so that the remote ones surely take a good share of the first wave and
    // keep taking chunks in the second (the kill below needs chunks in flight on the host). Without
    // it they take chunks too: the "took no chunk" of an earlier CI run was this test reading the
    // gateway's count before its progress report had reached state.db
    d = startDaemon(['-c', ws.config], { LAKESUP_FAULT: 'transform.chunk=sleep20' });
    await waitAllRunning(ws.config);
    const serverKey = path.join(ws.dir, 'checkpoints', 'remote', 'server.key');
    await until(() => /remote transforms join at tcp:/.test(d.logs()), 20000, 'the gateway listens');
    assert.ok(fs.existsSync(serverKey) && fs.existsSync(`${serverKey}_secret`), 'the server key is made once');

    // an unknown key: refused at the handshake, logged on both sides, exit 100. The worker host
    // first ignores the refusal's event (worker_host.auth_event), as if libzmq had not sent it (a
    // CI run once went so, and the host waited for ever on a connection libzmq had ended): it must
    // see the connection gone, open it again and be refused again, this time with the event
    const intruder = workerHost(h, ['--connect', `tcp://${addr}:${PORT}`, '--key', bad, '--server-key', serverKey,
      '--dir', path.join(ws.dir, 'intruder'), 'transform=2'], { LAKESUP_FAULT: 'worker_host.auth_event=EIO@1' });
    whs.push(intruder);
    let timer;
    const ex = await Promise.race([intruder.exited, new Promise((r) => { timer = setTimeout(() => r(null), 60000); })]);
    clearTimeout(timer);
    assert.ok(ex, `the refused worker host still runs:\n${intruder.logs()}\n${waitsOf(intruder.child.pid)}\n` +
      `pipeline host:\n${d.logs().slice(-3000)}`);
    assert.equal(ex.code, 100, intruder.logs());
    assert.match(intruder.logs(), /refused our key/);
    const at = (re) => intruder.logs().search(re);
    assert.ok(at(/point=worker_host\.auth_event/) >= 0 && at(/point=worker_host\.auth_event/) < at(/takes no message.*opening it again/) &&
      at(/takes no message.*opening it again/) < at(/refused our key/), `the lost event, the connection opened again, the refusal:\n${intruder.logs()}`);
    await until(() => d.logs().includes(`refused a worker host: key ${badKey} from ${h ? h.ip : '127.0.0.1'}`), 20000,
      `the pipeline host logs the refused key and its address:\n${d.logs().slice(-2000)}`);
    assert.equal(remoteOf(ws.config).hosts, 0);

    // the same key again, from a worker host with no --dir: the refusal is not logged twice within
    // a minute (a refused peer reconnects for ever), and this host removes the work directory of a
    // worker host that is gone (killed with -9: its $TMPDIR/lakesupd-wh-* holds its dead pid), not one
    // whose owner lives (a TMPDIR of the test's own: a worker host of another test run sweeps /tmp)
    const dead = spawn('true');
    await new Promise((r) => dead.on('close', r));
    const tmp = path.join(ws.dir, 'tmp');
    fs.mkdirSync(tmp);
    const stale = fs.mkdtempSync(path.join(tmp, 'lakesupd-wh-')), live = fs.mkdtempSync(path.join(tmp, 'lakesupd-wh-'));
    fs.writeFileSync(path.join(stale, 'owner.pid'), `${dead.pid}\n`);
    fs.mkdirSync(path.join(stale, 'run'));
    fs.writeFileSync(path.join(live, 'owner.pid'), `${process.pid}\n`);
    try {
      const again = workerHost(h, ['--connect', `tcp://${addr}:${PORT}`, '--key', bad, '--server-key', serverKey,
        'transform=1'], { TMPDIR: tmp });
      whs.push(again);
      const ex2 = await Promise.race([again.exited, new Promise((r) => { timer = setTimeout(() => r(null), 60000); })]);
      clearTimeout(timer);
      assert.ok(ex2 && ex2.code === 100, `the second refused worker host: ${JSON.stringify(ex2)}\n${again.logs()}\n${waitsOf(again.child.pid)}`);
      assert.ok(!fs.existsSync(stale), `the dead worker host's directory is removed:\n${again.logs()}`);
      assert.match(again.logs(), new RegExp(`removed the work directory ${stale} of a worker host that is gone`));
      assert.ok(fs.existsSync(live), 'a live owner keeps its directory');
      assert.deepEqual(fs.readdirSync(tmp).sort(), [path.basename(live)], 'the refused host removed its own');
      const refusals = d.logs().split('\n').filter((l) => l.includes(`refused a worker host: key ${badKey}`));
      assert.equal(refusals.length, 1, `one refusal line within a minute:\n${refusals.join('\n')}`);
      // the first refusal of a key says nothing of unlogged ones (it once ended in a stray "0")
      assert.ok(refusals[0].endsWith(`is not in workers.remote.allowed_keys (${allowed})`), refusals[0]);
    } finally {
      fs.rmSync(stale, { recursive: true, force: true });
      fs.rmSync(live, { recursive: true, force: true });
    }

    // a valid key: two transforms join (indexes 64, 65) and take chunks
    // its work directory inside the test's: a worker host killed with -9 cannot remove its own
    const wh = workerHost(h, ['--connect', `tcp://${addr}:${PORT}`, '--key', good, '--server-key', serverKey,
      '--dir', path.join(ws.dir, 'wh'), 'transform=2']);
    whs.push(wh);
    await until(() => /joined the pipeline/.test(wh.logs()), 30000, `the worker host joins:\n${wh.logs()}`);
    assert.match(wh.logs(), /connected to the pipeline host at tcp:\S+ \(its key accepted ours\)/);
    assert.doesNotMatch(intruder.logs(), /connected to the pipeline host/);
    await until(() => { const r = remoteOf(ws.config); return r && r.transforms === 2; }, 30000, 'status: 2 remote transforms');
    const st = status(ws.config);
    assert.equal(st.workers.filter((w) => w.role === 'transform').length, 1, 'remote transforms are not local workers');
    gen(['--out', ws.input, '--files', '12', '--rows', '4000', '--seed', '1501']);
    let events = countInput(ws.input).events;
    await until(() => rowsOf(ws.config, 'raw_events') === events, 60000, `${events} rows`);
    // the gateway's progress reaches state.db on its next report (about a second), not with the commit
    let part1 = null;
    await until(() => { part1 = remoteOf(ws.config); return part1.chunks > 0; }, 10000,
      () => `the remote transforms took no chunk: ${JSON.stringify(part1)}`);
    assert.match(part1.list, h ? new RegExp(`@${h.ip.replace(/\./g, '\\.')} transforms=2`) : /transforms=2/);
    assert.match(wh.logs(), /transform index=64 pid=\d+: ready/);
    // `status` names them apart from the local workers
    assert.match(run(['status', '-c', ws.config]).stdout, /remote +2 transform\(s\) on 1 host\(s\): .* transforms=2 chunks=\d+ \(not counted above\)/);

    // the worker host dies with -9 in the middle of the stream: its chunks are replayed
    gen(['--out', ws.input, '--files', '30', '--rows', '6000', '--seed', '1502', '--start-id', '1000000', '--prefix', 'late']);
    await until(() => remoteOf(ws.config).chunks > part1.chunks + 5, 30000, 'the remote transforms take chunks of the second part');
    wh.child.kill('SIGKILL');
    await wh.exited;
    events = countInput(ws.input).events;
    await until(() => /worker host .* leaves: .*replaying/.test(d.logs()), 30000, 'the gateway drops the host');
    // at once, not at a batch's 5-minute deadline: the gateway asks ingest to replay
    await until(() => /ingest\[0\] \d+: replay requested reason=remote/.test(d.logs()), 10000, 'a replay for the lost host');
    await until(() => rowsOf(ws.config, 'raw_events') === events && rowsOf(ws.config, 'processed_events') === events, 120000,
      `${events} rows after the worker host died`);

    // a worker host again; then the gateway (the pipeline host's `remote` worker) killed with -9
    // mid-stream: the supervisor restarts it, ingest replays, the host joins the new gateway
    const wh2 = workerHost(h, ['--connect', `tcp://${addr}:${PORT}`, '--key', good, '--server-key', serverKey,
      '--dir', path.join(ws.dir, 'wh2'), 'transform=2']);
    whs.push(wh2);
    await until(() => { const r = remoteOf(ws.config); return r && r.transforms === 2; }, 30000, 'the worker host joins again');
    gen(['--out', ws.input, '--files', '30', '--rows', '6000', '--seed', '1503', '--start-id', '2000000', '--prefix', 'third']);
    await until(() => remoteOf(ws.config).chunks > 3, 30000, 'the new remote transforms take chunks');
    const gw = status(ws.config).workers.find((w) => w.role === 'remote');
    process.kill(gw.pid, 'SIGKILL');
    await until(() => { const s = status(ws.config); const w = s && s.workers.find((x) => x.role === 'remote');
      return w && w.pid !== gw.pid && w.state === 'running' && (w.progress || {}).remote_transforms === 2; }, 60000,
    `a new gateway with the worker host joined again:\n${wh2.logs().slice(-2000)}`);
    events = countInput(ws.input).events;
    await until(() => rowsOf(ws.config, 'raw_events') === events && rowsOf(ws.config, 'processed_events') === events, 120000,
      `${events} rows after the gateway died`);
    assert.equal(wh2.child.exitCode, null, 'the worker host outlives the gateway');
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0, d.logs().slice(-3000));
    assertVerified(ws, 'raw', { more: () => d.logs().slice(-3000) });
    assertVerified(ws, 'processed', { more: () => d.logs().slice(-3000) });
  } finally {
    for (const x of whs) x.child.kill('SIGKILL');
    if (d) d.child.kill('SIGKILL');
    if (net) net.remove();
  }
  if (ws0.dir) fs.rmSync(ws0.dir, { recursive: true, force: true });
});

test('a worker host started before its pipeline host joins once when the pipeline comes up, however long it waited', async () => {
  // Each HELLO the worker host said while the pipeline host was away used to wait in the queue of
  // its connection (one per 10 s); when the pipeline came up, each reached the gateway as a new
  // session ending the one before: a join and a leave per 10 s of absence, each leave a replay
  const ws = workspace('remote_first', {
    transform: 1, writer: 1, extra: `  remote: {bind: "tcp://127.0.0.1:${PORT + 1}", allowed_keys: ALLOWED}\n`,
  });
  const allowed = path.join(ws.dir, 'allowed');
  fs.mkdirSync(allowed);
  fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace('ALLOWED', allowed));
  const key = path.join(ws.dir, 'wh.key');
  assert.equal(run(['keygen', '--out', key]).code, 0);
  fs.copyFileSync(key, path.join(allowed, 'wh.key'));
  let d = null, wh = null;
  try {
    // a first start makes the pipeline host's key pair, which the worker host pins
    d = startDaemon(['-c', ws.config]);
    await until(() => /remote transforms join at tcp:/.test(d.logs()), 20000, 'the gateway listens');
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0, d.logs().slice(-3000));
    wh = workerHost(null, ['--connect', `tcp://127.0.0.1:${PORT + 1}`, '--key', key, '--server-key',
      path.join(ws.dir, 'checkpoints', 'remote', 'server.key'), '--dir', path.join(ws.dir, 'wh'), 'transform=1']);
    await until(() => (wh.logs().match(/cannot reach the pipeline host/g) || []).length >= 2, 30000,
      `the worker host waits through a second HELLO:\n${wh.logs()}`);
    await new Promise((r) => setTimeout(r, 1500)); // (the second HELLO is due 10 s after the first)
    d = startDaemon(['-c', ws.config]);
    await until(() => /joined the pipeline/.test(wh.logs()), 30000, `the worker host joins:\n${wh.logs()}\n${d.logs().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 2000));
    const joins = d.logs().split('\n').filter((l) => / joins from /.test(l));
    assert.equal(joins.length, 1, `one join:\n${d.logs().slice(-3000)}`);
    assert.doesNotMatch(d.logs(), /said hello again/);
    assert.equal(wh.child.exitCode, null, wh.logs());
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0, d.logs().slice(-3000));
  } finally {
    if (wh) wh.child.kill('SIGKILL');
    if (d) d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});
