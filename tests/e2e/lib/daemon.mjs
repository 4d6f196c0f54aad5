// Helpers for end-to-end tests: run the real lakesupd binary on real files
// in a temporary directory, and the project's own generator.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '..', '..', '..');
export const LAKESUPD = process.env.LAKESUPD_BIN || path.join(ROOT, 'build', 'lakesupd');
export const LK_GEN = process.env.LK_GEN_BIN || path.join(ROOT, 'build', 'lk_gen');
export const VERIFY = path.join(ROOT, 'tests', 'e2e', 'verify.mjs');
export const QUICK = !!process.env.LK_E2E_QUICK;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/*
 * Every directory a test makes for itself comes from tmpDir (workspace uses it): below os.tmpdir()
 * ($TMPDIR, default /tmp), and remembered. A passing test removes what it made at its end; what is
 * still there when the test file's process exits is listed on stderr: kept for inspection when a
 * test failed, and a failure of the file when every test passed (a test that forgot to clean up).
 */
const made = new Set();
process.on('exit', (code) => {
  const left = [...made].filter((d) => fs.existsSync(d));
  if (!left.length) return;
  const list = left.map((d) => `  ${d}\n`).join('');
  if (code !== 0) {
    process.stderr.write(`e2e: a test failed; its directories are kept for inspection:\n${list}`);
  } else {
    process.stderr.write(`e2e: passing tests left these behind (a test removes what it made at its end):\n${list}`);
    process.exitCode = 1;
  }
});

/** A fresh empty directory lk-e2e-TAG-XXXXXX below $TMPDIR; the test removes it at its end. */
export function tmpDir(tag) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lk-e2e-${tag}-`));
  made.add(dir);
  return dir;
}

/** A fresh working directory with a config; returns {dir, config, tables}. */
export function workspace(name, { transform = 2, writer = 2, extra = '' } = {}) {
  const dir = tmpDir(name);
  const config = path.join(dir, 'lakesup.yml');
  fs.mkdirSync(path.join(dir, 'incoming'));
  fs.writeFileSync(
    config,
    `pipeline: e2e_${name}\n` +
      `source_path: ${dir}/incoming\n` +
      `checkpoint_path: ${dir}/checkpoints\n` +
      `warehouse_path: ${dir}/lakehouse\n` +
      `workers:\n  transform: ${transform}\n  writer: ${writer}\n` +
      extra
  );
  const tables = path.join(dir, 'lakehouse', 'main', 'streaming');
  return { dir, config, tables, input: path.join(dir, 'incoming') };
}

/** Runs lk_gen; returns its stdout. */
export function gen(args) {
  const r = spawnSync(LK_GEN, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`lk_gen ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * Runs a lakesupd command to completion (in cwd when given), for at most timeoutMs times
 * TIMEOUT_SCALE. A command cut short by the timeout has code null and timedOut set, and its
 * stderr says so: `start` stops gracefully on the SIGTERM and exits 0, which passed for a run
 * that finished (an ASan available-now run on a loaded machine, cut after 300 s, "succeeded"
 * having committed nothing).
 */
export function run(args, { timeoutMs = 180000, env = {}, cwd } = {}) {
  const limit = timeoutMs * TIMEOUT_SCALE;
  const r = spawnSync(LAKESUPD, args, {
    encoding: 'utf8',
    timeout: limit,
    cwd,
    env: { ...process.env, ...env },
  });
  const timedOut = !!(r.error && r.error.code === 'ETIMEDOUT');
  return {
    code: timedOut ? null : r.status, signal: r.signal, timedOut, stdout: r.stdout || '',
    stderr: (r.stderr || '') + (timedOut ? `\n(test: lakesupd ${args.join(' ')} timed out after ${limit} ms)\n` : ''),
  };
}

/** Runs body() while daemon d runs: on a failure the last tailChars of d's log join the
 * message; d is killed (SIGKILL) after, whatever happened. */
export async function watching(d, body, tailChars = 6000) {
  try {
    await body();
  } catch (e) {
    e.message += `\n--- daemon log tail ---\n${d.logs().slice(-tailChars)}`;
    throw e;
  } finally {
    d.child.kill('SIGKILL');
  }
}

/** Starts `lakesupd start` in the background; returns {child, logs(), exited}. */
export function startDaemon(args, env = {}, bin = LAKESUPD) {
  const child = spawn(bin, ['start', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) =>
    // 'close', not 'exit': after the pipes are drained, so logs() holds every line
    child.on('close', (code, signal) => {
      // LK_E2E_LOG_DIR keeps every daemon's whole log (passing tests print none): for stress runs
      if (process.env.LK_E2E_LOG_DIR)
        fs.writeFileSync(path.join(process.env.LK_E2E_LOG_DIR, `lakesupd-${child.pid}.log`),
          `# lakesupd start ${args.join(' ')}: exit ${code} ${signal || ''}\n${out}`);
      resolve({ code, signal });
    })
  );
  return { child, logs: () => out, exited };
}

/**
 * Every wait of until/waitLog is this many times the timeout a test names: the names are what a quiet
 * machine needs; CI runs on a loaded 2-core machine, and the ASan build is 3-5x slower. A passing run
 * does not wait longer for it (only a failing one does). LK_E2E_TIMEOUT_SCALE=1 restores the raw values.
 */
export const TIMEOUT_SCALE = Number(process.env.LK_E2E_TIMEOUT_SCALE || 4);

/** Polls fn until it returns a truthy value or the timeout (times TIMEOUT_SCALE) passes. */
export async function until(fn, timeoutMs, what) {
  timeoutMs *= TIMEOUT_SCALE;
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  // what: a string, or a function that says what was awaited with what it saw last
  const said = typeof what === 'function' ? what() : what;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${said} (last: ${last})`);
}

/**
 * Waits until the daemon's log matches re. A log line is read from the pipe only when the event loop
 * runs, so a plain assert.match(d.logs(), ...) right after a spawnSync-based poll can see nothing yet.
 */
export async function waitLog(d, re, timeoutMs = 10000) {
  try {
    return await until(() => d.logs().match(re), timeoutMs, `the log line ${re}`);
  } catch (e) {
    throw new Error(`${e.message}\n--- log tail ---\n${d.logs().slice(-4000)}`);
  }
}

/** `lakesupd status --json` parsed, or null when not running. */
export function status(config) {
  const r = run(['status', '-c', config, '--json'], { timeoutMs: 60000 });
  if (r.code !== 0) return null;
  return JSON.parse(r.stdout);
}

/** The parsed status when every worker is running, else null. */
export function allRunning(config) {
  const s = status(config);
  return s && s.workers.every((w) => w.state === 'running') ? s : null;
}

/** Waits until every worker is running; returns that status. */
export function waitAllRunning(config, timeoutMs = 20000) {
  return until(() => allRunning(config), timeoutMs, 'all workers running');
}

/**
 * The worker role (index: any when undefined) once status shows it running with a pid, waiting for
 * that. Never a worker being restarted: its pid is 0 there, and process.kill(0, ...) would signal the
 * test's own process group (the test runner, run.sh).
 */
export async function runningWorker(config, role, index, timeoutMs = 20000) {
  return until(() => {
    const s = status(config);
    return s && s.workers.find((w) => w.role === role && (index === undefined || w.index === index) &&
                                      w.state === 'running' && w.pid > 0);
  }, timeoutMs, `${role}${index === undefined ? '' : `[${index}]`} running`);
}

/** Runs the independent DuckDB verifier; returns {code, out}. */
export function verify(table, input, kind) {
  const r = spawnSync(process.execPath, [VERIFY, '--table', table, '--input', input, '--kind', kind], {
    encoding: 'utf8',
    timeout: 300000,
  });
  return { code: r.status, out: (r.stdout || '') + (r.stderr || '') };
}

/**
 * Asserts that the workspace's raw_events (kind 'raw') or processed_events ('processed') holds every
 * event of input (default: the workspace's) exactly once, with its values (the verifier). On failure
 * the message names the kind, and note, and ends with more() (a daemon's log, say) when given.
 */
export function assertVerified(ws, kind, { input = ws.input, note = '', more } = {}) {
  const v = verify(path.join(ws.tables, kind === 'raw' ? 'raw_events' : 'processed_events'), input, kind);
  if (v.code !== 0)
    assert.fail(`verify ${kind} failed${note ? ` (${note})` : ''}:\n${v.out}${more ? `\n${more()}` : ''}`);
}

/** The rows `lakesupd status` counts in table, or -1 when the daemon or the table is not there. */
export function rowsOf(config, table) {
  const s = status(config);
  const t = s && s.tables.find((x) => x.name === table);
  return t ? t.rows : -1;
}

/** Counts the input lines that are events and corrupt lines (as lk_gen writes them). */
export function countInput(dir) {
  let events = 0, corrupt = 0;
  for (const f of fs.readdirSync(dir)) {
    if (!f.endsWith('.jsonl')) continue;
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const v = JSON.parse(line);
        if (v && typeof v === 'object' && !Array.isArray(v) && v.event_id) events++;
        else corrupt++;
      } catch {
        corrupt++;
      }
    }
  }
  return { events, corrupt };
}

/**
 * Whether pid is a live process. A zombie counts as gone: a worker that died with its supervisor is
 * reparented, and whether its new parent reaps it at once (or at all) depends on the machine's init.
 */
export function alive(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Pids of the direct children of pid with their command lines. */
export function children(pid) {
  const out = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const st = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean);
      out.push({ pid: Number(p), cmd });
    } catch {
      /* the process went away */
    }
  }
  return out;
}
