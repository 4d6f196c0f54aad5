// Chaos test of event_metrics (issue 12): the daemon in continuous mode with 1-minute windows and
// a 30-second watermark while files with out-of-order, late and time-less rows arrive one batch
// each; random processes (any worker, and the supervisor) are SIGKILLed at random instants, so
// kills land between a window's file and its commit, between the window state and the gold
// commit, and between the gold commit and state.db. The backlog is then drained with
// --trigger available-now and event_metrics must equal the reference (DuckDB's GROUP BY
// time_bucket over the non-late rows, lateness replayed over the real batch boundaries): every
// closed window once, none twice, none lost; every late and time-less row in quarantine once.
//
// Seeded: LAKESUP_CHAOS_SEED=S repeats a run; LAKESUP_CHAOS_ROUNDS=N runs N rounds.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { alive, children, QUICK, run, sleep, startDaemon, status, until, waitAllRunning, workspace } from '../e2e/lib/daemon.mjs';
import { replay } from '../e2e/lib/delta.mjs';
import {
  METRICS_CONFIG, assertQuarantine, assertWindows, genWindowInput, quarantined, readMetrics, reference,
} from '../e2e/lib/windows.mjs';

const ROUNDS = Number(process.env.LAKESUP_CHAOS_ROUNDS || 1);
const SEED0 = Number(process.env.LAKESUP_CHAOS_SEED || (Date.now() % 1000000));
const FILES = QUICK ? 10 : 18;
const ROWS = QUICK ? 700 : 1200;
const KILLS = QUICK ? 6 : 12;

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
  console.log(`windows chaos round ${r}: seed=${seed} files=${FILES} rows/file=${ROWS} kills=${KILLS}`);
  const ws = workspace(`wchaos${r}`, {
    extra: METRICS_CONFIG + 'worker_timeout: 10s\n',
  });
  const staging = path.join(ws.dir, 'staging');
  fs.mkdirSync(staging);
  genWindowInput(staging, { files: FILES, rows: ROWS, seed });
  const pending = fs.readdirSync(staging).sort();
  let d = startDaemon(['-c', ws.config]);
  const daemons = [d];
  const kills = [];
  try {
    await waitAllRunning(ws.config, 30000);
    const perChild = new Map();
    const supervisorAt = Math.floor(KILLS / 2);
    let moved = 0;
    for (let k = 0; k < KILLS; k++) {
      const n = Math.min(pending.length - moved, 1 + Math.floor(rand() * 2));
      for (let i = 0; i < n; i++, moved++)
        fs.renameSync(path.join(staging, pending[moved]), path.join(ws.input, pending[moved]));
      await sleep(50 + Math.floor(rand() * 500));
      if (k === supervisorAt) {
        const kids = children(d.child.pid).map((c) => c.pid);
        d.child.kill('SIGKILL');
        await d.exited;
        kills.push('supervisor');
        await until(() => kids.every((pid) => !alive(pid)), 5000, 'the workers to die with the supervisor');
        d = startDaemon(['-c', ws.config]);
        daemons.push(d);
        await waitAllRunning(ws.config, 30000);
        continue;
      }
      const s = status(ws.config);
      if (!s) continue;
      // the committer (where windows close) twice as likely as any other
      const victims = s.workers.filter((w) => w.pid > 0 && w.state === 'running' &&
                                              (perChild.get(`${w.role}${w.index}`) || 0) < 3);
      const pool = victims.concat(victims.filter((w) => w.role === 'committer'));
      if (!pool.length) continue;
      const v = pool[Math.floor(rand() * pool.length)];
      perChild.set(`${v.role}${v.index}`, (perChild.get(`${v.role}${v.index}`) || 0) + 1);
      try {
        process.kill(v.pid, 'SIGKILL');
        kills.push(`${v.role}[${v.index}]`);
      } catch {
        /* gone by itself */
      }
    }
    for (; moved < pending.length; moved++)
      fs.renameSync(path.join(staging, pending[moved]), path.join(ws.input, pending[moved]));
    await sleep(500);
    d.child.kill('SIGTERM');
    const ex = await d.exited;
    assert.ok(ex.code === 0 || ex.code === null, `stop after chaos: ${JSON.stringify(ex)}\n${d.logs().slice(-4000)}`);
  } finally {
    for (const x of daemons) x.child.kill('SIGKILL');
  }
  console.log(`windows chaos round ${r}: kills ${kills.length}: ${kills.join(' ')}`);
  const drain = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(drain.code, 0, `drain failed:\n${drain.stderr.slice(-4000)}`);
  const note = `round ${r} seed ${seed}, after kills ${kills.join(' ')}: `;
  const ref = await reference([ws.input], ws.tables);
  const got = await readMetrics(ws.tables);
  assertWindows(got, ref.windows, note);
  assertQuarantine(await quarantined(ws.tables), ref, note);
  // every batch's txn in event_metrics, as in raw_events
  const raw = (await replay(path.join(ws.tables, 'raw_events'))).txns;
  assert.deepEqual((await replay(path.join(ws.tables, 'event_metrics'))).txns, raw, `${note}event_metrics carries every batch's txn`);
  console.log(`windows chaos round ${r}: ${got.length} windows exactly once, ${ref.late.size} late and ` +
              `${ref.none.size} time-less rows quarantined once`);
  fs.rmSync(ws.dir, { recursive: true, force: true });
}

test(`chaos: ${ROUNDS} round(s) of random SIGKILLs while windows close; event_metrics exactly once`,
  { timeout: 900000 }, async () => {
    for (let r = 0; r < ROUNDS; r++) await round(r);
  });
