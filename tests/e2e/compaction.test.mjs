// Auto-compaction (issue 16): a continuous run of many small batches is compacted while it streams.
// The committer starts a background compaction once a table has more than
// tables.compaction.min_files small files; the OPTIMIZE commit (dataChange=false) meets the
// streaming commits only through the Delta log's optimistic concurrency. Checked: OPTIMIZE in
// `table history`, fewer live files than the batches made, every version of the table readable by
// DuckDB with as many rows as its txn says (a compaction version has the rows of the one before),
// and every input row exactly once in both tables.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { assertVerified, countInput, gen, LAKESUPD, QUICK, rowsOf, run, sleep, startDaemon, until, waitAllRunning, watching, workspace } from './lib/daemon.mjs';
import { query, readTableSql, replay } from './lib/delta.mjs';

/** Every input row exactly once in both tables; then the workspace goes. */
function verifiedAndRemoved(ws) {
  assertVerified(ws, 'raw');
  assertVerified(ws, 'processed');
  fs.rmSync(ws.dir, { recursive: true, force: true });
}

test('continuous: many small batches are compacted while they stream (OPTIMIZE, dataChange=false); every version reads right; exactly once', async () => {
  const ws = workspace('autocompact', {
    extra: 'source:\n  max_files_per_trigger: 1\ntables:\n  compaction:\n    min_files: 4\n',
  });
  const FILES = QUICK ? 16 : 24;
  const staging = path.join(ws.dir, 'staging');
  gen(['--out', staging, '--files', String(FILES), '--rows', '200', '--seed', '161']);
  const names = fs.readdirSync(staging).sort();
  const d = startDaemon(['-c', ws.config]);
  await watching(d, async () => {
    await waitAllRunning(ws.config);
    for (const n of names) {
      fs.renameSync(path.join(staging, n), path.join(ws.input, n));
      await sleep(150);
    }
    const events = countInput(ws.input).events;
    await until(() => rowsOf(ws.config, 'processed_events') === events &&
                      (d.logs().match(/auto-compaction: table=raw_events version=\d+ OPTIMIZE/g) || []).length >= 1 &&
                      (d.logs().match(/auto-compaction: table=processed_events version=\d+ OPTIMIZE/g) || []).length >= 1,
      90000, `${events} rows and a compaction of each table`);
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0, d.logs().slice(-3000));
  });
  assert.match(d.logs(), /auto-compaction of table=raw_events started \(pid \d+\): \d+ small files/);
  for (const t of ['raw_events', 'processed_events']) {
    const tp = path.join(ws.tables, t);
    const last = await replay(tp);
    const hist = run(['table', 'history', t, '-c', ws.config, '--json']).stdout.trim();
    const h = hist.startsWith('[') ? JSON.parse(hist) : hist.split('\n').map((l) => JSON.parse(l));
    const opts = h.filter((x) => x.operation === 'OPTIMIZE');
    assert.ok(opts.length >= 1, `${t}: no OPTIMIZE in history`);
    const streaming = h.filter((x) => x.operation === 'STREAMING UPDATE').length;
    assert.ok(last.files.length < streaming, `${t}: ${last.files.length} live files after ${streaming} streaming commits`);
    // every version: DuckDB reads it, with the rows of the version before at an OPTIMIZE
    let prev = 0;
    for (let v = 0; v <= last.version; v++) {
      const snap = await replay(tp, { version: v });
      const from = await readTableSql(snap);
      const n = from ? Number((await query(`SELECT count(*)::BIGINT AS n FROM ${from}`))[0].n) : 0;
      const isOpt = snap.commitInfos.at(-1)?.operation === 'OPTIMIZE';
      if (isOpt) {
        assert.equal(n, prev, `${t} v${v}: OPTIMIZE changed the row count`);
        const acts = fs.readFileSync(path.join(tp, '_delta_log', `${String(v).padStart(20, '0')}.json`), 'utf8')
          .trim().split('\n').map((l) => JSON.parse(l));
        assert.ok(acts.some((a) => a.remove) && acts.some((a) => a.add), `${t} v${v}`);
        for (const a of acts) if (a.add || a.remove) assert.equal((a.add || a.remove).dataChange, false);
      } else {
        assert.ok(n >= prev, `${t} v${v}: ${n} rows after ${prev}`);
      }
      prev = n;
    }
  }
  assertVerified(ws, 'raw');
  assertVerified(ws, 'processed');
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('available-now: the run ends after a running auto-compaction finishes (not killed), as a synchronous auto compaction would', async () => {
  const ws = workspace('autocompact-now', {
    extra: 'source:\n  max_files_per_trigger: 1\ntables:\n  compaction:\n    min_files: 2\n',
  });
  gen(['--out', ws.input, '--files', '8', '--rows', '200', '--seed', '162']);
  // each compaction takes 2 s more: the one running when the last batch commits is still running
  const d = startDaemon(['-c', ws.config, '--trigger', 'available-now'], { LAKESUP_FAULT: 'committer.compaction=sleep2000' });
  let timer;
  const ex = await Promise.race([d.exited, new Promise((r) => { timer = setTimeout(() => r(null), 120000); })]);
  clearTimeout(timer);
  await watching(d, () => {
    assert.ok(ex, 'the available-now run ends');
    assert.equal(ex.code, 0, d.logs().slice(-3000));
    assert.match(d.logs(), /stopping: waiting up to \d+ ms for the auto-compaction of table=\w+/);
    assert.doesNotMatch(d.logs(), /auto-compaction of table=\w+ \(pid \d+\) was killed|did not finish within/);
    assert.match(d.logs(), /auto-compaction: table=\w+ version=\d+ OPTIMIZE/);
  });
  verifiedAndRemoved(ws);
});

test('a restart counts the small files earlier runs committed: the compaction comes when the table has more than min_files, not min_files commits after the restart', async () => {
  const ws = workspace('autocompact-restart', {
    extra: 'source:\n  max_files_per_trigger: 1\ntables:\n  compaction:\n    min_files: 4\n',
  });
  const staging = path.join(ws.dir, 'staging');
  gen(['--out', staging, '--files', '5', '--rows', '200', '--seed', '163']);
  const names = fs.readdirSync(staging).sort();
  const feed = async (d, list) => {
    for (const n of list) {
      fs.renameSync(path.join(staging, n), path.join(ws.input, n));
      await sleep(150);
    }
    const events = countInput(ws.input).events;
    await until(() => rowsOf(ws.config, 'raw_events') === events, 60000, `${events} rows`);
  };
  // three small files in each table: not more than min_files
  let d = startDaemon(['-c', ws.config]);
  await watching(d, async () => {
    await waitAllRunning(ws.config);
    await feed(d, names.slice(0, 3));
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0, d.logs().slice(-3000));
    assert.doesNotMatch(d.logs(), /OPTIMIZE/);
  });
  // after the restart two more: five small files, more than four
  d = startDaemon(['-c', ws.config]);
  await watching(d, async () => {
    await waitAllRunning(ws.config);
    await until(() => /auto-compaction of table=raw_events: 3 small file\(s\) at start, not more than tables\.compaction\.min_files=4: counted/.test(d.logs()),
      30000, 'the count at start');
    await feed(d, names.slice(3));
    await until(() => /auto-compaction: table=raw_events version=\d+ OPTIMIZE: 5 files/.test(d.logs()), 60000,
      'a compaction of the five small files');
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0, d.logs().slice(-3000));
  });
  verifiedAndRemoved(ws);
});

/** A workspace whose batches are one small file each (min_files 2) and `files` files staged to
 * feed it; feed() moves them in one by one. */
function smallBatches(name, files, seed) {
  const ws = workspace(name, {
    extra: 'source:\n  max_files_per_trigger: 1\ntables:\n  compaction:\n    min_files: 2\n',
  });
  const staging = path.join(ws.dir, 'staging');
  gen(['--out', staging, '--files', String(files), '--rows', '100', '--seed', String(seed)]);
  const feed = async () => {
    for (const n of fs.readdirSync(staging).sort()) {
      fs.renameSync(path.join(staging, n), path.join(ws.input, n));
      await sleep(150);
    }
  };
  return { ws, feed };
}

test('the compaction runs the committer\'s own program even when its file was moved away (an upgrade in place)', async () => {
  const { ws, feed } = smallBatches('autocompact-moved', 6, 163);
  const bin = path.join(ws.dir, 'lakesupd-copy');
  fs.copyFileSync(LAKESUPD, bin);
  fs.chmodSync(bin, 0o755);
  const d = startDaemon(['-c', ws.config], {}, bin);
  await watching(d, async () => {
    await waitAllRunning(ws.config);
    fs.renameSync(bin, `${bin}.moved`);
    await feed();
    await until(() => /auto-compaction: table=raw_events version=\d+ OPTIMIZE/.test(d.logs()), 30000,
      'a compaction of raw_events by the moved program');
    assert.doesNotMatch(d.logs(), /auto-compaction of table=\w+ \(pid \d+\) exited with code/);
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0, d.logs().slice(-3000));
  });
  verifiedAndRemoved(ws);
});

test('a compaction process that fails is logged with its exit code, not read as a count: no compaction started again at once; the stream goes on', async () => {
  const { ws, feed } = smallBatches('autocompact-fails', 8, 164);
  // the compaction process exits 99 (the fault's "exit") before it does anything
  const d = startDaemon(['-c', ws.config], { LAKESUP_FAULT: 'committer.compaction=exit' });
  await watching(d, async () => {
    await waitAllRunning(ws.config);
    await feed();
    await until(() => /auto-compaction of table=\w+ \(pid \d+\) exited with code 99: nothing committed/.test(d.logs()),
      30000, 'the failed compaction, logged with its exit code');
    const events = countInput(ws.input).events;
    await until(() => rowsOf(ws.config, 'processed_events') === events, 30000, `${events} rows`);
    await sleep(1000);
    // one start per table per min_files + 1 small files at most: 8 batches make few; a failure
    // read as a count would start one again every tick (hundreds)
    const started = (d.logs().match(/auto-compaction of table=\w+ started/g) || []).length;
    assert.ok(started >= 1 && started <= 8, `${started} compactions started`);
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0, d.logs().slice(-3000));
  });
  verifiedAndRemoved(ws);
});
