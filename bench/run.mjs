// bench/run.mjs — the benchmarks of issue 7 (bench/run is the entry point).
//
// Every timed lakesupd run is paired with the reference (DuckDB, bench/duck.mjs)
// measured in the same run, alternating, so that the ratio survives a noisy,
// shared machine; absolute times are printed for context only. Nothing here
// asserts a time: the harness fails only when something does not work (a
// daemon that fails, rows lost or duplicated, a benchmark program that errors).
//
// Measures: throughput, single core, memory (peak RSS of the whole process
// tree, summed from /proc sampling), latency (continuous mode, file close ->
// the Delta commit holding its rows), recovery (kill -9 of a transform),
// start-up, scaling (transforms x writers), micro (the C benchmarks), monitor
// (the monitor worker's CPU and RSS at 20 k events/s while Prometheus-like
// scrapes and the dashboard's polls hit its HTTP endpoint).
// Writes bench/results.json (bench/results-quick.json with --quick), prints a
// table and, on a full run, appends a dated summary to docs/benchmarks.md.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '..');
const BUILD = process.env.LK_BENCH_BUILD || path.join(ROOT, 'build');
const LAKESUPD = path.join(BUILD, 'lakesupd');
const LK_GEN = path.join(BUILD, 'lk_gen');
const DUCK = path.join(here, 'duck.mjs');

// ---- options ----
const argv = process.argv.slice(2);
const opt = { quick: false, only: null, docs: null, work: null, keep: false, from: null };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--quick') opt.quick = true;
  else if (a === '--only') opt.only = new Set(argv[++i].split(','));
  else if (a === '--docs') opt.docs = true;
  else if (a === '--no-docs') opt.docs = false;
  else if (a === '--work') opt.work = argv[++i];
  else if (a === '--keep') opt.keep = true;
  else if (a === '--from') opt.from = argv[++i];
  else {
    console.error(
      'usage: bench/run [--quick] [--only throughput,single_core,memory,latency,recovery,startup,scaling,micro,monitor,reader,compaction]\n' +
        '                 [--work DIR] [--docs|--no-docs] [--keep] [--from results.json]'
    );
    process.exit(2);
  }
}
if (opt.docs === null) opt.docs = !opt.quick && !opt.only && !opt.from;
const WORK = opt.work || path.join(os.tmpdir(), `lakesupd-bench-${process.getuid()}`);
const want = (name) => !opt.only || opt.only.has(name);

// Sizes: the full run is issue 7's table; --quick keeps every benchmark
// alive in CI in well under two minutes.
const S = opt.quick
  ? {
      thr: { files: 10, rows: 10000 }, pairs: 3, single_pairs: 2, scaling_reps: 1,
      mem: [{ files: 10, rows: 10000 }, { files: 10, rows: 40000 }],
      lat: { files: 40, rows: 1000, warmup: 5 }, rec: { files: 40, rows: 1000, killAt: 20, trials: 1 },
      startups: 3, scaling: { files: 10, rows: 10000 },
      micro: { json: 20000, msg: 20000, pq: 50000, delta: 30, state: 30 },
      mon: { files: 100, rows: 2000, period_ms: 100 },
    }
  : {
      thr: { files: 10, rows: 100000 }, pairs: 5, single_pairs: 3, scaling_reps: 2,
      mem: [{ files: 10, rows: 100000 }, { files: 100, rows: 100000 }],
      lat: { files: 200, rows: 1000, warmup: 10 }, rec: { files: 100, rows: 5000, killAt: 30, trials: 3 },
      startups: 5, scaling: { files: 10, rows: 100000 },
      micro: { json: 200000, msg: 100000, pq: 1000000, delta: 200, state: 200 },
      mon: { files: 600, rows: 2000, period_ms: 100 },
    };

// ---- small helpers ----
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowMs = () => performance.timeOrigin + performance.now(); // wall clock, sub-ms
const median = (a) => {
  if (!a.length) return null;
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (a, p) => {
  if (!a.length) return null;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const round = (x, d = 0) => (x === null || x === undefined || Number.isNaN(x) ? null : Number(x.toFixed(d)));
const MiB = (kib) => kib / 1024;
const log = (...a) => console.error('[bench]', ...a);
const failures = [];
function fail(what) {
  failures.push(what);
  log('FAILED:', what);
}

// ---- machine ----
const PAGE = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) || 4096;
const HZ = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
function cpuStat() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] || 0);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { idle, total };
}

// ---- process tree sampling (/proc) ----
// The tree of root: root and every process whose parent chain reaches it.
// Parents are cached per pid (read once), so one sample costs a readdir plus
// one /proc/<pid>/stat per member: rss (pages) and utime+stime (ticks).
class TreeSampler {
  constructor(rootPid, intervalMs = 20) {
    this.root = rootPid;
    this.parent = new Map();
    this.peakSum = 0; // KiB, the largest sum over one sample
    this.hwm = new Map(); // pid -> KiB (VmHWM, read every 5th sample)
    this.cpu = new Map(); // pid -> ticks (last seen)
    this.n = 0;
    this.members = new Set();
    this.role = new Map(); // pid -> worker role (from its command line)
    this.peakPid = new Map(); // pid -> KiB, the largest RSS sampled
    this.peakKind = new Map(); // pid -> {rss, anon, file} KiB near that peak
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.sample();
  }
  ppidOf(pid) {
    if (this.parent.has(pid)) return this.parent.get(pid);
    let pp = -1;
    try {
      const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      pp = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      /* gone */
    }
    this.parent.set(pid, pp);
    return pp;
  }
  inTree(pid) {
    for (let p = pid, k = 0; p > 1 && k < 16; p = this.ppidOf(p), k++) if (p === this.root) return true;
    return false;
  }
  sample() {
    let sum = 0;
    const readHwm = this.n++ % 5 === 0;
    let pids;
    try {
      pids = fs.readdirSync('/proc').filter((p) => p.charCodeAt(0) <= 57).map(Number);
    } catch {
      return;
    }
    for (const pid of pids) {
      if (!this.members.has(pid) && !this.inTree(pid)) continue;
      try {
        const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
        // fields after the comm: state(0) ppid(1) ... utime(11) stime(12) ... rss(21)
        this.members.add(pid);
        if (!this.role.has(pid)) {
          // a forked worker shows the supervisor's command line until its
          // exec: only the root is the supervisor, a child is named once exec'd
          try {
            const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
            const k = cmd.indexOf('worker');
            if (k >= 0) this.role.set(pid, cmd[k + 1]);
            else if (pid === this.root) this.role.set(pid, cmd.includes('start') ? 'supervisor' : path.basename(cmd[0] || 'other'));
          } catch {
            /* gone */
          }
        }
        const rss = (Number(f[21]) * PAGE) / 1024;
        sum += rss;
        if (rss > (this.peakPid.get(pid) || 0)) {
          this.peakPid.set(pid, rss);
          // what the peak is made of: anonymous memory (heap, buffers) vs
          // mapped files (libraries, counted again in every process)
          if (rss > (this.peakKind.get(pid)?.rss || 0) + 1024)
            try {
              const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
              const g = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) || [0, 0])[1]);
              this.peakKind.set(pid, { rss, anon: g('RssAnon'), file: g('RssFile') + g('RssShmem') });
            } catch {
              /* gone */
            }
        }
        this.cpu.set(pid, Number(f[11]) + Number(f[12]));
        if (readHwm) {
          const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+)/m);
          if (m) this.hwm.set(pid, Math.max(this.hwm.get(pid) || 0, Number(m[1])));
        }
      } catch {
        /* exited between readdir and read */
      }
    }
    if (sum > this.peakSum) this.peakSum = sum;
  }
  stop() {
    clearInterval(this.timer);
    let h = 0, c = 0;
    for (const v of this.hwm.values()) h += v;
    for (const v of this.cpu.values()) c += v;
    const byRole = {}, kindByRole = {};
    for (const [pid, kib] of this.peakPid) {
      const r = this.role.get(pid) || 'unnamed';
      byRole[r] = round((byRole[r] || 0) + MiB(kib), 1);
      const k = this.peakKind.get(pid);
      if (k) {
        const o = (kindByRole[r] ??= { anon: 0, file: 0 });
        o.anon = round(o.anon + MiB(k.anon), 1);
        o.file = round(o.file + MiB(k.file), 1);
      }
    }
    return {
      peak_rss_mib: round(MiB(this.peakSum), 1), sum_hwm_mib: round(MiB(h), 1), cpu_s: round(c / HZ, 2), procs: this.members.size,
      peak_by_role_mib: byRole, peak_anon_file_by_role_mib: kindByRole,
    };
  }
}

/** Runs cmd to its exit under a TreeSampler; returns {code, signal, ms, out, mem, other_cores}. */
function runSampled(cmd, args, { env = {}, cwd, timeoutMs = 600000 } = {}) {
  return new Promise((resolve) => {
    const c0 = cpuStat();
    const t0 = nowMs();
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const sampler = new TreeSampler(child.pid);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      const ms = nowMs() - t0;
      clearTimeout(timer);
      const mem = sampler.stop();
      const c1 = cpuStat();
      // cores kept busy by everything else during the run (noise indicator)
      const busy = (c1.total - c1.idle - (c0.total - c0.idle)) / HZ;
      const wall = ms / 1000;
      const other = wall > 0 ? Math.max(0, (busy - mem.cpu_s) / wall) : 0;
      // let stdout/stderr drain
      setImmediate(() => resolve({ code, signal, ms, out, mem, t0, other_cores: round(other, 2) }));
    });
  });
}

// ---- build, data, workspaces ----
function ensureBuilt() {
  const jobs = String(os.cpus().length || 2);
  if (!fs.existsSync(path.join(BUILD, 'CMakeCache.txt'))) {
    log(`configuring ${BUILD} (Release)`);
    execFileSync('cmake', ['-S', ROOT, '-B', BUILD, '-DCMAKE_BUILD_TYPE=Release'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  // the benchmark programs are an option (LK_BENCH) that a main-job build leaves off
  execFileSync('cmake', ['-S', ROOT, '-B', BUILD, '-DLK_BENCH=ON'], { stdio: ['ignore', 'ignore', 'inherit'] });
  log('building (incremental)');
  execFileSync('cmake', ['--build', BUILD, '-j', jobs], { stdio: ['ignore', 'ignore', 'inherit'] });
  const cache = fs.readFileSync(path.join(BUILD, 'CMakeCache.txt'), 'utf8');
  const m = cache.match(/^CMAKE_BUILD_TYPE:\w+=(.*)$/m);
  return m ? m[1] : '?';
}

/** Generated input, reused across runs (the generator is deterministic). */
function dataset(name, files, rows, seed = 9) {
  const dir = path.join(WORK, 'data', `${name}-${files}x${rows}-s${seed}`);
  const stamp = path.join(dir, '.complete');
  if (!fs.existsSync(stamp)) {
    fs.rmSync(dir, { recursive: true, force: true });
    const r = spawnSync(LK_GEN, ['--out', dir, '--files', String(files), '--rows', String(rows), '--seed', String(seed)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`lk_gen failed: ${r.stderr}`);
    fs.writeFileSync(stamp, r.stdout);
  }
  let bytes = 0;
  for (const f of fs.readdirSync(dir)) if (f.endsWith('.jsonl')) bytes += fs.statSync(path.join(dir, f)).size;
  return { dir, files, rows: files * rows, bytes };
}

let wsCount = 0;
/** A fresh checkpoint + warehouse reading source; returns paths. */
function workspace(name, source, { transform = 2, writer = 2, extra = '' } = {}) {
  const dir = path.join(WORK, 'runs', `${name}-${++wsCount}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'lakesup.yml');
  fs.writeFileSync(
    config,
    `pipeline: bench_${name.replace(/[^a-z0-9_]/gi, '_')}\n` +
      `source_path: ${source}\n` +
      `checkpoint_path: ${dir}/checkpoints\n` +
      `warehouse_path: ${dir}/lakehouse\n` +
      `log_level: info\n` +
      `workers:\n  transform: ${transform}\n  writer: ${writer}\n` +
      extra +
      // LK_BENCH_CONFIG: more keys for every run (an A/B of a setting), e.g. "tables:\n  row_group_bytes: 8388608\n"
      (process.env.LK_BENCH_CONFIG ? process.env.LK_BENCH_CONFIG.replace(/\\n/g, '\n') + '\n' : '')
  );
  const tables = path.join(dir, 'lakehouse', 'main', 'streaming');
  return { dir, config, tables, state: path.join(dir, 'checkpoints', 'state.db') };
}
function cleanup(ws) {
  if (!opt.keep) fs.rmSync(ws.dir, { recursive: true, force: true });
}

/** Rows committed per table, from the committer's log lines. */
function committedRows(out) {
  const rows = {};
  for (const m of out.matchAll(/committed batch=\d+ table=(\w+) version=\d+ files=\d+ rows=(\d+)/g))
    rows[m[1]] = (rows[m[1]] || 0) + Number(m[2]);
  return rows;
}
const logTime = (line) => Date.parse(line.slice(0, 24));

// ---- one lakesupd available-now run, and one DuckDB run ----
async function lakesupdRun(name, data, workers, keepTable = null) {
  const ws = workspace(name, data.dir, workers);
  const r = await runSampled(LAKESUPD, ['start', '-c', ws.config, '--trigger', 'available-now']);
  const rows = committedRows(r.out);
  const ok = r.code === 0 && rows.raw_events === data.rows && rows.processed_events === data.rows;
  if (!ok)
    fail(`${name}: lakesupd exit=${r.code} signal=${r.signal} rows=${JSON.stringify(rows)} expected ${data.rows}\n${r.out.slice(-2000)}`);
  // from the start to the last commit (the exit adds the orderly shutdown)
  let lastCommit = null;
  for (const line of r.out.split('\n')) if (/ committer\[0\] \d+: committed batch=/.test(line)) lastCommit = logTime(line);
  let bytes = 0, nfiles = 0;
  const tables = {};
  for (const t of ['raw_events', 'processed_events']) {
    const d = path.join(ws.tables, t);
    if (!fs.existsSync(d)) continue;
    tables[t] = { files: 0, bytes: 0 };
    for (const f of fs.readdirSync(d))
      if (f.endsWith('.parquet')) {
        const n = fs.statSync(path.join(d, f)).size;
        bytes += n, nfiles++;
        tables[t].files++, tables[t].bytes += n;
      }
  }
  if (keepTable) keepTable.dir = path.join(ws.tables, 'raw_events'), keepTable.ws = ws;
  else cleanup(ws);
  return {
    ms: round(r.ms, 1), to_last_commit_ms: lastCommit ? round(lastCommit - r.t0, 1) : null,
    ok, ...r.mem, other_cores: r.other_cores, parquet_bytes: bytes, parquet_files: nfiles, tables,
  };
}

async function duckRun(data, threads, keepAs = null) {
  const out = keepAs || path.join(WORK, 'runs', `duck-${process.pid}.parquet`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.rmSync(out, { force: true });
  const r = await runSampled(process.execPath, [DUCK, data.dir, out, String(threads)]);
  if (!keepAs) fs.rmSync(out, { force: true });
  let j = null;
  try {
    j = JSON.parse(r.out.trim().split('\n').pop());
  } catch {
    /* reported below */
  }
  if (r.code !== 0 || !j || j.rows !== data.rows) {
    fail(`duckdb ${threads} thread(s): exit=${r.code} ${r.out.slice(-1000)}`);
    return { ms: null, ok: false };
  }
  return {
    ms: round(j.ms, 1), process_ms: round(r.ms, 1), ok: true, peak_rss_mib: r.mem.peak_rss_mib,
    hwm_mib: round(MiB(j.hwm_kib), 1), node_base_mib: round(MiB(j.base_rss_kib), 1),
    cpu_s: r.mem.cpu_s, other_cores: r.other_cores, parquet_bytes: j.out_bytes,
  };
}

/** n alternating pairs (lakesupd first on even pairs, DuckDB first on odd). */
async function pairs(name, data, workers, threads, n) {
  const L = [], D = [];
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      L.push(await lakesupdRun(`${name}-${i}`, data, workers));
      D.push(await duckRun(data, threads));
    } else {
      D.push(await duckRun(data, threads));
      L.push(await lakesupdRun(`${name}-${i}`, data, workers));
    }
    const l = L[i], d = D[i];
    log(`${name} pair ${i + 1}/${n}: lakesupd ${l.ms} ms (to last commit ${l.to_last_commit_ms}), DuckDB ${d.ms} ms, ratio ${d.ms && l.ms ? (d.ms / l.ms).toFixed(2) : '-'}, other load ${l.other_cores}/${d.other_cores} cores`);
  }
  const lm = median(L.map((x) => x.ms)), dm = median(D.map((x) => x.ms));
  const ratios = L.map((l, i) => (D[i].ms && l.ms ? D[i].ms / l.ms : null)).filter((x) => x !== null);
  return {
    rows: data.rows, json_bytes: data.bytes, workers, duckdb_threads: threads,
    lakesupd_ms: lm, duckdb_ms: dm, ratio: round(dm / lm, 3),
    ratio_min: round(Math.min(...ratios), 3), ratio_max: round(Math.max(...ratios), 3),
    lakesupd_rows_per_s: round(data.rows / (lm / 1000)), duckdb_rows_per_s: round(data.rows / (dm / 1000)),
    lakesupd_to_last_commit_ms: median(L.map((x) => x.to_last_commit_ms).filter((x) => x !== null)),
    lakesupd_cpu_s: median(L.map((x) => x.cpu_s)), duckdb_cpu_s: median(D.map((x) => x.cpu_s)),
    cpu_ratio: round(median(D.map((x) => x.cpu_s)) / median(L.map((x) => x.cpu_s)), 3),
    lakesupd_peak_rss_mib: Math.max(...L.map((x) => x.peak_rss_mib)), duckdb_peak_rss_mib: Math.max(...D.map((x) => x.peak_rss_mib || 0)),
    lakesupd_parquet_bytes: L[0].parquet_bytes, lakesupd_parquet_files: L[0].parquet_files, duckdb_parquet_bytes: D[0].parquet_bytes,
    other_cores_median: median([...L, ...D].map((x) => x.other_cores)),
    runs: { lakesupd: L, duckdb: D },
  };
}

// ---- continuous-mode helpers ----
function startDaemon(ws) {
  const child = spawn(LAKESUPD, ['start', '-c', ws.config, '--trigger', 'continuous'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const d = { child, out: '', t0: nowMs() };
  child.stdout.on('data', (x) => (d.out += x));
  child.stderr.on('data', (x) => (d.out += x));
  d.exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return d;
}
async function waitFor(fn, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = fn();
    if (v) return v;
    await sleep(5);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
async function stopDaemon(d) {
  d.child.kill('SIGTERM');
  const killer = setTimeout(() => d.child.kill('SIGKILL'), 60000);
  const r = await d.exited;
  clearTimeout(killer);
  return r;
}
function sql(db, q) {
  const r = spawnSync('sqlite3', ['-readonly', '-json', db, q], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sqlite3: ${r.stderr}`);
  return r.stdout.trim() ? JSON.parse(r.stdout) : [];
}
function committedFiles(ws) {
  try {
    return sql(ws.state, 'SELECT count(*) AS n FROM files WHERE state = 2')[0].n;
  } catch {
    return 0;
  }
}
function commitTimestamp(ws, table, version) {
  const p = path.join(ws.tables, table, '_delta_log', `${String(version).padStart(20, '0')}.json`);
  for (const line of fs.readFileSync(p, 'utf8').split('\n'))
    if (line.startsWith('{"commitInfo"')) return JSON.parse(line).commitInfo.timestamp;
  return null;
}
/** Moves staged files into the source one every periodMs; returns close times by name. */
async function feed(staging, source, names, periodMs, onTick) {
  const closed = {};
  const t0 = nowMs();
  for (let i = 0; i < names.length; i++) {
    const due = t0 + i * periodMs;
    while (nowMs() < due - 1) await sleep(Math.max(0, Math.min(due - nowMs() - 1, 20)));
    while (nowMs() < due); // the last millisecond, busy
    fs.renameSync(path.join(staging, names[i]), path.join(source, names[i]));
    closed[names[i]] = nowMs();
    if (onTick) onTick(i);
  }
  return closed;
}
function stage(name, files, rows, seed) {
  const src = dataset(name, files, rows, seed);
  const staging = path.join(WORK, 'runs', `${name}-staging-${++wsCount}`);
  const source = path.join(WORK, 'runs', `${name}-incoming-${wsCount}`);
  for (const d of [staging, source]) fs.rmSync(d, { recursive: true, force: true }), fs.mkdirSync(d, { recursive: true });
  const names = fs.readdirSync(src.dir).filter((f) => f.endsWith('.jsonl')).sort();
  for (const n of names) fs.copyFileSync(path.join(src.dir, n), path.join(staging, n));
  return { staging, source, names, rows: src.rows };
}

// ---- the benchmarks ----
const R = {};

async function benchThroughput() {
  const data = dataset('events', S.thr.files, S.thr.rows);
  R.throughput = await pairs('throughput', data, { transform: 2, writer: 2 }, 2, S.pairs);
}

// Issue 16: DuckDB querying our raw_events through its live files against the same queries on
// DuckDB's own file of the same rows (bench/reader.mjs), both written from the throughput data.
async function benchReader() {
  const data = dataset('events', S.thr.files, S.thr.rows);
  const keep = {};
  const l = await lakesupdRun('reader', data, { transform: 2, writer: 2 }, keep);
  const own = path.join(WORK, 'runs', `duck-reader-${process.pid}.parquet`);
  const d = await duckRun(data, 2, own);
  const r = spawnSync(process.execPath, [path.join(here, 'reader.mjs'), keep.dir, own, String(opt.quick ? 3 : 9)], { encoding: 'utf8' });
  cleanup(keep.ws);
  fs.rmSync(own, { force: true });
  if (r.status !== 0) return fail(`reader: ${r.stderr.slice(-2000)}`);
  const j = JSON.parse(r.stdout.trim().split('\n').pop());
  for (const [q, x] of Object.entries(j.queries)) if (!x.same) fail(`reader: ${q} answers differ between our table and DuckDB's file`);
  R.reader = { rows: data.rows, files: j.files, raw_bytes: l.tables.raw_events?.bytes, duckdb_bytes: d.parquet_bytes, queries: j.queries,
    ratio: round(median(Object.values(j.queries).map((x) => x.ratio)), 3) };
  log(`reader: ${JSON.stringify(R.reader)}`);
}

// Issue 16: auto-compaction while a continuous run streams small batches (one file per batch):
// live files before and after, the compaction's time (its log line) and the tree's peak RSS.
async function benchCompaction() {
  const n = opt.quick ? 30 : 120, min = opt.quick ? 10 : 50;
  const st = stage('compaction', n, opt.quick ? 200 : 1000, 23);
  const ws = workspace('compaction', st.source, { extra: `source:\n  max_files_per_trigger: 1\ntables:\n  compaction:\n    min_files: ${min}\n` });
  const d = startDaemon(ws);
  const sampler = new TreeSampler(d.child.pid);
  try {
    await feed(st.staging, st.source, st.names, 40);
    await waitFor(() => { const rows = committedRows(d.out); return rows.processed_events === st.rows; }, 300000, 'every row committed');
    await waitFor(() => /auto-compaction: table=raw_events version=\d+ OPTIMIZE/.test(d.out), 120000, 'a compaction of raw_events');
  } finally {
    sampler.stop();
    await stopDaemon(d);
  }
  const m = /auto-compaction: table=raw_events version=(\d+) OPTIMIZE: (\d+) files \((\d+) bytes\) into (\d+) files \((\d+) bytes\) in (\d+) ms/.exec(d.out);
  const live = sql(ws.state, "SELECT sum(files) AS n FROM commits WHERE table_name = 'raw_events'")[0]?.n;
  const hist = spawnSync(LAKESUPD, ['table', 'history', 'raw_events', '-c', ws.config, '--json'], { encoding: 'utf8' }).stdout.trim();
  const h = hist.startsWith('[') ? JSON.parse(hist) : hist.split('\n').filter(Boolean).map((x) => JSON.parse(x));
  const desc = JSON.parse(spawnSync(LAKESUPD, ['table', 'describe', 'raw_events', '-c', ws.config, '--json'], { encoding: 'utf8' }).stdout);
  R.compaction = {
    min_files: min, batches: h.filter((x) => x.operation === 'STREAMING UPDATE').length, optimize_commits: h.filter((x) => x.operation === 'OPTIMIZE').length,
    streamed_files: live ?? null, live_files_after: desc.numFiles,
    first: m ? { files_in: Number(m[2]), bytes_in: Number(m[3]), files_out: Number(m[4]), bytes_out: Number(m[5]), ms: Number(m[6]) } : null,
    peak_rss_mib: round(MiB(sampler.peakSum), 1),
  };
  log(`compaction: ${JSON.stringify(R.compaction)}`);
  cleanup(ws);
}

async function benchSingleCore() {
  const data = dataset('events', S.thr.files, S.thr.rows);
  R.single_core = await pairs('single', data, { transform: 1, writer: 1 }, 1, S.single_pairs);
}

async function benchMemory() {
  R.memory = [];
  for (const m of S.mem) {
    const data = dataset('events', m.files, m.rows);
    const l = await lakesupdRun(`memory-${data.rows}`, data, { transform: 2, writer: 2 });
    const d = await duckRun(data, 2);
    log(`memory ${data.rows} rows: lakesupd tree peak ${l.peak_rss_mib} MiB (sum of HWM ${l.sum_hwm_mib}; by role ${JSON.stringify(l.peak_by_role_mib)}; anon/file ${JSON.stringify(l.peak_anon_file_by_role_mib)}; cpu ${l.cpu_s} s), DuckDB ${d.peak_rss_mib} MiB (HWM ${d.hwm_mib})`);
    R.memory.push({
      rows: data.rows, json_bytes: data.bytes,
      lakesupd_peak_rss_mib: l.peak_rss_mib, lakesupd_sum_hwm_mib: l.sum_hwm_mib, lakesupd_procs: l.procs, lakesupd_ms: l.ms,
      lakesupd_peak_by_role_mib: l.peak_by_role_mib, lakesupd_peak_anon_file_by_role_mib: l.peak_anon_file_by_role_mib, lakesupd_cpu_s: l.cpu_s,
      duckdb_peak_rss_mib: d.peak_rss_mib, duckdb_hwm_mib: d.hwm_mib, duckdb_node_base_mib: d.node_base_mib, duckdb_ms: d.ms,
    });
  }
}

async function benchLatency() {
  const st = stage('latency', S.lat.files, S.lat.rows, 11);
  const ws = workspace('latency', st.source);
  const d = startDaemon(ws);
  try {
    await waitFor(() => /all \d+ workers ready/.test(d.out), 30000, 'readiness');
    const closed = await feed(st.staging, st.source, st.names, 50);
    await waitFor(() => committedFiles(ws) >= st.names.length, 120000, 'every file committed');
    await stopDaemon(d);
    const rowsByFile = sql(
      ws.state,
      'SELECT f.path AS path, f.batch_id AS batch, f.discovered_at_us AS disc_us, b.planned_at_us AS plan_us, ' +
        'c.table_name AS tbl, c.version AS version, c.committed_at_us AS at_us ' +
        'FROM files f JOIN commits c ON c.batch_id = f.batch_id JOIN batches b ON b.id = f.batch_id ORDER BY f.path'
    );
    const lat = {}, latState = {}, batches = new Set(), stages = {};
    for (const r of rowsByFile) {
      const name = path.basename(r.path);
      const ts = commitTimestamp(ws, r.tbl, r.version);
      lat[name] = Math.max(lat[name] ?? -Infinity, ts - closed[name]);
      latState[name] = Math.max(latState[name] ?? -Infinity, r.at_us / 1000 - closed[name]);
      const s = (stages[name] ??= { discovered: r.disc_us / 1000 - closed[name], planned: r.plan_us / 1000 - closed[name], commit: -Infinity });
      s.commit = Math.max(s.commit, ts - closed[name]);
      batches.add(r.batch);
    }
    const names = st.names.slice(S.lat.warmup);
    const stage = (k) => round(median(names.filter((n) => stages[n]).map((n) => stages[n][k])), 1);
    const a = names.map((n) => lat[n]).filter((x) => x !== undefined);
    const b = names.map((n) => latState[n]).filter((x) => x !== undefined);
    const rows = committedRows(d.out);
    if (a.length !== names.length || rows.raw_events !== st.rows || rows.processed_events !== st.rows)
      fail(`latency: ${a.length}/${names.length} files measured, rows ${JSON.stringify(rows)} expected ${st.rows}`);
    R.latency = {
      files: st.names.length, events_per_file: S.lat.rows, period_ms: 50, warmup_files: S.lat.warmup, batches: batches.size,
      p50_ms: round(median(a), 1), p99_ms: round(pct(a, 99), 1), max_ms: round(Math.max(...a), 1), min_ms: round(Math.min(...a), 1),
      state_p50_ms: round(median(b), 1), state_p99_ms: round(pct(b, 99), 1),
      // where the time goes (medians, ms after the close): discovered by a
      // listing, planned into a batch, committed to both tables
      breakdown_ms: { discovered: stage('discovered'), planned: stage('planned'), committed: stage('commit') },
      how: 'close = rename of a complete file into source_path; commit = max over both tables of commitInfo.timestamp of the version holding the file (state.db files.batch_id -> commits.version); state_* = state.db commits.committed_at_us (after the Delta commit is recorded)',
    };
    log(`latency: p50 ${R.latency.p50_ms} ms, p99 ${R.latency.p99_ms} ms over ${a.length} files in ${batches.size} batches; median close -> discovered ${R.latency.breakdown_ms.discovered}, planned ${R.latency.breakdown_ms.planned}, committed ${R.latency.breakdown_ms.committed} ms`);
  } finally {
    if (d.child.exitCode === null) await stopDaemon(d);
    cleanup(ws);
    for (const x of [st.staging, st.source]) fs.rmSync(x, { recursive: true, force: true });
  }
}

function workerPid(supervisorPid, role, index) {
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const s = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      if (Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) !== supervisorPid) continue;
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      const k = cmd.indexOf('worker');
      if (k >= 0 && cmd[k + 1] === role && cmd[k + 2] === String(index)) return Number(p);
    } catch {
      /* gone */
    }
  }
  return null;
}

/** One daemon, one kill -9 of transform 0 under a steady feed; times from the logs. */
async function recoveryTrial(trial) {
  const st = stage('recovery', S.rec.files, S.rec.rows, 13);
  const ws = workspace('recovery', st.source);
  const d = startDaemon(ws);
  let kill = null;
  try {
    await waitFor(() => /all \d+ workers ready/.test(d.out), 30000, 'readiness');
    await feed(st.staging, st.source, st.names, 50, (i) => {
      if (i !== S.rec.killAt) return;
      const pid = workerPid(d.child.pid, 'transform', 0);
      if (pid) {
        kill = { pid, at: nowMs() };
        process.kill(pid, 'SIGKILL');
      }
    });
    await waitFor(() => committedFiles(ws) >= st.names.length, 180000, 'every file committed');
    await stopDaemon(d);
    if (!kill) throw new Error('no transform to kill');
    const lines = d.out.split('\n');
    const find = (re, after = 0) => {
      for (const l of lines) if (re.test(l) && logTime(l) >= after) return { t: logTime(l), line: l };
      return null;
    };
    const killMs = Math.floor(kill.at);
    const exited = find(new RegExp(`worker role=transform index=0 pid=${kill.pid} exited unexpectedly`));
    const started = find(/started worker role=transform index=0 pid=(\d+)/, killMs);
    const newPid = started && started.line.match(/pid=(\d+)/)[1];
    const ready = newPid ? find(new RegExp(`transform\\[0\\] ${newPid}: ready`)) : null;
    const commitAfterKill = find(/committer\[0\] \d+: committed batch=/, killMs);
    const commitAfterReady = ready ? find(/committer\[0\] \d+: committed batch=/, ready.t) : null;
    const rows = committedRows(d.out);
    // exactly once, after a kill: every row once in each table (state.db as well)
    const stRows = sql(ws.state, 'SELECT table_name AS t, sum(rows) AS n FROM commits GROUP BY table_name');
    const okRows = stRows.length === 2 && stRows.every((r) => r.n === st.rows);
    if (!okRows) fail(`recovery ${trial}: rows ${JSON.stringify(stRows)} (log ${JSON.stringify(rows)}) expected ${st.rows} per table`);
    const backoff = exited && exited.line.match(/restart \d+ in (\d+) ms/);
    const t = {
      detect_ms: exited ? exited.t - killMs : null,
      restart_ms: started ? started.t - killMs : null,
      ready_ms: ready ? ready.t - killMs : null,
      first_commit_after_kill_ms: commitAfterKill ? commitAfterKill.t - killMs : null,
      next_commit_ms: commitAfterReady ? commitAfterReady.t - killMs : null,
      supervisor_backoff_ms: backoff ? Number(backoff[1]) : null,
      exactly_once: okRows,
    };
    log(`recovery ${trial}: restart ${t.restart_ms} ms (backoff ${t.supervisor_backoff_ms}), ready ${t.ready_ms} ms, next commit ${t.next_commit_ms} ms, exactly once ${okRows}`);
    return t;
  } finally {
    if (d.child.exitCode === null) await stopDaemon(d);
    cleanup(ws);
    for (const x of [st.staging, st.source]) fs.rmSync(x, { recursive: true, force: true });
  }
}

async function benchRecovery() {
  const trials = [];
  for (let i = 0; i < S.rec.trials; i++) trials.push(await recoveryTrial(i + 1));
  const med = (k) => median(trials.map((t) => t[k]).filter((x) => x !== null));
  const max = (k) => Math.max(...trials.map((t) => t[k]).filter((x) => x !== null));
  R.recovery = {
    trials: trials.length, events_per_file: S.rec.rows, period_ms: 50, killed_after_files: S.rec.killAt,
    detect_ms: med('detect_ms'), restart_ms: med('restart_ms'), restart_max_ms: max('restart_ms'), ready_ms: med('ready_ms'),
    first_commit_after_kill_ms: med('first_commit_after_kill_ms'), next_commit_ms: med('next_commit_ms'), next_commit_max_ms: max('next_commit_ms'),
    supervisor_backoff_ms: med('supervisor_backoff_ms'), exactly_once: trials.every((t) => t.exactly_once), runs: trials,
    how: 'each trial its own daemon; kill -9 of transform 0 at a measured wall time; restart = supervisor "started worker role=transform index=0" line; next commit = first committer commit logged after the new transform is ready (log times are ms); medians over the trials',
  };
}

async function benchStartup() {
  const ext = [], internal = [];
  for (let i = 0; i < S.startups; i++) {
    const source = path.join(WORK, 'runs', `startup-incoming`);
    fs.rmSync(source, { recursive: true, force: true });
    fs.mkdirSync(source, { recursive: true });
    const ws = workspace('startup', source);
    const d = startDaemon(ws);
    try {
      const m = await waitFor(() => d.out.match(/^(\S+) INFO supervisor\[0\] \d+: all (\d+) workers ready in (\d+) ms/m), 30000, 'readiness');
      ext.push(Date.parse(m[1]) - d.t0);
      internal.push(Number(m[3]));
      R.startup_workers = Number(m[2]);
    } finally {
      await stopDaemon(d);
      cleanup(ws);
    }
  }
  R.startup = {
    runs: S.startups, workers: R.startup_workers,
    spawn_to_ready_ms: round(median(ext), 1), spawn_to_ready_max_ms: round(Math.max(...ext), 1),
    supervisor_reported_ms: median(internal),
    how: 'spawn of `lakesupd start` (continuous, empty source) to the log time of "all N workers ready" (every worker sent READY); supervisor_reported = the N ms in that line (from after config, lock and sockets)',
  };
  log(`startup: ${R.startup.spawn_to_ready_ms} ms (supervisor says ${R.startup.supervisor_reported_ms} ms)`);
}

async function benchScaling() {
  const data = dataset('events', S.scaling.files, S.scaling.rows);
  const configs = [];
  for (const t of [1, 2, 3]) for (const w of [1, 2]) configs.push({ transform: t, writer: w });
  // rounds over every configuration, a DuckDB run between two lakesupd runs;
  // each lakesupd run is compared with the mean of the DuckDB runs on either side
  const runs = configs.map(() => []);
  let prev = await duckRun(data, 2);
  for (let rep = 0; rep < S.scaling_reps; rep++) {
    for (let k = 0; k < configs.length; k++) {
      const c = configs[k];
      const l = await lakesupdRun(`scaling-t${c.transform}w${c.writer}`, data, c);
      const next = await duckRun(data, 2);
      const ref = (prev.ms + next.ms) / 2;
      prev = next;
      runs[k].push({ ...l, ref });
      log(`scaling t${c.transform} w${c.writer} (${rep + 1}/${S.scaling_reps}): ${l.ms} ms, ${round(data.rows / (l.ms / 1000))} rows/s, cpu ${l.cpu_s} s, ratio ${round(ref / l.ms, 2)}, other load ${l.other_cores}`);
    }
  }
  const rows = configs.map((c, k) => {
    const r = runs[k], ms = median(r.map((x) => x.ms));
    return {
      transform: c.transform, writer: c.writer, lakesupd_ms: ms, duckdb_ms: round(median(r.map((x) => x.ref)), 1),
      ratio: round(median(r.map((x) => x.ref / x.ms)), 3), rows_per_s: round(data.rows / (ms / 1000)),
      cpu_s: median(r.map((x) => x.cpu_s)), peak_rss_mib: Math.max(...r.map((x) => x.peak_rss_mib)),
      other_cores: median(r.map((x) => x.other_cores)), reps: r.length,
    };
  });
  R.scaling = { rows: data.rows, duckdb_threads: 2, reps: S.scaling_reps, configs: rows };
}

function runProgram(name, args) {
  const r = spawnSync(path.join(BUILD, name), args, { encoding: 'utf8', timeout: 600000 });
  if (r.status !== 0) {
    fail(`${name} ${args.join(' ')}: exit ${r.status} ${r.stderr}`);
    return '';
  }
  return r.stdout;
}
function kv(line) {
  const o = {};
  for (const m of line.matchAll(/(\w+)=([\d.]+)/g)) o[m[1]] = Number(m[2]);
  return o;
}

async function benchMicro() {
  const M = {};
  const tmp = path.join(WORK, 'micro');
  fs.mkdirSync(tmp, { recursive: true });
  // JSON: the full reader vs yajl visiting tokens, jansson and json-c
  M.json = [];
  const jsonOut = runProgram('bench_json', ['--rows', String(S.micro.json)]) + runProgram('bench_jsonc', ['--rows', String(S.micro.json)]);
  for (const m of jsonOut.matchAll(/^(.+?)\s+(\d+) MB\/s\s+(\d+) rows\/s/gm))
    M.json.push({ parser: m[1].trim(), mb_per_s: Number(m[2]), rows_per_s: Number(m[3]) });
  // msgpack RECORDS message
  const msg = runProgram('bench_msg', [String(S.micro.msg)]);
  const g = (re) => {
    const m = msg.match(re);
    return m ? Number(m[1]) : null;
  };
  M.msg = {
    rows: S.micro.msg, encode_m_records_per_s: g(/encode: .*?([\d.]+) M records\/s/), decode_m_records_per_s: g(/decode: .*?([\d.]+) M records\/s/),
    round_trip_m_records_per_s: g(/round trip: ([\d.]+) M records\/s/), encode_mb_per_s: g(/encode: .*? ([\d.]+) MB\/s/),
  };
  // Parquet per codec
  M.parquet = [];
  for (const codec of ['zstd', 'snappy', 'gzip', 'uncompressed']) {
    const out = runProgram('bench_parquet', [String(S.micro.pq), codec, tmp]);
    const e = out.match(/encode: [\d.]+ s\s+(\d+) rows\/s\s+([\d.]+) MB\/s/);
    const dd = out.match(/decode: [\d.]+ s\s+(\d+) rows\/s\s+([\d.]+) MB\/s/);
    const f = out.match(/raw=([\d.]+) MB file=([\d.]+) MB/);
    if (e && dd && f)
      M.parquet.push({ codec, rows: S.micro.pq, encode_rows_per_s: Number(e[1]), encode_mb_per_s: Number(e[2]), decode_rows_per_s: Number(dd[1]), decode_mb_per_s: Number(dd[2]), raw_mb: Number(f[1]), file_mb: Number(f[2]) });
  }
  M.delta = kv(runProgram('bench_delta', ['--commits', String(S.micro.delta), '--dir', tmp]));
  M.state = kv(runProgram('bench_state', ['--batches', String(S.micro.state), '--dir', tmp]));
  R.micro = M;
  log('micro: done');
}

// ---- report ----
const fmt = (x, d = 0) => (x === null || x === undefined ? '-' : Number(x).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
/** CPU ticks (user + system) and RSS (KiB) of pid. */
function procUsage(pid) {
  const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  return { ticks: Number(f[11]) + Number(f[12]), rss_kib: rss };
}
/** GET of url on loopback: {status, ms, bytes}. */
function httpGet(url) {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    http.get(url, (res) => {
      let bytes = 0;
      res.on('data', (c) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode, ms: nowMs() - t0, bytes }));
    }).on('error', reject);
  });
}

/** The monitor's cost (issue 14): its CPU and RSS while the pipeline takes 20 k events/s and
    /metrics is scraped every second, the dashboard's three requests every 2 s. */
async function benchMonitor() {
  const st = stage('monitor', S.mon.files, S.mon.rows, 17);
  const ws = workspace('monitor', st.source, { extra: 'monitor:\n  http: "127.0.0.1:0"\n' });
  const d = startDaemon(ws);
  let stop = false;
  const scrapes = [], polls = [];
  try {
    await waitFor(() => /all \d+ workers ready/.test(d.out), 30000, 'readiness');
    const base = (await waitFor(() => /http: serving (http:\/\/[0-9.:]+)\//.exec(d.out), 30000, 'the endpoint'))[1];
    const mon = workerPid(d.child.pid, 'monitor', 0);
    const scraper = (async () => {
      for (let i = 0; !stop; i++) {
        const r = await httpGet(`${base}/metrics`);
        if (r.status !== 200) fail(`monitor: /metrics ${r.status}`);
        scrapes.push(r.ms);
        if (i % 2 === 0)
          for (const u of ['status', 'progress?last=15', 'series']) polls.push((await httpGet(`${base}/${u}`)).ms);
        await sleep(1000);
      }
    })();
    const samples = [];
    const sampler = setInterval(() => samples.push({ t: nowMs(), ...procUsage(mon) }), 1000);
    const t0 = nowMs(), u0 = procUsage(mon);
    await feed(st.staging, st.source, st.names, S.mon.period_ms);
    await waitFor(() => committedFiles(ws) >= st.names.length, 120000, 'every file committed');
    const t1 = nowMs(), u1 = procUsage(mon);
    clearInterval(sampler);
    stop = true;
    await scraper;
    const secs = (t1 - t0) / 1000;
    const rss = samples.map((x) => x.rss_kib);
    const third = Math.max(1, Math.floor(rss.length / 3));
    R.monitor = {
      files: st.names.length, events: st.rows, seconds: round(secs, 1), events_per_s: round(st.rows / secs),
      cpu_s: round((u1.ticks - u0.ticks) / HZ, 2), cpu_pct_of_core: round(((u1.ticks - u0.ticks) / HZ / secs) * 100, 2),
      rss_first_third_mib: round(MiB(median(rss.slice(0, third))), 1), rss_last_third_mib: round(MiB(median(rss.slice(-third))), 1),
      rss_max_mib: round(MiB(Math.max(...rss)), 1), scrapes: scrapes.length,
      scrape_p50_ms: round(median(scrapes), 2), scrape_p99_ms: round(pct(scrapes, 99), 2), dashboard_poll_p50_ms: round(median(polls), 2),
      how: 'monitor worker utime+stime (/proc/PID/stat) over the feed, VmRSS sampled every second; /metrics fetched every 1 s and /status, /progress?last=15, /series every 2 s on loopback while 2,000-event files arrive every 100 ms',
    };
    log(`monitor: ${R.monitor.cpu_pct_of_core} % of a core at ${fmt(R.monitor.events_per_s)} events/s; RSS ${R.monitor.rss_first_third_mib} -> ${R.monitor.rss_last_third_mib} MiB (max ${R.monitor.rss_max_mib}); scrape p50 ${R.monitor.scrape_p50_ms} ms, p99 ${R.monitor.scrape_p99_ms} ms`);
  } finally {
    stop = true;
    if (d.child.exitCode === null) await stopDaemon(d);
    cleanup(ws);
    for (const x of [st.staging, st.source]) fs.rmSync(x, { recursive: true, force: true });
  }
}

function tableRows() {
  const rows = []; // [benchmark, measure, lakesupd, reference, ratio, target]
  const t = R.throughput;
  if (t)
    rows.push(['throughput', `${fmt(t.rows)} rows / ${t.json_bytes ? fmt(t.json_bytes / 1e6) : '?'} MB, 2 transforms + 2 writers, both tables; median of ${t.runs.lakesupd.length} pairs`,
      `${fmt(t.lakesupd_ms)} ms (${fmt(t.lakesupd_rows_per_s)} rows/s; ${fmt(t.lakesupd_cpu_s, 2)} CPU s)`, `DuckDB 2 threads ${fmt(t.duckdb_ms)} ms (${fmt(t.duckdb_cpu_s, 2)} CPU s)`, `${fmt(t.ratio, 2)} (${fmt(t.ratio_min, 2)}–${fmt(t.ratio_max, 2)}); CPU-s ${fmt(t.cpu_ratio, 2)}`, '≥ 1.0']);
  if (t && t.runs.lakesupd[0].tables) {
    const tb = t.runs.lakesupd[0].tables;
    rows.push(['files', 'data files per table after the throughput run (one batch)', Object.entries(tb).map(([k, v]) => `${k} ${v.files}`).join(', '), 'DuckDB 1 file', '—', '≤ 2 per table per batch']);
    rows.push(['bytes', 'bytes per table after the throughput run', Object.entries(tb).map(([k, v]) => `${k} ${fmt(v.bytes)}`).join(', '), `DuckDB ${fmt(t.duckdb_parquet_bytes)}`,
      `${fmt(t.duckdb_parquet_bytes / (tb.raw_events?.bytes || NaN), 2)} (raw_events)`, 'raw_events ≤ DuckDB']);
  }
  const rd = R.reader;
  if (rd)
    rows.push(['reader', `DuckDB over raw_events' ${rd.files} live files vs its own file: ${Object.entries(rd.queries).map(([q, x]) => `${q} ${fmt(x.ours_ms, 1)} vs ${fmt(x.duckdb_ms, 1)} ms`).join('; ')}`,
      `${Object.values(rd.queries).map((x) => fmt(x.ours_ms, 1)).join(' / ')} ms`, `${Object.values(rd.queries).map((x) => fmt(x.duckdb_ms, 1)).join(' / ')} ms`, Object.entries(rd.queries).map(([q, x]) => `${q} ${fmt(x.ratio, 2)}`).join(', '), '≥ 0.9']);
  const cp = R.compaction;
  if (cp)
    rows.push(['compaction', `continuous, ${cp.batches} one-file batches, tables.compaction.min_files ${cp.min_files}`,
      cp.first ? `${cp.first.files_in} files (${fmt(cp.first.bytes_in)} B) → ${cp.first.files_out} in ${fmt(cp.first.ms)} ms; ${cp.live_files_after} live files after ${cp.batches} batches; peak RSS ${fmt(cp.peak_rss_mib)} MiB` : 'no compaction',
      '—', '—', 'compacted while streaming']);
  const s = R.single_core;
  if (s)
    rows.push(['single core', `transform 1, writer 1; median of ${s.runs.lakesupd.length} pairs`, `${fmt(s.lakesupd_ms)} ms (${fmt(s.lakesupd_rows_per_s)} rows/s; ${fmt(s.lakesupd_cpu_s, 2)} CPU s)`,
      `DuckDB 1 thread ${fmt(s.duckdb_ms)} ms (${fmt(s.duckdb_cpu_s, 2)} CPU s)`, `${fmt(s.ratio, 2)} (${fmt(s.ratio_min, 2)}–${fmt(s.ratio_max, 2)}); CPU-s ${fmt(s.cpu_ratio, 2)}`, '≥ 1.0']);
  for (const m of R.memory || [])
    rows.push(['memory', `peak RSS, whole tree, ${fmt(m.rows)} rows backlog`, `${fmt(m.lakesupd_peak_rss_mib)} MiB (sum of per-process peaks ${fmt(m.lakesupd_sum_hwm_mib)}; ${Object.entries(m.lakesupd_peak_by_role_mib || {}).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')})`,
      `DuckDB ${fmt(m.duckdb_peak_rss_mib)} MiB (incl. Node ${fmt(m.duckdb_node_base_mib)})`, `${fmt(m.duckdb_peak_rss_mib / m.lakesupd_peak_rss_mib, 2)}`, '< 256 MiB, flat']);
  const l = R.latency;
  if (l)
    rows.push(['latency', `continuous, ${l.events_per_file} events/file every ${l.period_ms} ms, ${l.files - l.warmup_files} files`, `p50 ${fmt(l.p50_ms, 1)} ms, p99 ${fmt(l.p99_ms, 1)} ms (median: listed +${fmt(l.breakdown_ms.discovered)}, planned +${fmt(l.breakdown_ms.planned)} ms)`, '—', '—', 'p50 < 20 ms, p99 < 50 ms']);
  const r = R.recovery;
  if (r)
    rows.push(['recovery', `kill -9 transform 0 under load (${r.events_per_file * 20} events/s), median of ${r.trials}`, `restart ${fmt(r.restart_ms)} ms (max ${fmt(r.restart_max_ms)}; supervisor backoff ${fmt(r.supervisor_backoff_ms)}), next commit ${fmt(r.next_commit_ms)} ms (max ${fmt(r.next_commit_max_ms)})${r.exactly_once ? ', exactly once' : ', ROWS WRONG'}`, '—', '—', 'restart < 100 ms, commit < 1 s']);
  const u = R.startup;
  if (u) rows.push(['start-up', `lakesupd start → ${u.workers} workers ready, median of ${u.runs}`, `${fmt(u.spawn_to_ready_ms)} ms (supervisor: ${fmt(u.supervisor_reported_ms)} ms)`, '—', '—', '< 300 ms']);
  for (const c of R.scaling?.configs || [])
    rows.push(['scaling', `transform ${c.transform}, writer ${c.writer}, ${fmt(R.scaling.rows)} rows, median of ${c.reps}`, `${fmt(c.lakesupd_ms)} ms (${fmt(c.rows_per_s)} rows/s, ${fmt(c.cpu_s, 1)} CPU s)`, `DuckDB 2 threads ${fmt(c.duckdb_ms)} ms`, fmt(c.ratio, 2), 'curve']);
  const mo = R.monitor;
  if (mo)
    rows.push(['monitor', `monitor worker at ${fmt(mo.events_per_s)} events/s, /metrics every 1 s + dashboard polls, ${fmt(mo.seconds)} s`,
      `${fmt(mo.cpu_pct_of_core, 2)} % of a core; RSS ${fmt(mo.rss_first_third_mib, 1)} → ${fmt(mo.rss_last_third_mib, 1)} MiB (max ${fmt(mo.rss_max_mib, 1)}); scrape p50 ${fmt(mo.scrape_p50_ms, 1)} ms, p99 ${fmt(mo.scrape_p99_ms, 1)} ms`,
      '—', '—', '< 2 % of a core, RSS flat']);
  const M = R.micro;
  if (M) {
    const full = M.json.find((x) => /lk_json_reader/.test(x.parser));
    const yajl = M.json.find((x) => /yajl/.test(x.parser));
    for (const j of M.json)
      rows.push(['micro: JSON', j.parser, `${fmt(j.mb_per_s)} MB/s, ${fmt(j.rows_per_s)} rows/s`, j === full ? `yajl visit ${fmt(yajl?.mb_per_s)} MB/s` : '—', j === full && yajl ? fmt(full.mb_per_s / yajl.mb_per_s, 2) : '—', '—']);
    if (M.msg.encode_m_records_per_s !== null)
      rows.push(['micro: msgpack', `RECORDS batch, ${fmt(M.msg.rows)} rows`, `encode ${fmt(M.msg.encode_m_records_per_s, 1)} M rec/s, decode ${fmt(M.msg.decode_m_records_per_s, 1)} M rec/s`, 'limit ~5 M rec/s round trip', fmt(M.msg.round_trip_m_records_per_s / 5, 1), '—']);
    for (const p of M.parquet)
      rows.push(['micro: Parquet', `${p.codec}, ${fmt(p.rows)} rows, one core`, `encode ${fmt(p.encode_rows_per_s)} rows/s (${fmt(p.encode_mb_per_s)} MB/s), decode ${fmt(p.decode_rows_per_s)} rows/s`, `file ${fmt(p.file_mb, 1)} MB of ${fmt(p.raw_mb, 1)} MB`, '—', '—']);
    if (M.delta.commit_median_us)
      rows.push(['micro: Delta commit', `${M.delta.files_per_commit} adds + txn, fsync, median of ${M.delta.commits}`, `${fmt(M.delta.commit_median_us)} µs (p90 ${fmt(M.delta.commit_p90_us)})`, `bare fsync put ${fmt(M.delta.bare_fsync_put_median_us)} µs`, fmt(M.delta.bare_fsync_put_median_us / M.delta.commit_median_us, 2), '~300 µs']);
    if (M.state.plan_median_us)
      rows.push(['micro: state.db', `${M.state.files_per_batch} files: add + plan + seal / record 2 commits + mark`, `plan ${fmt(M.state.plan_median_us)} µs, commit ${fmt(M.state.commit_median_us)} µs`, `bare fsync put ${fmt(M.delta?.bare_fsync_put_median_us)} µs`, '—', '—']);
  }
  return rows;
}

function markdownTable(rows) {
  const h = ['benchmark', 'what', 'lakesupd', 'reference (same run)', 'ratio', 'target'];
  return [`| ${h.join(' | ')} |`, `|${h.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function printTable(rows) {
  const h = ['benchmark', 'what', 'lakesupd', 'reference', 'ratio', 'target'];
  const all = [h, ...rows];
  const w = h.map((_, i) => Math.min(60, Math.max(...all.map((r) => String(r[i]).length))));
  const line = (r) => r.map((c, i) => String(c).padEnd(w[i])).join('  ');
  console.log(line(h));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) console.log(line(r));
}

// ---- main ----
const git = (args) => {
  try {
    return execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
};
let result;
if (opt.from) {
  // a report of a saved run: the same table and summary, nothing measured
  result = JSON.parse(fs.readFileSync(opt.from, 'utf8'));
  for (const k of ['throughput', 'single_core', 'memory', 'latency', 'recovery', 'startup', 'scaling', 'micro', 'monitor', 'reader', 'compaction'])
    if (result[k]) R[k] = result[k];
  failures.push(...(result.failures || []));
} else {
  const tStart = Date.now();
  fs.mkdirSync(WORK, { recursive: true });
  const buildType = ensureBuilt();
  const load0 = os.loadavg();
  const cpu0 = cpuStat();
  for (const [name, fn] of [
    ['throughput', benchThroughput], ['single_core', benchSingleCore], ['memory', benchMemory], ['latency', benchLatency],
    ['recovery', benchRecovery], ['startup', benchStartup], ['scaling', benchScaling], ['micro', benchMicro],
    ['monitor', benchMonitor], ['reader', benchReader], ['compaction', benchCompaction],
  ]) {
    if (!want(name)) continue;
    log(`== ${name}`);
    try {
      await fn();
    } catch (e) {
      fail(`${name}: ${e.stack || e}`);
    }
  }
  const cpu1 = cpuStat();
  const machine = {
    cores: os.cpus().length, cpu: os.cpus()[0]?.model, memory_gib: round(os.totalmem() / 2 ** 30, 1), kernel: os.release(),
    loadavg_start: load0.map((x) => round(x, 2)), loadavg_end: os.loadavg().map((x) => round(x, 2)),
    busy_cores_avg: round(((cpu1.total - cpu1.idle) - (cpu0.total - cpu0.idle)) / (cpu1.total - cpu0.total) * os.cpus().length, 2),
  };
  result = {
    date: new Date().toISOString(), quick: opt.quick, commit: git(['rev-parse', 'HEAD']), dirty: git(['status', '--porcelain']) !== '',
    build_type: buildType, duration_s: round((Date.now() - tStart) / 1000, 1), machine, failures, ...R,
  };
}
const { machine } = result;
const rows = tableRows();
console.log('');
printTable(rows);
console.log(`\nmachine: ${machine.cores} cores (${machine.cpu}), ${machine.memory_gib} GiB; load ${machine.loadavg_start.join('/')} -> ${machine.loadavg_end.join('/')}; commit ${result.commit.slice(0, 12)}${result.dirty ? '+dirty' : ''}; ${result.duration_s} s`);
if (!opt.from) {
  const resultsPath = path.join(here, opt.quick ? 'results-quick.json' : 'results.json');
  fs.writeFileSync(resultsPath, JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${path.relative(ROOT, resultsPath)}`);
}
if (opt.docs) {
  const noise = [R.throughput, R.single_core].filter(Boolean).map((x) => fmt(x.other_cores_median, 2));
  const md =
    `\n## ${result.date.slice(0, 10)} — \`bench/run\`${result.quick ? ' --quick' : ''} (commit ${result.commit.slice(0, 12)}${result.dirty ? ', with local changes' : ''}), ` +
    `${machine.cores} cores / ${machine.memory_gib} GiB\n\n` +
    `${machine.cpu}, kernel ${machine.kernel}, build ${result.build_type}, ${result.duration_s} s. Load average ${machine.loadavg_start.join(' / ')} at the start, ` +
    `${machine.loadavg_end.join(' / ')} at the end; other processes kept ${noise.length ? noise.join(' and ') : '?'} cores busy (median) during the timed pairs. ` +
    `Reference: DuckDB (\`@duckdb/node-api\`) \`COPY (SELECT * FROM read_json_auto(...)) TO ... (FORMAT parquet, COMPRESSION zstd)\`, ` +
    `measured in the same run, alternating; ratio = DuckDB time / lakesupd time (lakesupd: \`lakesupd start\` to its exit). ` +
    `Raw numbers: \`bench/results.json\` of that commit.\n\n` +
    markdownTable(rows) + '\n' + (failures.length ? `\nFailures: ${failures.map((f) => f.split('\n')[0]).join('; ')}\n` : '');
  fs.appendFileSync(path.join(ROOT, 'docs', 'benchmarks.md'), md);
  console.log('appended the summary to docs/benchmarks.md');
}
if (failures.length) {
  console.error(`\n${failures.length} failure(s):\n- ${failures.map((f) => f.split('\n')[0]).join('\n- ')}`);
  process.exit(1);
}
