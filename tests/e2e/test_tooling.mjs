// test_tooling.mjs — self-test of the e2e tooling: lk_gen, the Delta replay and verify.
// Run: node --test tests/e2e/   (needs build/lk_gen, or LK_GEN_BIN: cmake --build build --target lk_gen)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { replay, duck, query, readTableSql, sqlStr } from './lib/delta.mjs';
import { verify, loadInput } from './lib/verify.mjs';
import { LK_GEN, ROOT, tmpDir, VERIFY } from './lib/daemon.mjs';
import { untarZstd } from './lib/tools.mjs';

const GOLDEN = path.join(ROOT, 'tests/fixtures/delta-golden');
const EXPECTED = path.join(ROOT, 'tests/fixtures/delta-expected');


// Multiset difference of the table's rows and Spark's expected rows, compared in SQL.
async function compareWithExpected(name) {
  const dir = tmpDir(name);
  untarZstd(path.join(EXPECTED, `${name}.tar.zst`), dir);
  const snap = await replay(path.join(GOLDEN, name));
  const tableSql = await readTableSql(snap);
  const expSql = `read_parquet(${sqlStr(path.join(dir, name, 'expected', '*.parquet'))}, union_by_name=true)`;
  const cols = (await query(`DESCRIBE SELECT * FROM ${expSql}`)).map((r) => `"${r.column_name}"`).join(', ');
  const [{ n_exp }] = await query(`SELECT count(*)::INTEGER AS n_exp FROM ${expSql}`);
  const [{ n_got }] = await query(`SELECT count(*)::INTEGER AS n_got FROM ${tableSql}`);
  const [{ d }] = await query(`SELECT count(*)::INTEGER AS d FROM (
      (SELECT ${cols} FROM ${tableSql} EXCEPT ALL SELECT ${cols} FROM ${expSql})
      UNION ALL (SELECT ${cols} FROM ${expSql} EXCEPT ALL SELECT ${cols} FROM ${tableSql}))`);
  fs.rmSync(dir, { recursive: true, force: true });
  return { snap, n_exp, n_got, d };
}

for (const name of ['snapshot-data0', 'snapshot-data3', 'multi-part-checkpoint', 'basic-with-inserts-deletes-checkpoint']) {
  test(`golden ${name}: replay rows equal Spark's expected rows`, async () => {
    const { n_exp, n_got, d } = await compareWithExpected(name);
    assert.ok(n_exp > 0);
    assert.equal(n_got, n_exp);
    assert.equal(d, 0, 'rows differ from expected as a multiset');
  });
}

test('golden: checkpoint replay equals replay of the JSON commits alone', async () => {
  for (const name of ['checkpoint', 'basic-with-inserts-deletes-checkpoint']) {
    const withCkpt = await replay(path.join(GOLDEN, name));
    assert.equal(withCkpt.checkpointVersion, 10, name);
    const dir = tmpDir(name);
    fs.cpSync(path.join(GOLDEN, name), dir, { recursive: true });
    for (const f of fs.readdirSync(path.join(dir, '_delta_log'))) {
      if (f.includes('checkpoint')) fs.rmSync(path.join(dir, '_delta_log', f));
    }
    const jsonOnly = await replay(dir);
    assert.equal(jsonOnly.checkpointVersion, null);
    assert.equal(jsonOnly.version, withCkpt.version);
    assert.deepEqual(jsonOnly.files.map((f) => [f.path, f.size]), withCkpt.files.map((f) => [f.path, f.size]));
    assert.equal(jsonOnly.schemaString, withCkpt.schemaString);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('golden: time travel, corrupt _last_checkpoint and non-contiguous versions', async () => {
  const v0 = await replay(path.join(GOLDEN, 'snapshot-data3'), { version: 0 });
  const latest = await replay(path.join(GOLDEN, 'snapshot-data3'));
  assert.equal(v0.version, 0);
  assert.ok(latest.version > 0);
  assert.notDeepEqual(v0.files.map((f) => f.path), latest.files.map((f) => f.path));
  const [{ n }] = await query(`SELECT count(*)::INTEGER AS n FROM ${await readTableSql(v0)}`);
  const d0 = await replay(path.join(GOLDEN, 'snapshot-data0'));
  const [{ n0 }] = await query(`SELECT count(*)::INTEGER AS n0 FROM ${await readTableSql(d0)}`);
  assert.equal(n, n0, 'snapshot-data3@0 has the rows of snapshot-data0');
  // Version 5 of basic-with-inserts-deletes-checkpoint lies before its checkpoint (10).
  const v5 = await replay(path.join(GOLDEN, 'basic-with-inserts-deletes-checkpoint'), { version: 5 });
  assert.equal(v5.checkpointVersion, null);
  const c = await replay(path.join(GOLDEN, 'corrupted-last-checkpoint'));
  assert.equal(c.version, 10);
  await assert.rejects(replay(path.join(GOLDEN, 'versions-not-contiguous')), /not contiguous/);
  await assert.rejects(replay(path.join(GOLDEN, 'snapshot-data0'), { version: 7 }), /not in table/);
});

test('lk_gen: deterministic, disjoint ids, corrupt and empty lines', () => {
  const a = tmpDir('gen-a');
  const b = tmpDir('gen-b');
  const args = ['--files', '2', '--rows', '50', '--seed', '7', '--corrupt-every', '9', '--empty-every', '11'];
  execFileSync(LK_GEN, ['--out', a, ...args]);
  execFileSync(LK_GEN, ['--out', b, ...args]);
  for (const f of fs.readdirSync(a)) assert.deepEqual(fs.readFileSync(path.join(a, f)), fs.readFileSync(path.join(b, f)));
  const inp = loadInput(a);
  assert.equal(inp.events.size, 100);
  assert.equal(inp.duplicateIds.length, 0);
  assert.ok(inp.corrupt.length >= 10);
  const first = inp.events.get('evt-7-0000000000').ev;
  assert.deepEqual(Object.keys(first), ['event_id', 'user_id', 'event_type', 'ts', 'amount', 'country', 'device', 'message']);
  const raw = fs.readFileSync(path.join(a, 'events-00000.jsonl'), 'utf8');
  assert.match(raw, /"amount":(null|\d+\.\d\d)[,}]/);
  assert.doesNotMatch(raw, /"amount":\d+[,}]/, 'amount never an integer literal');
  assert.ok(raw.includes('\n\n'), 'empty lines present');
  let prev = '';
  for (const { ev } of inp.events.values()) {
    assert.match(ev.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(ev.ts > prev, 'ts increases');
    prev = ev.ts;
  }
  const c = tmpDir('gen-c');
  execFileSync(LK_GEN, ['--out', c, '--files', '1', '--rows', '50', '--seed', '7', '--start-id', '100']);
  assert.deepEqual(fs.readdirSync(c), ['events-00002.jsonl']);
  for (const id of loadInput(c).events.keys()) assert.ok(!inp.events.has(id));
  for (const d of [a, b, c]) fs.rmSync(d, { recursive: true, force: true });
});

// A hand-made Delta table from lk_gen output: each input file becomes one Parquet file
// written by DuckDB, committed by a hand-written _delta_log JSON commit.
const RAW_COLUMNS = `{'event_id':'VARCHAR','user_id':'BIGINT','event_type':'VARCHAR','ts':'VARCHAR',
  'amount':'DOUBLE','country':'VARCHAR','device':'STRUCT(os VARCHAR, version VARCHAR)','message':'VARCHAR',
  '_corrupt_record':'VARCHAR','_metadata':'STRUCT(file_path VARCHAR, file_name VARCHAR)'}`;

async function writeParquet(rows, kind, out) {
  const j = out + '.rows.json';
  fs.writeFileSync(j, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const inner = `SELECT * FROM read_json(${sqlStr(j)}, format='newline_delimited', columns=${RAW_COLUMNS})`;
  const sel = kind === 'raw' ? inner
    : `SELECT event_id, user_id, event_type, ts::TIMESTAMPTZ AS ts, CAST(timezone('UTC', ts::TIMESTAMPTZ) AS DATE) AS event_date,
        amount, country, device.os AS device_os, device.version AS device_version, message, now() AS processed_at FROM (${inner})`;
  await (await duck()).run(`COPY (${sel}) TO ${sqlStr(out)} (FORMAT parquet)`);
  fs.rmSync(j);
}

function rowsFor(inputDir, file, kind) {
  const rows = [];
  for (const line of fs.readFileSync(path.join(inputDir, file), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let ev;
    try { ev = JSON.parse(line); } catch { ev = null; }
    const meta = { file_path: path.join(inputDir, file), file_name: file };
    if (!ev || Array.isArray(ev) || typeof ev !== 'object') {
      if (kind === 'raw') rows.push({ _corrupt_record: line, _metadata: meta });
    } else {
      rows.push({ ...ev, _corrupt_record: null, _metadata: meta });
    }
  }
  return rows;
}

function commit(table, version, actions) {
  const log = path.join(table, '_delta_log');
  fs.mkdirSync(log, { recursive: true });
  const name = path.join(log, String(version).padStart(20, '0') + '.json');
  fs.writeFileSync(name, actions.map((a) => JSON.stringify(a)).join('\n') + '\n');
}

async function makeTable(inputDir, kind) {
  const table = tmpDir(`table-${kind}`);
  const adds = [];
  for (const [i, file] of fs.readdirSync(inputDir).sort().entries()) {
    const p = `part-${i}-x.parquet`;
    await writeParquet(rowsFor(inputDir, file, kind), kind, path.join(table, p));
    adds.push({ add: { path: p, size: fs.statSync(path.join(table, p)).size, partitionValues: {},
      modificationTime: Date.now(), dataChange: true } });
  }
  commit(table, 0, [
    { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
    { metaData: { id: 'test', format: { provider: 'parquet', options: {} }, schemaString: '{"type":"struct","fields":[]}',
      partitionColumns: [], configuration: {}, createdTime: 0 } },
    ...adds,
    { txn: { appId: 'lk-test', version: 0 } },
    { commitInfo: { operation: 'WRITE' } },
  ]);
  return { table, adds };
}

test('verify: passes on a correct raw table and fails on duplicate, missing, changed rows', async () => {
  const input = tmpDir('in-raw');
  execFileSync(LK_GEN, ['--out', input, '--files', '3', '--rows', '40', '--corrupt-every', '13', '--empty-every', '17']);
  const { table, adds } = await makeTable(input, 'raw');
  const ok = await verify({ table, input, kind: 'raw' });
  assert.deepEqual(ok.problems, []);
  assert.equal(ok.ok, true);
  assert.equal(ok.summary.tableEvents, 120);
  assert.ok(ok.summary.tableCorrupt > 0);
  assert.equal(ok.summary.tableCorrupt, ok.summary.inputCorrupt);

  // Version 1: one event again in a new file -> duplicate.
  const first = rowsFor(input, 'events-00000.jsonl', 'raw').find((r) => r.event_id);
  await writeParquet([first], 'raw', path.join(table, 'dup.parquet'));
  commit(table, 1, [{ add: { path: 'dup.parquet', size: fs.statSync(path.join(table, 'dup.parquet')).size,
    partitionValues: {}, modificationTime: 0, dataChange: true } }]);
  const dup = await verify({ table, input, kind: 'raw' });
  assert.equal(dup.ok, false);
  assert.equal(dup.summary.duplicates, 1);
  assert.match(dup.problems.join('\n'), new RegExp(`duplicate event_id ${first.event_id}`));

  // Version 2: the duplicate and a whole input file removed -> 40 missing plus corrupt lines.
  commit(table, 2, [{ remove: { path: 'dup.parquet', deletionTimestamp: 0, dataChange: true } },
    { remove: { path: adds[1].add.path, deletionTimestamp: 0, dataChange: true } }]);
  const miss = await verify({ table, input, kind: 'raw' });
  assert.equal(miss.ok, false);
  assert.equal(miss.summary.missing, 40);
  assert.equal(miss.summary.duplicates, 0);
  assert.equal(miss.problems.length, 10, 'only the first 10 problems are listed');
  assert.ok(miss.problemCount > 40);

  // Time travel back to version 0 still verifies: the replay honours versions.
  const back = await replay(table, { version: 0 });
  assert.equal(back.files.length, 3);

  // A table whose message lost its unicode fails on that row.
  const t2 = tmpDir('bad-msg');
  const rows = rowsFor(input, 'events-00000.jsonl', 'raw');
  const victim = rows.find((r) => r.event_id && /[^\x00-\x7f]/.test(r.message));
  victim.message = victim.message.normalize('NFD').replace(/[^\x00-\x7f]/g, '?');
  const all = [...rows, ...rowsFor(input, 'events-00001.jsonl', 'raw'), ...rowsFor(input, 'events-00002.jsonl', 'raw')];
  await writeParquet(all, 'raw', path.join(t2, 'a.parquet'));
  commit(t2, 0, [{ protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
    { metaData: { id: 'x', format: { provider: 'parquet' }, schemaString: '{}', partitionColumns: [] } },
    { add: { path: 'a.parquet', size: 1, partitionValues: {}, dataChange: true } }]);
  const bad = await verify({ table: t2, input, kind: 'raw' });
  assert.equal(bad.ok, false);
  assert.equal(bad.problemCount, 1 + 0, bad.problems.join('\n').slice(0, 500) || 'one problem');
  assert.match(bad.problems[0], new RegExp(`event_id ${victim.event_id}: message`));
  for (const d of [input, table, t2]) fs.rmSync(d, { recursive: true, force: true });
});

test('verify: processed table (TIMESTAMPTZ ts, flattened device) and the CLI exit codes', async () => {
  const input = tmpDir('in-proc');
  execFileSync(LK_GEN, ['--out', input, '--files', '2', '--rows', '30', '--corrupt-every', '7']);
  const { table } = await makeTable(input, 'processed');
  const res = await verify({ table, input, kind: 'processed' });
  assert.deepEqual(res.problems, []);
  assert.equal(res.summary.tableEvents, 60);
  // The same table checked as raw fails (missing columns): the check is not vacuous.
  assert.equal((await verify({ table, input, kind: 'raw' })).ok, false);

  const cli = VERIFY;
  const pass = spawnSync(process.execPath, [cli, '--table', table, '--input', input, '--kind', 'processed'], { encoding: 'utf8' });
  assert.equal(pass.status, 0, pass.stderr);
  assert.equal(JSON.parse(pass.stdout).ok, true);
  const summary = spawnSync(process.execPath, [cli, '--table', table], { encoding: 'utf8' });
  assert.equal(summary.status, 0, summary.stderr);
  assert.equal(JSON.parse(summary.stdout).rows, 60);
  // One more input file that the table does not hold -> exit 1 with a readable list.
  execFileSync(LK_GEN, ['--out', input, '--files', '1', '--rows', '5', '--start-id', '1000']);
  const fail = spawnSync(process.execPath, [cli, '--table', table, '--input', input, '--kind', 'processed'], { encoding: 'utf8' });
  assert.equal(fail.status, 1);
  assert.match(fail.stderr, /FAILED with 5 problem\(s\)/);
  assert.match(fail.stderr, /missing from table/);
  for (const d of [input, table]) fs.rmSync(d, { recursive: true, force: true });
});

test('verify: 200k rows in a few seconds', { skip: !process.env.LK_E2E_BIG && 'set LK_E2E_BIG=1' }, async () => {
  const input = tmpDir('in-big');
  execFileSync(LK_GEN, ['--out', input, '--files', '4', '--rows', '50000']);
  const { table } = await makeTable(input, 'raw');
  const t0 = Date.now();
  const res = await verify({ table, input, kind: 'raw' });
  const ms = Date.now() - t0;
  assert.deepEqual(res.problems, []);
  console.log(`verify 200k rows: ${ms} ms`);
  fs.rmSync(input, { recursive: true, force: true });
  fs.rmSync(table, { recursive: true, force: true });
});
