// Memory and liveness of long batches (issue 7): the committer must not be
// taken for a livelocked worker when a batch comes after a long quiet time,
// and its memory must not grow with the number of batches it committed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { gen, sleep, startDaemon, status, until, waitLog, workspace } from './lib/daemon.mjs';

const rowsOf = (config, table) => {
  const s = status(config);
  return s ? s.tables.find((x) => x.name === table)?.rows : undefined;
};

test('a commit after a quiet spell longer than worker_timeout does not get the committer killed', async () => {
  // The committer used to send its progress (busy=1, work_done not yet
  // counted) in the middle of a commit; when the commit came more than
  // worker_timeout after its previous one (or its start), the supervisor
  // read "busy without progress for worker_timeout" and killed it.
  const ws = workspace('quiet', { transform: 1, writer: 1, extra: 'worker_timeout: 3s\n' });
  const d = startDaemon(['-c', ws.config, '--trigger', 'continuous']);
  try {
    const ready = await waitLog(d, /committer\[0\] (\d+): ready/, 30000);
    const pid = Number(ready[1]);
    await waitLog(d, /all \d+ workers ready/, 30000);
    // the scenario needs the committer idle for longer than worker_timeout;
    // waiting longer only makes the test stricter
    await sleep(3500);
    gen(['--out', ws.input, '--files', '1', '--rows', '300', '--seed', '701', '--prefix', 'a']);
    await until(() => rowsOf(ws.config, 'processed_events') === 300, 60000, 'the first batch committed');
    // a second batch after the first: the liveness check ran many times in between
    gen(['--out', ws.input, '--files', '1', '--rows', '200', '--seed', '702', '--prefix', 'b']);
    await until(() => rowsOf(ws.config, 'processed_events') === 500, 60000, 'the second batch committed');
    const s = status(ws.config);
    const c = s.workers.find((w) => w.role === 'committer');
    assert.equal(c.pid, pid, 'the committer was restarted');
    assert.doesNotMatch(d.logs(), /made no progress/);
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0);
  } finally {
    d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});
