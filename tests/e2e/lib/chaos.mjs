// The chaos tests' shared part: the daemon in continuous mode while files move from a staging
// directory into the input, with random SIGKILLs of its workers and, once, of the supervisor
// (started again), then a graceful stop. Seeded by the caller's PRNG so that a seed repeats a run.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { alive, children, sleep, startDaemon, status, until, waitAllRunning } from './daemon.mjs';

export { prng } from './prng.mjs'; // one PRNG for the chaos tests, the soak and the hostile corpus

/**
 * Runs the daemon on ws while the files of staging arrive (1..maxFiles per step, then a pause of
 * pauseMs[0] + rand * pauseMs[1]) and `kills` SIGKILLs land: the supervisor at the middle one, a
 * running worker otherwise (at most 3 kills of one child: below the crash-loop intensity; `pool`
 * may weight the candidates). Returns {kills, daemons} after a graceful stop.
 */
export async function chaosRun(ws, staging, rand, { kills: K, maxFiles = 3, pauseMs = [100, 600], pool = (v) => v }) {
  const pending = fs.readdirSync(staging).sort();
  let d = startDaemon(['-c', ws.config]);
  const daemons = [d];
  const kills = [];
  let supervisorKilled = false;
  try {
    await waitAllRunning(ws.config, 30000);
    const perChild = new Map();
    const supervisorAt = Math.floor(K / 2);
    let moved = 0;
    for (let k = 0; k < K; k++) {
      const n = Math.min(pending.length - moved, 1 + Math.floor(rand() * maxFiles));
      for (let i = 0; i < n; i++, moved++)
        fs.renameSync(path.join(staging, pending[moved]), path.join(ws.input, pending[moved]));
      await sleep(pauseMs[0] + Math.floor(rand() * pauseMs[1]));
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
      // a running worker to kill: wait for one (restarts take up to the back-off) rather than
      // skip the kill, so that a round cannot pass having killed nothing (issue 17)
      const v = await until(() => {
        const s = status(ws.config);
        const victims = s ? pool(s.workers.filter((w) => w.pid > 0 && w.state === 'running' &&
                                                        (perChild.get(`${w.role}${w.index}`) || 0) < 3)) : [];
        return victims.length ? victims[Math.floor(rand() * victims.length)] : null;
      }, 15000, `a running worker to kill (kill ${k + 1} of ${K})`);
      perChild.set(`${v.role}${v.index}`, (perChild.get(`${v.role}${v.index}`) || 0) + 1);
      try {
        process.kill(v.pid, 'SIGKILL');
        kills.push(`${v.role}[${v.index}]`);
      } catch {
        /* it went away by itself between status and kill: not counted (the caller asserts how many) */
      }
    }
    for (; moved < pending.length; moved++)
      fs.renameSync(path.join(staging, pending[moved]), path.join(ws.input, pending[moved]));
    // a graceful stop drains what is in flight; whatever it cannot finish is replayed after
    await sleep(500);
    d.child.kill('SIGTERM');
    const ex = await d.exited;
    assert.ok(ex.code === 0 || ex.code === null, `stop after chaos: ${JSON.stringify(ex)}\n${d.logs().slice(-4000)}`);
  } finally {
    for (const x of daemons) x.child.kill('SIGKILL');
  }
  assert.ok(supervisorKilled, 'the supervisor was killed once');
  return { kills, daemons };
}
