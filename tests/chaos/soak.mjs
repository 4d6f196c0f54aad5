// The soak (issue 17; not in CI): tests/chaos/soak --rounds N --minutes M [--seed S]
//   [--kafka-every K] [--out FILE] [--no-faketime] [--keep]
//
// N rounds; each runs the real daemon (continuous trigger) for M minutes of chaos while input
// flows — files renamed into source_path, or, every K-th round (default 3), messages produced to
// a Kafka topic on librdkafka's mock cluster (build/lk_kafka_mock) — and meanwhile, at seeded
// random instants:
//   - SIGKILL of any worker, and of the supervisor (started again as systemd would);
//   - SIGSTOP of any process, supervisor included, for 0.3-8 s (beyond worker_timeout, 4 s
//     here, the supervisor kills the silent worker), then SIGCONT;
//   - a full disk: fault points gated by files (LAKESUP_FAULT="...@while:GATE", lk_fault.h)
//     fail Delta commits (fs.write, fs.fsync), data files (parquet.write) and state.db
//     transactions (state.commit) with ENOSPC or EIO for 0.5-3 s; short writes likewise;
//   - the clock jumping an hour forward or back and back again (libfaketime from Debian's
//     faketime, FAKETIME_TIMESTAMP_FILE: every process of the pipeline sees the jump);
//   - the Kafka broker going down and up (Kafka rounds).
// Then the faults are lifted, the daemon is stopped, what is left is drained with
// --trigger available-now, and every row is checked: raw_events and processed_events hold each
// event exactly once (by event_id for files, by (partition, offset) for Kafka), raw_events holds
// every corrupt line, no commit's timestamp is older than the commit before it, and every commit
// is valid UTF-8 JSON. The figures (rounds, kills and stops by role, faults injected, rows in,
// lost and duplicated, the longest recovery) are printed and written to --out as JSON; a failed
// round keeps its directory and names its seed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { alive, children, gen, LAKESUPD, run, sleep, startDaemon, status, until, workspace } from '../e2e/lib/daemon.mjs';
import { queryTable, replay } from '../e2e/lib/delta.mjs';
import { prng } from '../e2e/lib/prng.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const ROUNDS = Number(opt('rounds', 3));
const MINUTES = Number(opt('minutes', 1));
const SEED0 = Number(opt('seed', Date.now() % 1000000));
const KAFKA_EVERY = Number(opt('kafka-every', 3));
const OUT = opt('out', '');
const KEEP = args.includes('--keep');
const FAKETIME_LIB = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1',
  '/usr/lib/faketime/libfaketimeMT.so.1'].find((p) => fs.existsSync(p));
const FAKETIME = !args.includes('--no-faketime') && FAKETIME_LIB;
const MOCK = process.env.LK_KAFKA_MOCK_BIN || path.join(path.dirname(LAKESUPD), 'lk_kafka_mock');
if (!FAKETIME && !args.includes('--no-faketime')) {
  console.error('soak: libfaketime not found: apt-get install faketime (deploy/install-deps.sh --test), or --no-faketime');
  process.exit(2);
}

const totals = {
  rounds: 0, failed_rounds: [], files_rounds: 0, kafka_rounds: 0, rows_in: 0, corrupt_lines_in: 0,
  rows_lost: 0, rows_duplicated: 0, kills: {}, stops: {}, supervisor_restarts: 0,
  faults: { disk_full_episodes: 0, eio_episodes: 0, state_full_episodes: 0, short_write_episodes: 0,
    broker_outages: 0, clock_jumps: 0, injected_by_point: {} },
  stalled_workers_killed_by_supervisor: 0, crash_loop_escalations: 0,
  longest_recovery_ms: 0, longest_recovery_what: '', commit_timestamps_back: 0, seconds: 0,
};
const bump = (o, k, n = 1) => (o[k] = (o[k] || 0) + n);

function startMock(argv) {
  const child = spawn(MOCK, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return {
    child, out: () => out,
    produced: () => {
      const m = [...out.matchAll(/PRODUCED (\d+) FAILED (\d+)/g)].pop();
      return m ? { total: Number(m[1]), failed: Number(m[2]) } : { total: 0, failed: 0 };
    },
    bootstrap: () => (out.match(/BOOTSTRAP (\S+)/) || [])[1],
    send: (cmd) => child.stdin.write(cmd + '\n'),
  };
}

/** Every commit's (version, commitInfo.timestamp) of a table; asserts each is valid UTF-8 JSON. */
function commitTimestamps(table) {
  const dec = new TextDecoder('utf-8', { fatal: true });
  const log = path.join(table, '_delta_log');
  return fs.readdirSync(log).filter((n) => /^\d{20}\.json$/.test(n)).sort().map((n) => {
    const text = dec.decode(fs.readFileSync(path.join(log, n)));
    const info = text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((a) => a.commitInfo);
    return { v: Number(n.slice(0, 20)), ts: info ? info.commitInfo.timestamp : null };
  });
}

async function round(r) {
  const seed = SEED0 + r;
  const rand = prng(seed);
  const pick = (a) => a[Math.floor(rand() * a.length)];
  const kafka = KAFKA_EVERY > 0 && r % KAFKA_EVERY === KAFKA_EVERY - 1;
  const t0 = Date.now();
  const ws = workspace(`soak${r}`, {
    extra: (kafka ? '' : 'source:\n  chunk_bytes: 65536\n  max_files_per_trigger: 2\n') +
      'worker_timeout: 4s\nstop_timeout: 20s\n',
  });
  const gates = path.join(ws.dir, 'gates');
  fs.mkdirSync(gates);
  const gate = (g) => path.join(gates, g);
  const clock = gate('clock');
  fs.writeFileSync(clock, '+0\n');
  const env = {
    LAKESUP_FAULT: [`fs.write=ENOSPC@while:${gate('full')}`, `parquet.write=ENOSPC@while:${gate('full')}`,
      `fs.fsync=EIO@while:${gate('eio')}`, `state.commit=ENOSPC@while:${gate('statefull')}`,
      `fs.write=short@while:${gate('short')}`, `parquet.write=short@while:${gate('short')}`].join(','),
    // not in Kafka rounds: libfaketime shifts CLOCK_REALTIME but not the absolute deadlines
    // librdkafka gives pthread_cond_timedwait, so an hour back makes every wait of the client
    // time out at once (its threads "do not start", metadata "times out") — an artefact of
    // the preload that a real clock step does not cause (both sides see the same clock)
    ...(FAKETIME && !kafka ? { LD_PRELOAD: FAKETIME_LIB, FAKETIME_TIMESTAMP_FILE: clock, FAKETIME_NO_CACHE: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1' } : {}),
  };
  let mock = null, report = null, pending = [], staging = null, expectedFiles = null;
  if (kafka) {
    report = path.join(ws.dir, 'delivered.jsonl');
    mock = startMock(['--topic', 'events', '--partitions', '3', '--messages', '200', '--corrupt-every', '97',
      '--report', report]);
    await until(() => mock.produced().total === 200, 30000, 'the mock produced 200')
      .catch((e) => { mock.child.kill('SIGKILL'); throw e; });
    fs.appendFileSync(ws.config, `source:\n  format: kafka\n  bootstrap_servers: "${mock.bootstrap()}"\n` +
      '  subscribe: [events]\n  max_offsets_per_trigger: 2000\n  chunk_bytes: 65536\n');
  } else {
    staging = path.join(ws.dir, 'staging');
    gen(['--out', staging, '--files', '40', '--rows', '600', '--seed', String(seed), '--corrupt-every', '997']);
    pending = fs.readdirSync(staging).sort();
  }
  const note = (s) => console.log(`soak round ${r} (seed ${seed}${kafka ? ', kafka' : ''}) ${((Date.now() - t0) / 1000).toFixed(1)}s: ${s}`);
  note(kafka ? 'Kafka source, 3 partitions' : `${pending.length} files to arrive`);

  let d = startDaemon(['-c', ws.config], env);
  const daemons = [d];
  const stopped = new Map(); // pid -> timer
  const perChild = new Map();
  let supKills = 0, produced = 200;
  const recovered = async (what, since) => {
    const s = await until(async () => {
      await restartIfGone(); // a supervisor that gave up is started again, as systemd would
      const st = status(ws.config);
      return st && st.workers.every((w) => w.state === 'running' && w.pid > 0) && st;
    }, 60000, `all workers running again after ${what} (round ${r}, seed ${seed})`);
    const ms = Date.now() - since;
    if (ms > totals.longest_recovery_ms) {
      totals.longest_recovery_ms = ms;
      totals.longest_recovery_what = `${what} (round ${r}, seed ${seed})`;
    }
    return s;
  };
  const restartIfGone = async () => {
    if (d.child.exitCode === null && d.child.signalCode === null) return;
    const ex = await d.exited;
    if (/crash-loops/.test(d.logs())) totals.crash_loop_escalations++;
    const why = d.logs().split('\n').filter((l) => / ERROR /.test(l)).slice(-3).join(' | ');
    fs.writeFileSync(path.join(ws.dir, `supervisor-exit-${daemons.length}.log`), d.logs());
    note(`the supervisor exited (${JSON.stringify(ex)}): started again, as systemd would; last errors: ${why.slice(0, 600)}`);
    d = startDaemon(['-c', ws.config], env);
    daemons.push(d);
    totals.supervisor_restarts++;
  };
  try {
    await recovered('start', Date.now());
    const deadline = Date.now() + MINUTES * 60000;
    while (Date.now() < deadline) {
      await sleep(200 + Math.floor(rand() * 1000));
      await restartIfGone();
      const x = rand();
      const input = () => {
        if (kafka) {
          const n = 100 + Math.floor(rand() * 400);
          mock.send(`produce ${n}`);
          produced += n;
        } else {
          for (let i = 0, n = 1 + Math.floor(rand() * 2); i < n && pending.length; i++) {
            const f = pending.shift();
            fs.renameSync(path.join(staging, f), path.join(ws.input, f));
          }
        }
      };
      if (x < 0.25) {
        input();
      } else if (x < 0.45) { // SIGKILL a worker
        const s = status(ws.config);
        const victims = s ? s.workers.filter((w) => w.pid > 0 && w.state === 'running' && !stopped.has(w.pid) &&
                                                    (perChild.get(`${w.role}${w.index}`) || 0) < 3) : [];
        if (!victims.length) continue;
        const v = pick(victims);
        perChild.set(`${v.role}${v.index}`, (perChild.get(`${v.role}${v.index}`) || 0) + 1);
        try {
          process.kill(v.pid, 'SIGKILL');
        } catch {
          continue;
        }
        bump(totals.kills, v.role);
        await recovered(`SIGKILL ${v.role}[${v.index}]`, Date.now());
      } else if (x < 0.52 && supKills < 2 && stopped.size === 0) { // SIGKILL the supervisor
        const kids = children(d.child.pid).map((c) => c.pid);
        const since = Date.now();
        d.child.kill('SIGKILL');
        await d.exited;
        supKills++;
        bump(totals.kills, 'supervisor');
        await until(() => kids.every((pid) => !alive(pid)), 10000, 'the workers to die with the supervisor');
        d = startDaemon(['-c', ws.config], env);
        daemons.push(d);
        await recovered('SIGKILL supervisor', since);
      } else if (x < 0.64) { // SIGSTOP a process (the supervisor too) for a while
        const s = status(ws.config);
        const procs = s ? s.workers.filter((w) => w.pid > 0 && !stopped.has(w.pid)).map((w) => ({ pid: w.pid, role: w.role }))
          : [];
        procs.push({ pid: d.child.pid, role: 'supervisor' });
        const v = pick(procs);
        const ms = 300 + Math.floor(rand() * 7700);
        try {
          process.kill(v.pid, 'SIGSTOP');
        } catch {
          continue;
        }
        bump(totals.stops, v.role);
        stopped.set(v.pid, setTimeout(() => {
          stopped.delete(v.pid);
          try { process.kill(v.pid, 'SIGCONT'); } catch { /* killed meanwhile */ }
        }, ms));
      } else if (x < 0.80) { // a full disk (or failing fsync, or state.db's disk) for a while
        const kind = pick(['full', 'full', 'eio', 'statefull']);
        totals.faults[{ full: 'disk_full_episodes', eio: 'eio_episodes', statefull: 'state_full_episodes' }[kind]]++;
        fs.writeFileSync(gate(kind), '');
        input(); // input arrives while the disk is full: the fault is met, not waited out
        await sleep(500 + Math.floor(rand() * 2500));
        fs.rmSync(gate(kind), { force: true });
      } else if (x < 0.90) { // short writes for a while
        totals.faults.short_write_episodes++;
        fs.writeFileSync(gate('short'), '');
        input();
        await sleep(300 + Math.floor(rand() * 1500));
        fs.rmSync(gate('short'), { force: true });
      } else if (x < 0.96 && FAKETIME && !kafka) { // the clock jumps an hour, and back later
        const cur = fs.readFileSync(clock, 'utf8').trim();
        const next = cur !== '+0' ? '+0' : pick(['+1h', '-1h']);
        fs.writeFileSync(clock, `${next}\n`);
        totals.faults.clock_jumps++;
      } else if (kafka) { // the broker goes away and comes back
        totals.faults.broker_outages++;
        mock.send('down');
        await sleep(500 + Math.floor(rand() * 3000));
        mock.send('up');
      }
    }
    // faults off, everything resumed, the rest of the input in
    for (const g of ['full', 'eio', 'statefull', 'short']) fs.rmSync(gate(g), { force: true });
    fs.writeFileSync(clock, '+0\n');
    for (const [pid, timer] of stopped) {
      clearTimeout(timer);
      try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
    }
    stopped.clear();
    if (kafka) {
      mock.send('up');
      mock.send('produce 300');
      produced += 300;
      await until(() => mock.produced().total === produced, 60000, `the mock produced ${produced}`);
    } else {
      for (const f of pending.splice(0)) fs.renameSync(path.join(staging, f), path.join(ws.input, f));
    }
    await restartIfGone();
    d.child.kill('SIGTERM');
    const ex = await Promise.race([d.exited, sleep(90000).then(() => null)]);
    assert.ok(ex, 'the daemon stops within 90 s of SIGTERM');
  } catch (e) {
    // the round's logs stay beside its tables for the post-mortem
    try {
      fs.mkdirSync(ws.dir, { recursive: true });
      daemons.forEach((x, i) => fs.writeFileSync(path.join(ws.dir, `daemon-${i}.log`), x.logs()));
      if (mock) fs.writeFileSync(path.join(ws.dir, 'mock.log'), mock.out());
    } catch (w) {
      console.log(`soak round ${r}: cannot keep the logs in ${ws.dir}: ${w.message}`);
    }
    if (mock) mock.child.kill('SIGKILL');
    throw e;
  } finally {
    for (const [pid, timer] of stopped) {
      clearTimeout(timer);
      try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
    }
    for (const x of daemons) x.child.kill('SIGKILL');
  }
  const logs = daemons.map((x) => x.logs()).join('\n');
  for (const m of logs.matchAll(/fault injected point=(\S+) action=(-?\d+)/g)) bump(totals.faults.injected_by_point, m[1]);
  // the supervisor's two watchdogs: silence past worker_timeout, and work held without progress
  totals.stalled_workers_killed_by_supervisor +=
    (logs.match(/sent no heartbeat for \d+ ms|made no progress for \d+ ms/g) || []).length;

  // drain what is left, without faults, and check every row
  const drain = run(['start', '-c', ws.config, '--trigger', 'available-now'], { timeoutMs: 300000 });
  assert.equal(drain.code, 0, `drain (round ${r}, seed ${seed}):\n${drain.stderr.slice(-3000)}`);
  if (mock) mock.child.kill('SIGKILL');
  let rowsIn = 0, corruptIn = 0, lost = 0, dup = 0;
  if (kafka) {
    const delivered = fs.readFileSync(report, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const isJson = (v) => { try { JSON.parse(v); return true; } catch { return false; } };
    rowsIn = delivered.length;
    corruptIn = delivered.filter((m) => !isJson(m.value)).length;
    const key = (m) => `${m.partition}:${m.offset}`;
    for (const [table, want] of [['raw_events', delivered.map(key)],
      ['processed_events', delivered.filter((m) => isJson(m.value)).map(key)]]) {
      const got = await queryTable(path.join(ws.tables, table),
        'SELECT "partition" AS p, "offset" AS o, count(*) AS c FROM $T GROUP BY 1, 2');
      const seen = new Map(got.map((g) => [`${g.p}:${g.o}`, Number(g.c)]));
      const wanted = new Set(want);
      for (const k of wanted) {
        const c = seen.get(k) || 0;
        if (c === 0) lost++;
        if (c > 1) dup += c - 1;
      }
      for (const [k, c] of seen) if (!wanted.has(k)) dup += c;
    }
  } else {
    const ids = new Map();
    for (const f of fs.readdirSync(ws.input)) {
      for (const line of fs.readFileSync(path.join(ws.input, f), 'utf8').split('\n')) {
        if (!line.trim()) continue;
        rowsIn++;
        try {
          const v = JSON.parse(line);
          if (v && v.event_id) ids.set(v.event_id, 0);
          else corruptIn++;
        } catch {
          corruptIn++;
        }
      }
    }
    for (const table of ['raw_events', 'processed_events']) {
      const got = await queryTable(path.join(ws.tables, table),
        'SELECT event_id AS id, count(*) AS c FROM $T WHERE event_id IS NOT NULL GROUP BY 1');
      const seen = new Map(got.map((g) => [g.id, Number(g.c)]));
      for (const id of ids.keys()) {
        const c = seen.get(id) || 0;
        if (c === 0) lost++;
        if (c > 1) dup += c - 1;
      }
      for (const id of seen.keys()) if (!ids.has(id)) dup += seen.get(id);
    }
    const bad = await queryTable(path.join(ws.tables, 'raw_events'),
      'SELECT count(*) AS c FROM $T WHERE _corrupt_record IS NOT NULL');
    const c = Number(bad[0].c);
    if (c < corruptIn) lost += corruptIn - c;
    if (c > corruptIn) dup += c - corruptIn;
  }
  let back = 0;
  for (const table of ['raw_events', 'processed_events']) {
    const ts = commitTimestamps(path.join(ws.tables, table));
    for (let i = 1; i < ts.length; i++) if (ts[i].ts !== null && ts[i - 1].ts !== null && ts[i].ts < ts[i - 1].ts) back++;
    await replay(path.join(ws.tables, table)); // the independent reader takes the log, checkpoints too
  }
  totals.rounds++;
  totals[kafka ? 'kafka_rounds' : 'files_rounds']++;
  totals.rows_in += rowsIn;
  totals.corrupt_lines_in += corruptIn;
  totals.rows_lost += lost;
  totals.rows_duplicated += dup;
  totals.commit_timestamps_back += back;
  totals.seconds += (Date.now() - t0) / 1000;
  note(`${rowsIn} rows in (${corruptIn} corrupt), lost ${lost}, duplicated ${dup}, commit timestamps going back ${back}`);
  assert.equal(lost, 0, `round ${r} (seed ${seed}) lost rows`);
  assert.equal(dup, 0, `round ${r} (seed ${seed}) duplicated rows`);
  assert.equal(back, 0, `round ${r} (seed ${seed}): a commit timestamp went back`);
  if (!KEEP) fs.rmSync(ws.dir, { recursive: true, force: true });
}

const started = Date.now();
console.log(`soak: ${ROUNDS} rounds of ${MINUTES} min, seeds ${SEED0}..${SEED0 + ROUNDS - 1}, Kafka every ${KAFKA_EVERY}, ` +
  `faketime ${FAKETIME ? 'on' : 'off'}`);
for (let r = 0; r < ROUNDS; r++) {
  try {
    await round(r);
  } catch (e) {
    totals.failed_rounds.push({ round: r, seed: SEED0 + r, error: String(e.message).slice(0, 2000) });
    console.log(`soak round ${r} FAILED (seed ${SEED0 + r}; reproduce: tests/chaos/soak --rounds 1 --seed ${SEED0 + r}` +
      ` --kafka-every ${KAFKA_EVERY ? (r % KAFKA_EVERY === KAFKA_EVERY - 1 ? 1 : 0) : 0}): ${String(e.message).slice(0, 3000)}`);
  }
  if (OUT) fs.writeFileSync(OUT, JSON.stringify({ ...totals, minutes_per_round: MINUTES, seed0: SEED0, wall_seconds: (Date.now() - started) / 1000 }, null, 2));
}
console.log(JSON.stringify(totals, null, 2));
console.log(`${totals.rounds} passed, ${totals.failed_rounds.length} failed`);
process.exitCode = totals.failed_rounds.length ? 1 : 0;
