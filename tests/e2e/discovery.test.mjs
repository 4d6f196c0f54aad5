// End-to-end tests of discovery (issue 5 "Discovery"): inotify and listing, a slow writer, clean_source
// delete/move only after commit, `lakesupd source list`, allow_overwrites. Real daemon, real files;
// every table checked with DuckDB (verify.mjs: every event exactly once).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { assertVerified, gen, rowsOf, run, runningWorker, sleep, startDaemon, status, until, waitAllRunning, waitLog, workspace } from './lib/daemon.mjs';
import { query, queryTable, readTableSql, replay } from './lib/delta.mjs';

const sourceList = (config, extra = []) => {
  const r = run(['source', 'list', '-c', config, '--json', ...extra], { timeoutMs: 60000 });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
};

const lines = (prefix, n, start = 0) => {
  const out = [];
  for (let i = start; i < start + n; i++)
    out.push(JSON.stringify({ event_id: `${prefix}-${i}`, user_id: i, event_type: 'click', ts: '2026-11-24T09:30:00.000Z',
      amount: 1.5, country: 'FR', device: { os: 'ios', version: '1.0' }, message: `m${i}` }));
  return out.join('\n') + '\n';
};

test('inotify: files closed while running are taken at once; files present at start by the listing; exactly once', async () => {
  // file_ready_delay 30s: a listing could not take a fresh file within the test's bounds, so only
  // the close/rename events can; present-at-start files are aged, so the first listing takes them
  // log_level debug: the test waits for "watching new directory" before writing into it
  const ws = workspace('inotify', {
    extra: 'log_level: debug\nsource:\n  file_ready_delay: 30s\n  path_glob_filter: "*.jsonl"\n',
  });
  gen(['--out', ws.input, '--files', '2', '--rows', '300', '--seed', '501', '--prefix', 'start']);
  const old = new Date(Date.now() - 3600 * 1000);
  for (const f of fs.readdirSync(ws.input)) fs.utimesSync(path.join(ws.input, f), old, old);
  fs.writeFileSync(path.join(ws.input, 'ignored.txt'), lines('ignored', 5)); // not *.jsonl
  const d = startDaemon(['-c', ws.config]);
  try {
    await waitAllRunning(ws.config);
    await until(() => rowsOf(ws.config, 'processed_events') === 600, 20000, '600 rows from the files present at start');
    await waitLog(d, /first listing done: 2 new file\(s\)/);
    await waitLog(d, /notifications=inotify/);
    // a file written in one go (open, write, close) and one renamed into place
    const latencies = [];
    for (let i = 0; i < 4; i++) {
      const name = `live-${i}.jsonl`;
      if (i % 2 === 0) {
        fs.writeFileSync(path.join(ws.input, name), lines(`live${i}`, 200));
      } else {
        fs.writeFileSync(path.join(ws.dir, name), lines(`live${i}`, 200));
        fs.renameSync(path.join(ws.dir, name), path.join(ws.input, name));
      }
      const closed = Date.now();
      const f = await until(() => sourceList(ws.config).find((x) => x.path.endsWith(name)), 20000, `${name} discovered`);
      latencies.push(Date.parse(f.discovered_at) - closed);
    }
    // a new subdirectory is watched: written once the watch exists (a file that lands before it is
    // found by listing the new directory, which waits file_ready_delay, 30 s here)
    fs.mkdirSync(path.join(ws.input, '2026-11-30'));
    await waitLog(d, /watching new directory=.*\/2026-11-30\b/, 30000);
    fs.writeFileSync(path.join(ws.input, '2026-11-30', 'nested.jsonl'), lines('nested', 100));
    await until(() => rowsOf(ws.config, 'processed_events') === 600 + 800 + 100, 30000, '1500 rows');
    console.log(`# discovery latency after close/rename (ms): ${latencies.join(', ')}`);
    // no timing target here (bench/run measures latency): taken well before the 30 s a listing
    // would need, so by the close/rename event
    for (const l of latencies) assert.ok(l < 15000, `taken ${l} ms after close (listing would need 30 s)`);
    assert.equal(run(['stop', '-c', ws.config]).code, 0);
    assert.equal((await d.exited).code, 0, d.logs());
    const files = sourceList(ws.config);
    assert.equal(files.length, 7);
    assert.ok(files.every((f) => f.state === 'committed'), JSON.stringify(files));
    assert.ok(!files.some((f) => f.path.endsWith('ignored.txt')));
    // the nested file is checked by its own directory; the top level by verify.mjs
    fs.renameSync(path.join(ws.input, '2026-11-30', 'nested.jsonl'), path.join(ws.input, 'nested.jsonl'));
    fs.rmSync(path.join(ws.input, 'ignored.txt'));
    assertVerified(ws, 'raw');
    assertVerified(ws, 'processed');
  } finally {
    d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('a file written slowly with pauses (listing every 200 ms, ready delay 100 ms) is taken only once closed', async () => {
  const ws = workspace('slow', { extra: 'source:\n  file_ready_delay: 100ms\n  backfill_interval: 200ms\n' });
  const d = startDaemon(['-c', ws.config]);
  try {
    await waitAllRunning(ws.config);
    // ingest is READY before its first listing, which sets the inotify watches: a write before
    // them is not seen, and the pauses below would let a listing take the open file
    await waitLog(d, /first listing done/, 30000);
    const f = path.join(ws.input, 'slow.jsonl');
    const fd = fs.openSync(f, 'w');
    for (let part = 0; part < 3; part++) {
      fs.writeSync(fd, lines('slow', 100, part * 100));
      await sleep(1500); // many listings and ready delays pass while it is open
      assert.equal(sourceList(ws.config).length, 0, 'not taken while open');
    }
    fs.closeSync(fd);
    await until(() => rowsOf(ws.config, 'processed_events') === 300, 20000, '300 rows');
    const files = sourceList(ws.config);
    assert.equal(files.length, 1);
    assert.equal(files[0].size, fs.statSync(f).size);
    assert.equal(files[0].rows, 300);
    assert.equal(run(['stop', '-c', ws.config]).code, 0);
    assert.equal((await d.exited).code, 0, d.logs());
    assertVerified(ws, 'raw');
    assertVerified(ws, 'processed');
  } finally {
    d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

for (const mode of ['delete', 'move']) {
  test(`clean_source: ${mode} only after the batch is committed (committer killed before its commit)`, async () => {
    const archive = `ARCHIVE`;
    const ws = workspace(`clean-${mode}`, {
      transform: 1, writer: 1,
      extra: `source:\n  clean_source: ${mode}\n  clean_source_retention_duration: 0\n` +
        (mode === 'move' ? `  clean_source_move_destination: ${archive}\n` : ''),
    });
    fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace(archive, path.join(ws.dir, 'archive')));
    const gate = path.join(ws.dir, 'no-commit');
    fs.writeFileSync(gate, '');
    // a reference copy for verify.mjs: the source files go away
    const ref = path.join(ws.dir, 'ref');
    gen(['--out', ref, '--files', '3', '--rows', '400', '--seed', '611', '--corrupt-every', '50']);
    const names = fs.readdirSync(ref).sort();
    fs.mkdirSync(path.join(ws.input, 'sub'));
    const rel = (n, i) => (i === 2 ? path.join('sub', n) : n);
    const d = startDaemon(['-c', ws.config], { LAKESUP_FAULT: `committer.commit=EACCES@while:${gate}` });
    try {
      await waitAllRunning(ws.config);
      names.forEach((n, i) => fs.copyFileSync(path.join(ref, n), path.join(ws.input, rel(n, i))));
      await until(() => /committer\[0\] \d+: commit of batch 0 \(injected fault\)/.test(d.logs()), 20000, 'a failed commit');
      const committer = await runningWorker(ws.config, 'committer');
      process.kill(committer.pid, 'SIGKILL');
      await until(() => {
        const s = status(ws.config);
        const c = s && s.workers.find((w) => w.role === 'committer');
        return c && c.pid !== committer.pid && c.state === 'running';
      }, 20000, 'the committer restarted');
      await sleep(1500);
      // nothing committed: every source file is still there, nothing cleaned
      const files = names.map((n, i) => rel(n, i)).filter((r) => fs.existsSync(path.join(ws.input, r)));
      assert.equal(files.length, 3, 'no file cleaned before commit');
      assert.ok(!fs.existsSync(path.join(ws.dir, 'archive')));
      assert.ok(sourceList(ws.config).every((f) => f.state !== 'committed' && f.clean_source === null));
      fs.rmSync(gate);
      await until(() => { const l = sourceList(ws.config); return l.length === 3 && l.every((f) => f.clean_source !== null); },
        30000, 'every file cleaned');
      for (const [i, n] of names.entries()) {
        assert.ok(!fs.existsSync(path.join(ws.input, rel(n, i))), `${rel(n, i)} cleaned`);
        if (mode === 'move') assert.ok(fs.existsSync(path.join(ws.dir, 'archive', rel(n, i))), `${rel(n, i)} moved keeping its path`);
      }
      const logWord = mode === 'delete' ? 'deleted' : 'moved';
      // the worker's log lines reach the supervisor's output a moment after state.db
      await until(() => (d.logs().match(new RegExp(`clean_source: ${logWord} file=`, 'g')) || []).length === 3, 30000, 'three log lines');
      await sleep(300);
      assert.equal((d.logs().match(new RegExp(`clean_source: ${logWord} file=`, 'g')) || []).length, 3, 'each file once');
      const list = sourceList(ws.config);
      assert.ok(list.every((f) => f.state === 'committed'));
      assert.ok(list.every((f) => (mode === 'delete' ? f.clean_source === 'deleted' : f.clean_source.startsWith('moved to '))));
      assert.equal(run(['stop', '-c', ws.config]).code, 0);
      assert.equal((await d.exited).code, 0, d.logs());
      assertVerified(ws, 'raw', { input: ref });
      assertVerified(ws, 'processed', { input: ref });
    } finally {
      d.child.kill('SIGKILL');
    }
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });
}

test('source list: states, sizes, per-file rows / corrupt counts, --pending, text output', async () => {
  const ws = workspace('srclist', { extra: 'source:\n  max_files_per_trigger: 1\n' });
  gen(['--out', ws.input, '--files', '2', '--rows', '250', '--seed', '71', '--corrupt-every', '25']);
  const d = startDaemon(['-c', ws.config]);
  try {
    await waitAllRunning(ws.config);
    await until(() => sourceList(ws.config).filter((f) => f.state === 'committed').length === 2, 20000, 'two files committed');
    // a file rewritten after ingestion: skipped with the reason
    const first = sourceList(ws.config)[0];
    fs.appendFileSync(first.path, lines('late', 3));
    await until(() => sourceList(ws.config).some((f) => f.state === 'skipped'), 10000, 'the rewrite recorded as skipped');
    assert.equal(run(['stop', '-c', ws.config]).code, 0);
    assert.equal((await d.exited).code, 0, d.logs());
    const list = sourceList(ws.config);
    assert.equal(list.length, 3);
    // counts per file, independently from the input and from DuckDB
    const sql = await readTableSql(await replay(path.join(ws.tables, 'raw_events')));
    for (const f of list.filter((x) => x.state === 'committed')) {
      const text = fs.readFileSync(f.path, 'utf8').split('\n').filter((l) => l.trim()).slice(0, f.path === first.path ? -3 : undefined);
      let corrupt = 0;
      for (const l of text) { try { const v = JSON.parse(l); if (!v || typeof v !== 'object' || Array.isArray(v) || !v.event_id) corrupt++; } catch { corrupt++; } }
      assert.equal(f.rows, text.length, `${f.path} rows`);
      assert.equal(f.corrupt, corrupt, `${f.path} corrupt`);
      assert.ok(corrupt > 0);
      const n = Number((await query(`SELECT count(*) AS n FROM ${sql} WHERE _metadata.file_path = '${f.path}'`))[0].n);
      assert.equal(n, f.rows, `${f.path}: DuckDB rows`);
      assert.equal(typeof f.batch, 'number');
      assert.equal(f.size, fs.statSync(f.path).size - (f.path === first.path ? Buffer.byteLength(lines('late', 3)) : 0));
    }
    const skipped = list.find((f) => f.state === 'skipped');
    assert.match(skipped.reason, /changed after it was ingested \(allow_overwrites: false\)/);
    assert.equal(skipped.rows, null);
    assert.deepEqual(sourceList(ws.config, ['--pending']), []);
    const text = run(['source', 'list', '-c', ws.config]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^ID\s+STATE\s+SIZE\s+ROWS\s+CORRUPT\s+RESCUED\s+DISCOVERED\s+PATH/);
    assert.match(text.stdout, /committed in batch \d+/);
    assert.match(text.stdout, /3 file\(s\): 0 pending, 0 in batches, 2 committed, 1 skipped/);
  } finally {
    d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('allow_overwrites: true ingests a rewritten file again as a new version; false refuses it', async () => {
  for (const allow of [false, true]) {
    const ws = workspace(`overwrite-${allow}`, { extra: `source:\n  allow_overwrites: ${allow}\n` });
    const d = startDaemon(['-c', ws.config]);
    try {
      await waitAllRunning(ws.config);
      const f = path.join(ws.input, 'r.jsonl');
      fs.writeFileSync(f, lines('v1', 100));
      await until(() => rowsOf(ws.config, 'processed_events') === 100, 20000, '100 rows');
      fs.writeFileSync(f, lines('v2', 150)); // rewritten in place with new content
      if (allow) {
        await until(() => rowsOf(ws.config, 'processed_events') === 250, 20000, '250 rows');
        // (the daemon's stderr reaches the test through a pipe: wait for the line, do not race it)
        await until(() => /file rewritten: ingested again as a new version/.test(d.logs()), 10000, 'the log line');
      } else {
        await until(() => /file changed after it was ingested/.test(d.logs()), 10000, 'the warning');
        await sleep(1000);
        assert.equal(rowsOf(ws.config, 'processed_events'), 100);
      }
      assert.equal(run(['stop', '-c', ws.config]).code, 0);
      assert.equal((await d.exited).code, 0, d.logs());
      for (const t of ['raw_events', 'processed_events']) {
        const [r] = await queryTable(path.join(ws.tables, t),
          `SELECT count(*) AS n, count(DISTINCT event_id) AS d, count(*) FILTER (WHERE event_id LIKE 'v1-%') AS v1,` +
          ` count(*) FILTER (WHERE event_id LIKE 'v2-%') AS v2 FROM $T`);
        assert.equal(Number(r.n), Number(r.d), `${t}: no event twice`);
        assert.equal(Number(r.v1), 100, `${t}: version 1 once`);
        assert.equal(Number(r.v2), allow ? 150 : 0, `${t}: version 2`);
      }
      const list = sourceList(ws.config);
      assert.equal(list.length, 2);
      assert.equal(list[1].state, allow ? 'committed' : 'skipped');
      if (allow) assert.equal(list[1].rows, 150);
    } finally {
      d.child.kill('SIGKILL');
    }
    fs.rmSync(ws.dir, { recursive: true, force: true });
  }
});

test('max_files_per_trigger and max_bytes_per_trigger (soft: a batch stops adding files once over)', () => {
  for (const [extra, expected] of [
    ['  max_files_per_trigger: 2\n', [2, 2, 1]],
    // each file is 20-30 KB: the first file never fills 30000 bytes, the second always does
    ['  max_bytes_per_trigger: 30000\n', [2, 2, 1]],
    // a single file larger than the limit still goes, alone
    ['  max_bytes_per_trigger: 1000\n', [1, 1, 1, 1, 1]],
  ]) {
    const ws = workspace('limits', { extra: `source:\n${extra}` });
    gen(['--out', ws.input, '--files', '5', '--rows', '100', '--seed', '83']);
    for (const f of fs.readdirSync(ws.input)) {
      const size = fs.statSync(path.join(ws.input, f)).size;
      assert.ok(size > 20000 && size < 30000, `${f}: ${size} bytes`);
    }
    const r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
    assert.equal(r.code, 0, r.stderr);
    const perBatch = new Map();
    for (const f of sourceList(ws.config)) {
      assert.equal(f.state, 'committed');
      perBatch.set(f.batch, (perBatch.get(f.batch) || 0) + 1);
    }
    assert.deepEqual([...perBatch.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]), expected, extra);
    assertVerified(ws, 'raw');
    fs.rmSync(ws.dir, { recursive: true, force: true });
  }
});

test('SIGHUP: backfill_interval, file_ready_delay, max_file_age and the rates change live; a lowered backfill_interval is due at once', async () => {
  const ws = workspace('disc-hup', {
    extra: 'source:\n  backfill_interval: "1 hour"\n  file_ready_delay: "1 hour"\n  max_files_per_trigger: 1\n',
  });
  const original = fs.readFileSync(ws.config, 'utf8');
  const staging = path.join(ws.dir, 'staging');
  fs.mkdirSync(staging);
  // a hard link made into the source is an IN_CREATE without a close: only a listing finds it
  fs.writeFileSync(path.join(staging, 'linked.jsonl'), lines('linked', 40));
  // a file present at start that was just written: the first listing holds it (file_ready_delay)
  fs.writeFileSync(path.join(ws.input, 'fresh.jsonl'), lines('fresh', 30));
  const d = startDaemon(['-c', ws.config]);
  try {
    await waitLog(d, /first listing done: 0 new file\(s\)/, 20000);
    await waitAllRunning(ws.config);
    fs.linkSync(path.join(staging, 'linked.jsonl'), path.join(ws.input, 'linked.jsonl'));
    assert.ok(rowsOf(ws.config, 'raw_events') <= 0, 'nothing taken before the reload');
    fs.writeFileSync(ws.config, original.replace('"1 hour"', '"2s"').replace('"1 hour"', '"100ms"')
      .replace('max_files_per_trigger: 1', 'max_files_per_trigger: 5') + '  max_file_age: "7 days"\n');
    d.child.kill('SIGHUP');
    await waitLog(d, /ingest\[0\] \d+: SIGHUP: reloaded source\.max_files_per_trigger, source\.backfill_interval, source\.file_ready_delay, source\.max_file_age/, 10000);
    // fresh.jsonl: ready now (100 ms); linked.jsonl: the next listing, 2 s after the last one, not in an hour
    await until(() => rowsOf(ws.config, 'raw_events') === 70, 30000, 'both files committed');
    assert.doesNotMatch(d.logs(), /cannot change while the pipeline runs/);
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0, d.logs());
    const got = await queryTable(path.join(ws.tables, 'raw_events'), `SELECT _metadata.file_name AS f, count(*) AS n, count(DISTINCT event_id) AS d
      FROM $T GROUP BY f ORDER BY f`);
    assert.deepEqual(got.map((r) => [r.f, Number(r.n), Number(r.d)]), [['fresh.jsonl', 30, 30], ['linked.jsonl', 40, 40]]);
  } finally {
    fs.writeFileSync(ws.config, original);
    d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});
