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
import { QUICK, run, workspace } from '../e2e/lib/daemon.mjs';
import { chaosRun, prng } from '../e2e/lib/chaos.mjs';
import { replay } from '../e2e/lib/delta.mjs';
import {
  METRICS_CONFIG, assertQuarantine, assertWindows, genWindowInput, quarantined, readMetrics, reference,
  withTextAggregates,
} from '../e2e/lib/windows.mjs';

const ROUNDS = Number(process.env.LAKESUP_CHAOS_ROUNDS || 1);
const SEED0 = Number(process.env.LAKESUP_CHAOS_SEED || (Date.now() % 1000000));
const FILES = QUICK ? 10 : 18;
const ROWS = QUICK ? 700 : 1200;
const KILLS = QUICK ? 6 : 12;

async function round(r) {
  const seed = SEED0 + r;
  const rand = prng(seed);
  console.log(`windows chaos round ${r}: seed=${seed} files=${FILES} rows/file=${ROWS} kills=${KILLS}`);
  const ws = workspace(`wchaos${r}`, {
    // min/max of strings and a percentile array too: their window state survives every kill
    extra: withTextAggregates(METRICS_CONFIG) + 'worker_timeout: 10s\n',
  });
  const staging = path.join(ws.dir, 'staging');
  fs.mkdirSync(staging);
  genWindowInput(staging, { files: FILES, rows: ROWS, seed, labels: true });
  // the committer (where windows close) twice as likely as any other worker
  const { kills } = await chaosRun(ws, staging, rand, {
    kills: KILLS, maxFiles: 2, pauseMs: [50, 500],
    pool: (victims) => victims.concat(victims.filter((w) => w.role === 'committer')),
  });
  console.log(`windows chaos round ${r}: kills ${kills.length}: ${kills.join(' ')}`);
  const drain = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(drain.code, 0, `drain failed:\n${drain.stderr.slice(-4000)}`);
  const note = `round ${r} seed ${seed}, after kills ${kills.join(' ')}: `;
  const ref = await reference([ws.input], ws.tables);
  const got = await readMetrics(ws.tables, '', { text: true });
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
