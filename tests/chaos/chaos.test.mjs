// Chaos test (issue 6): the real daemon in continuous mode while files
// arrive over time; random processes — any worker, and the supervisor — are
// SIGKILLed at random instants; a killed supervisor is started again. At the
// end the backlog is drained with `--trigger available-now` and DuckDB (with
// an independent Delta log replay) checks that every input row is in
// raw_events and processed_events exactly once, with its values, and that the
// two derived tables of the configuration (issue 13: one fed from
// processed_events, one from the first, committed with the same txn) hold
// exactly their rows of the input once.
//
// Seeded: the seed is printed; LAKESUP_CHAOS_SEED=S repeats a run.
// LAKESUP_CHAOS_ROUNDS=N runs N rounds (a soak); CI runs one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { alive, assertVerified, children, countInput, gen, QUICK, run, sleep, startDaemon, status, until, waitAllRunning, workspace } from '../e2e/lib/daemon.mjs';
import { queryTable, replay } from '../e2e/lib/delta.mjs';
import { loadInput } from '../e2e/lib/verify.mjs';

// two derived tables: purchases from processed_events, big_eu from purchases
const DERIVED =
  'tables:\n' +
  '  purchases:\n' +
  '    from: processed_events\n' +
  '    transforms:\n' +
  '      - filter: "event_type = \'purchase\'"\n' +
  '      - select: [event_id, user_id, amount, country, ts]\n' +
  '    partition_by: [event_date]\n' +
  '  big_eu:\n' +
  '    from: purchases\n' +
  '    transforms:\n' +
  '      - filter: "country IN (\'FR\', \'DE\', \'ES\', \'IT\') AND amount >= 100"\n' +
  '      - derive: {amount_eur: "round(amount * 0.92, 2)"}\n';

/* The derived tables hold exactly their input rows, once each, and carry every batch's txn. */
async function assertDerived(ws, note) {
  const evs = [...loadInput(ws.input).events.values()].map((x) => x.ev);
  const want = {
    purchases: evs.filter((e) => e.event_type === 'purchase'),
    big_eu: evs.filter((e) => e.event_type === 'purchase' && ['FR', 'DE', 'ES', 'IT'].includes(e.country) &&
                              e.amount !== null && e.amount >= 100),
  };
  const rawTxns = (await replay(path.join(ws.tables, 'raw_events'))).txns;
  for (const [t, rows] of Object.entries(want)) {
    const got = await queryTable(path.join(ws.tables, t), 'SELECT event_id, count(*) AS n FROM $T GROUP BY event_id');
    const twice = got.filter((r) => Number(r.n) > 1).map((r) => r.event_id);
    assert.deepEqual(twice, [], `${t}: rows twice (${note})`);
    assert.deepEqual(got.map((r) => r.event_id).sort(), rows.map((e) => e.event_id).sort(), `${t}: its rows of the input (${note})`);
    assert.deepEqual((await replay(path.join(ws.tables, t))).txns, rawTxns, `${t}: the same txn as raw_events`);
  }
  return Object.fromEntries(Object.entries(want).map(([t, r]) => [t, r.length]));
}

/* Files sized for readers (issue 16): a batch writes at most one file per writer per table, filled
   with the rows of many chunks; the checks above prove those files hold every row exactly once.
   Committed streaming files are named part-<batch>-<chunk>-<uuid>; each batch's chunk count is in
   state.db. Files auto-compaction wrote in their place are left out. */
async function assertFileSizing(ws, writers, note) {
  const db = path.join(ws.dir, 'checkpoints', 'state.db');
  const q = spawnSync('sqlite3', ['-readonly', '-json', db, 'SELECT id, n_chunks FROM batches WHERE state = 2'],
    { encoding: 'utf8' });
  assert.equal(q.status, 0, q.stderr);
  const chunks = new Map(JSON.parse(q.stdout || '[]').map((r) => [Number(r.id), Number(r.n_chunks)]));
  const summary = {};
  for (const t of ['raw_events', 'processed_events']) {
    const perBatch = new Map();
    for (const { path: p } of (await replay(path.join(ws.tables, t))).files) {
      // streaming files: part-<batch>-<chunk>-<uuid>; auto-compaction's are part-00000-<uuid>
      const m = /(?:^|\/)part-(\d{5,})-(\d{5,})-[0-9a-f]{8}-/.exec(p);
      if (!m) continue;
      perBatch.set(Number(m[1]), (perBatch.get(Number(m[1])) || 0) + 1);
    }
    let files = 0, nchunks = 0;
    for (const [b, n] of perBatch) {
      assert.ok(n <= writers, `${t}: batch ${b} has ${n} files, more than one per writer (${note})`);
      files += n;
      nchunks += chunks.get(b) ?? 0;
    }
    assert.ok(files < nchunks, `${t}: ${files} files for ${nchunks} chunks: files do not hold several chunks (${note})`);
    summary[t] = `${files} files for ${nchunks} chunks in ${perBatch.size} batches`;
  }
  return summary;
}

const ROUNDS = Number(process.env.LAKESUP_CHAOS_ROUNDS || 1);
const SEED0 = Number(process.env.LAKESUP_CHAOS_SEED || (Date.now() % 1000000));
const FILES = Number(process.env.LAKESUP_CHAOS_FILES || (QUICK ? 16 : 40));
const ROWS = Number(process.env.LAKESUP_CHAOS_ROWS || (QUICK ? 300 : 1500));
const KILLS = Number(process.env.LAKESUP_CHAOS_KILLS || (QUICK ? 6 : 12));

// mulberry32: a small deterministic PRNG, so that a seed repeats a run
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function round(r) {
  const seed = SEED0 + r;
  const rand = prng(seed);
  console.log(`chaos round ${r}: seed=${seed} files=${FILES} rows/file=${ROWS} kills=${KILLS}`);
  const ws = workspace(`chaos${r}`, {
    extra: 'source:\n  chunk_bytes: 65536\n  max_files_per_trigger: 2\nworker_timeout: 10s\n' + DERIVED,
  });
  // the input is generated aside and moved in over time (rename: each file appears complete)
  const staging = path.join(ws.dir, 'staging');
  gen(['--out', staging, '--files', String(FILES), '--rows', String(ROWS), '--seed', String(seed),
       '--corrupt-every', '997']);
  const pending = fs.readdirSync(staging).sort();
  const expected = countInput(staging);

  let d = startDaemon(['-c', ws.config]);
  const daemons = [d];
  const kills = [];
  let supervisorKilled = false;
  try {
    await waitAllRunning(ws.config, 30000);
    const perChild = new Map(); // at most 3 kills of one child: below the crash-loop intensity
    const supervisorAt = Math.floor(KILLS / 2);
    let moved = 0;
    for (let k = 0; k < KILLS; k++) {
      // a few files arrive, then a random pause, then a kill at a random instant
      const n = Math.min(pending.length - moved, 1 + Math.floor(rand() * 3));
      for (let i = 0; i < n; i++, moved++)
        fs.renameSync(path.join(staging, pending[moved]), path.join(ws.input, pending[moved]));
      await sleep(100 + Math.floor(rand() * 600));
      if (k === supervisorAt) {
        const kids = children(d.child.pid).map((c) => c.pid);
        d.child.kill('SIGKILL');
        await d.exited;
        supervisorKilled = true;
        kills.push('supervisor');
        await until(() => kids.every((pid) => !alive(pid)), 5000, 'the workers to die with the supervisor');
        d = startDaemon(['-c', ws.config]);
        daemons.push(d);
        await waitAllRunning(ws.config, 30000);
        continue;
      }
      const s = status(ws.config);
      if (!s) continue;
      const victims = s.workers.filter((w) => w.pid > 0 && w.state === 'running' &&
                                              (perChild.get(`${w.role}${w.index}`) || 0) < 3);
      if (!victims.length) continue;
      const v = victims[Math.floor(rand() * victims.length)];
      perChild.set(`${v.role}${v.index}`, (perChild.get(`${v.role}${v.index}`) || 0) + 1);
      try {
        process.kill(v.pid, 'SIGKILL');
        kills.push(`${v.role}[${v.index}]`);
      } catch {
        /* it went away by itself: not counted */
      }
    }
    for (; moved < pending.length; moved++)
      fs.renameSync(path.join(staging, pending[moved]), path.join(ws.input, pending[moved]));
    // a graceful stop drains what is in flight; whatever it cannot finish is replayed below
    await sleep(500);
    d.child.kill('SIGTERM');
    const ex = await d.exited;
    assert.ok(ex.code === 0 || ex.code === null, `stop after chaos: ${JSON.stringify(ex)}\n${d.logs().slice(-4000)}`);
  } finally {
    for (const x of daemons) x.child.kill('SIGKILL');
  }
  assert.ok(supervisorKilled, 'the supervisor was killed once');
  console.log(`chaos round ${r}: kills ${kills.length}: ${kills.join(' ')}`);

  const drain = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(drain.code, 0, `drain failed:\n${drain.stderr.slice(-4000)}`);
  assert.deepEqual(countInput(ws.input), expected);
  for (const kind of ['raw', 'processed'])
    assertVerified(ws, kind, { note: `round ${r} seed ${seed}, after kills ${kills.join(' ')}`,
      more: () => daemons.map((x) => x.logs().slice(-3000)).join('\n----\n') });
  const derived = await assertDerived(ws, `round ${r} seed ${seed}, after kills ${kills.join(' ')}`);
  const sizing = await assertFileSizing(ws, 2, `round ${r} seed ${seed}`);
  console.log(`chaos round ${r}: ${JSON.stringify(sizing)}`);
  console.log(`chaos round ${r}: ${expected.events} events + ${expected.corrupt} corrupt lines exactly once in both tables; ` +
              `derived tables exactly once: ${JSON.stringify(derived)}`);
  fs.rmSync(ws.dir, { recursive: true, force: true });
}

test(`chaos: ${ROUNDS} round(s) of random SIGKILLs (workers and supervisor) while files arrive; exactly once`,
  { timeout: 900000 }, async () => {
    for (let r = 0; r < ROUNDS; r++) await round(r);
  });
