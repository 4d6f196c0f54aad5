// Supervisor behaviour of issue 6 that is not about data faults: SIGHUP
// reload, the running configuration handed to workers, exit codes, state.db
// damage, fsck.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { countInput, gen, run, startDaemon, status, until, verify, workspace } from './lib/daemon.mjs';

function assertVerified(ws, kind) {
  const v = verify(path.join(ws.tables, kind === 'raw' ? 'raw_events' : 'processed_events'), ws.input, kind);
  assert.equal(v.code, 0, `verify ${kind} failed:\n${v.out}`);
}

const allRunning = (config) => {
  const s = status(config);
  return s && s.workers.every((w) => w.state === 'running') && s;
};

test('SIGHUP applies live settings to the supervisor and every worker, refuses the rest by name, keeps a bad file out', async () => {
  const ws = workspace('sighup');
  const original = fs.readFileSync(ws.config, 'utf8');
  const d = startDaemon(['-c', ws.config]);
  try {
    await until(() => allRunning(ws.config), 20000, 'all workers running');
    // an edit with a live key (log_level) and a key that needs a restart (workers.transform)
    fs.writeFileSync(ws.config, original.replace('transform: 2', 'transform: 3') + 'log_level: debug\nworker_timeout: 20s\n');
    d.child.kill('SIGHUP');
    await until(() => /supervisor\[0\] \d+: SIGHUP: reloaded log_level, worker_timeout/.test(d.logs()), 10000, 'the reload');
    assert.match(d.logs(), /SIGHUP: workers\.transform changed in .* but cannot change while the pipeline runs \(restart to apply\): not applied/);
    for (const role of ['ingest', 'transform', 'writer', 'committer', 'monitor'])
      await until(() => new RegExp(`${role}\\[\\d\\] \\d+: SIGHUP: reloaded log_level, worker_timeout`).test(d.logs()), 10000, `${role} reloaded`);
    // debug lines now appear (ingest logs each discovered file at debug)
    gen(['--out', ws.input, '--files', '2', '--rows', '200', '--seed', '401']);
    await until(() => /ingest\[0\] \d+: discovered file=/.test(d.logs()), 10000, 'a debug line');
    // a restarted worker runs with the running configuration, not the edited file: still 2 transforms
    const t = status(ws.config).workers.find((w) => w.role === 'transform' && w.index === 1);
    process.kill(t.pid, 'SIGKILL');
    await until(() => {
      const s = allRunning(ws.config);
      return s && s.workers.find((w) => w.role === 'transform' && w.index === 1).pid !== t.pid && s;
    }, 20000, 'transform 1 restarted');
    assert.equal(status(ws.config).workers.filter((w) => w.role === 'transform').length, 2);
    // a broken file is refused with file:line and the pipeline keeps going
    fs.writeFileSync(ws.config, original + 'source:\n  max_files_per_trigger: lots\n');
    d.child.kill('SIGHUP');
    await until(() => /SIGHUP: .*lakesup\.yml:\d+: key 'source\.max_files_per_trigger': 'lots' is not an integer; the running configuration is kept/.test(d.logs()),
      10000, 'the refusal');
    fs.writeFileSync(ws.config, original); // (the CLI reads the file too)
    const events = countInput(ws.input).events;
    await until(() => {
      const s = status(ws.config);
      return s && s.tables.find((x) => x.name === 'processed_events').rows === events;
    }, 30000, `${events} rows`);
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0);
    assertVerified(ws, 'processed');
  } finally {
    d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});
