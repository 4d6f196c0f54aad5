// Chaos test of transform.dedupe (issue 12): the daemon in continuous mode with dedupe on event_id
// within 10 minutes (and 1-minute windows) while files with duplicates inside chunks, across
// chunks and across batches arrive one batch each; random processes (any worker, the committer
// twice as likely, and the supervisor) are SIGKILLed at random instants, so kills land while a
// batch's duplicates are judged, between its drop list and its replay, during the replay and
// between the dedupe state and the commits. The backlog is then drained with --trigger
// available-now: processed_events must hold each row of DuckDB's dedupe exactly once, raw_events
// every input row once, event_metrics the windows of the kept rows.
//
// Seeded: LAKESUP_CHAOS_SEED=S repeats a run; LAKESUP_CHAOS_ROUNDS=N runs N rounds.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { QUICK, run, workspace } from '../e2e/lib/daemon.mjs';
import { chaosRun, prng } from '../e2e/lib/chaos.mjs';
import { queryTable, replay } from '../e2e/lib/delta.mjs';
import { DEDUPE_CONFIG, dedupeReference, genDedupeInput } from '../e2e/lib/dedupe.mjs';
import { assertWindows, batchOfFiles, readMetrics } from '../e2e/lib/windows.mjs';

const ROUNDS = Number(process.env.LAKESUP_CHAOS_ROUNDS || 1);
const SEED0 = Number(process.env.LAKESUP_CHAOS_SEED || (Date.now() % 1000000));
const FILES = QUICK ? 10 : 14;
const KILLS = QUICK ? 6 : 12;

const norm = (rows) => rows.map((x) => `${x.event_id}|${x.t === null ? 'null' : Number(x.t)}|${x.amount}`);

async function round(r) {
  const seed = SEED0 + r;
  const rand = prng(seed);
  console.log(`dedupe chaos round ${r}: seed=${seed} files=${FILES} kills=${KILLS}`);
  const ws = workspace(`dchaos${r}`, { extra: DEDUPE_CONFIG + 'worker_timeout: 10s\n' });
  const staging = path.join(ws.dir, 'staging');
  fs.mkdirSync(staging);
  const lines = genDedupeInput(staging, { files: FILES, seed });
  const { kills } = await chaosRun(ws, staging, rand, {
    kills: KILLS, maxFiles: 2, pauseMs: [50, 500],
    pool: (victims) => victims.concat(victims.filter((w) => w.role === 'committer')),
  });
  console.log(`dedupe chaos round ${r}: kills ${kills.length}: ${kills.join(' ')}`);
  const drain = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(drain.code, 0, `drain failed:\n${drain.stderr.slice(-4000)}`);
  const note = `round ${r} seed ${seed}, after kills ${kills.join(' ')}: `;
  const batchOf = await batchOfFiles(ws.tables);
  const ref = await dedupeReference(ws.input, batchOf);
  const [{ n }] = await queryTable(path.join(ws.tables, 'raw_events'), 'SELECT count(*) AS n FROM $T');
  assert.equal(Number(n), lines, `${note}raw_events: every input row once`);
  const got = await queryTable(path.join(ws.tables, 'processed_events'),
    'SELECT event_id, epoch_ms(ts) AS t, amount FROM $T ORDER BY event_id, t, amount');
  assert.equal(got.length, ref.kept.length, `${note}processed_events: ${got.length} rows, reference ${ref.kept.length}`);
  assert.deepEqual(norm(got), norm(ref.kept), `${note}processed_events: each kept row exactly once`);
  // the windows reference assumes no kept row is late: true when the batches took the files in
  // name order (how chaosRun moves them in)
  const inOrder = [...batchOf.entries()].sort((a, b) => a[1] - b[1]).every(([f], i, a) => i === 0 || a[i - 1][0] < f);
  if (inOrder) assertWindows(await readMetrics(ws.tables), ref.windows, note);
  else console.log(`dedupe chaos round ${r}: files batched out of name order: windows not compared`);
  const raw = (await replay(path.join(ws.tables, 'raw_events'))).txns;
  assert.deepEqual((await replay(path.join(ws.tables, 'processed_events'))).txns, raw, `${note}every batch's txn`);
  console.log(`dedupe chaos round ${r}: ${got.length} rows exactly once, ${ref.dropped} duplicates dropped`);
  fs.rmSync(ws.dir, { recursive: true, force: true });
}

test(`chaos: ${ROUNDS} round(s) of random SIGKILLs while duplicates are dropped; each row exactly once`,
  { timeout: 900000 }, async () => {
    for (let r = 0; r < ROUNDS; r++) await round(r);
  });
