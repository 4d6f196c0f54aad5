#!/usr/bin/env node
// bench/wallclock.mjs — where the cores sit idle during an available-now run
// (issue 7, the throughput row's wall-clock utilisation).
//
//   node bench/wallclock.mjs [--bin build/lakesupd] [--data DIR] [--runs N] [--transform 2] [--writer 2]
//
// Runs `lakesupd start --trigger available_now` on DIR (default: 1 M rows,
// `lk_gen --files 10 --rows 100000 --seed 7`, generated once), samples every
// process of the tree's CPU time from /proc/<pid>/schedstat (nanoseconds, not
// the 10 ms ticks of /proc/<pid>/stat) every ~5 ms, and the whole machine's
// from /proc/stat, then splits the run into phases by the log's timestamps
// (debug level) and prints per phase: its span in ms from the spawn, and the
// cores each role kept busy; "other" = the rest of the machine (other users).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const arg = (k, d) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const BIN = path.resolve(arg('bin', path.join(ROOT, 'build', 'lakesupd')));
const RUNS = Number(arg('runs', 3));
const HZ = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-wallclock-'));
let DATA = arg('data', null);
if (!DATA) {
  DATA = path.join(os.tmpdir(), `lk-wallclock-data-${process.getuid()}`);
  if (!fs.existsSync(path.join(DATA, '.complete'))) {
    fs.rmSync(DATA, { recursive: true, force: true });
    const gen = path.join(ROOT, 'build', 'lk_gen');
    const r = spawnSync(gen, ['--out', DATA, '--files', '10', '--rows', '100000', '--seed', '7'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`lk_gen: ${r.stderr}`);
    fs.writeFileSync(path.join(DATA, '.complete'), r.stdout);
  }
}

const read = (f) => {
  try {
    return fs.readFileSync(f, 'utf8');
  } catch {
    return null;
  }
};
function children(root) {
  const out = [root];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = read(`/proc/${d}/stat`);
    if (s && Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === root) out.push(Number(d));
  }
  return out;
}
const machineBusy = () => {
  const f = read('/proc/stat').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / HZ; // user nice system irq softirq steal
};

async function once(n) {
  const ws = path.join(WORK, `run-${n}`);
  fs.mkdirSync(ws, { recursive: true });
  const cfg = path.join(ws, 'lakesup.yml');
  fs.writeFileSync(cfg, `pipeline: wallclock\nsource_path: ${DATA}\ncheckpoint_path: ${ws}/checkpoints\n` +
    `warehouse_path: ${ws}/lakehouse\nlog_level: debug\nworkers:\n  transform: ${arg('transform', 2)}\n  writer: ${arg('writer', 2)}\n`);
  const t0 = Date.now();
  const child = spawn(BIN, ['start', '-c', cfg, '--trigger', 'available_now'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (b) => (log += b));
  child.stderr.on('data', (b) => (log += b));
  const pts = []; // [t_ms, key, cpu_s]
  const prev = new Map();
  let known = [child.pid], k = 0, done = false;
  const sample = () => {
    const t = Date.now() - t0;
    if (k++ % 4 === 0) known = children(child.pid);
    const cur = [['ALL', machineBusy()]];
    for (const pid of known) {
      const s = read(`/proc/${pid}/schedstat`);
      if (s) cur.push([pid, Number(s.split(' ')[0]) / 1e9]);
    }
    for (const [key, v] of cur) {
      const p = prev.get(key);
      if (p && v > p[1]) pts.push([(t + p[0]) / 2, key, v - p[1]]);
      prev.set(key, [t, v]);
    }
  };
  const timer = setInterval(() => !done && sample(), 5);
  const rc = await new Promise((res) => child.on('exit', (c) => res(c)));
  done = true;
  clearInterval(timer);
  const tEnd = Date.now() - t0;
  const role = new Map();
  const ev = {};
  const pats = { ready: /all \d+ workers ready/, inferred: /inferred schema/, planned: /planned batch=/,
    first: /using raw_events schema/, sent: /sent batch=/, committed: /table=processed_events version=/ };
  for (const l of log.split('\n')) {
    const m = /role=(\w+) index=(\d+) pid=(\d+)/.exec(l);
    if (m && /started worker/.test(l)) role.set(Number(m[3]), m[1]);
    for (const [key, re] of Object.entries(pats))
      if (!(key in ev) && re.test(l)) ev[key] = Date.parse(l.slice(0, 24)) - t0;
  }
  if (rc !== 0 || Object.keys(ev).length !== Object.keys(pats).length) {
    console.log(`run ${n}: exit ${rc}, log:\n${log}`);
    process.exitCode = 1;
    return;
  }
  const phases = [['spawn -> all workers ready', 0, ev.ready], ['ready -> schema inferred', ev.ready, ev.inferred],
    ['planned -> 1st chunk at a transform', ev.planned, ev.first], ['steady: 1st chunk -> last chunk sent', ev.first, ev.sent],
    ['tail: last sent -> both tables committed', ev.sent, ev.committed], ['shutdown: committed -> exit', ev.committed, tEnd]];
  console.log(`run ${n}: wall ${tEnd} ms`);
  for (const [name, a, b] of phases) {
    const c = {};
    for (const [t, key, v] of pts)
      if (t >= a && t < b) {
        const r = key === 'ALL' ? 'ALL' : role.get(key) || 'supervisor';
        c[r] = (c[r] || 0) + v;
      }
    const dt = Math.max(1, b - a) / 1000;
    const ours = Object.entries(c).filter(([r]) => r !== 'ALL').reduce((s, [, v]) => s + v, 0);
    const roles = ['ingest', 'transform', 'writer', 'committer', 'supervisor'].filter((r) => c[r]).map((r) => `${r}=${(c[r] / dt).toFixed(2)}`);
    console.log(`  ${name.padEnd(42)} ${String(a).padStart(5)}..${String(b).padStart(5)} (${String(b - a).padStart(4)} ms) ` +
      `cores=${(ours / dt).toFixed(2)} [${roles.join(' ')}] other=${Math.max(0, ((c.ALL || 0) - ours) / dt).toFixed(2)}`);
  }
}

for (let i = 1; i <= RUNS; i++) await once(i);
fs.rmSync(WORK, { recursive: true, force: true });
