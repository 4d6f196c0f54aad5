// End-to-end tests of the Delta log the real binary writes: checkpoints
// every 10 versions read by DuckDB (read_parquet) and by the independent
// JavaScript replay (lib/delta.mjs), time travel by version and timestamp,
// and the table CLI on a table with checkpoints.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { gen, run, tmpDir, workspace } from './lib/daemon.mjs';
import { query, replay, readTableSql, sqlStr } from './lib/delta.mjs';

const FILES = 23;

const scalar = async (sql) => Object.values((await query(sql))[0])[0];

function readLines(args) {
  const r = run(args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim() ? r.stdout.trim().split('\n') : [];
}

test('checkpoints: written every 10 versions, read by DuckDB and an independent replay', async () => {
  const ws = workspace('ckpt', { transform: 1, writer: 1, extra: 'source:\n  max_files_per_trigger: 1\n' });
  gen(['--out', ws.input, '--files', String(FILES), '--rows', '120', '--seed', '11']);
  const r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, `start failed (${r.code}):\n${r.stderr}`);
  const table = path.join(ws.tables, 'raw_events');
  const log = path.join(table, '_delta_log');
  const commits = fs.readdirSync(log).filter((f) => /^\d{20}\.json$/.test(f)).length;
  assert.ok(commits >= 21, `only ${commits} versions`);
  const latest = commits - 1;
  for (let v = 10; v <= latest; v += 10) {
    assert.ok(fs.existsSync(path.join(log, `${String(v).padStart(20, '0')}.checkpoint.parquet`)), `no checkpoint ${v}`);
  }
  assert.ok(!fs.existsSync(path.join(log, `${String(5).padStart(20, '0')}.checkpoint.parquet`)));
  assert.deepEqual(fs.readdirSync(log).filter((f) => f.endsWith('.tmp')), []);

  // _last_checkpoint agrees with the checkpoint file as DuckDB reads it
  const last = JSON.parse(fs.readFileSync(path.join(log, '_last_checkpoint'), 'utf8'));
  const lastV = Math.floor(latest / 10) * 10;
  assert.equal(last.version, lastV);
  const ck = path.join(log, `${String(lastV).padStart(20, '0')}.checkpoint.parquet`);
  assert.equal(last.sizeInBytes, fs.statSync(ck).size);
  assert.equal(Number(await scalar(`SELECT count(*) FROM read_parquet(${sqlStr(ck)})`)), last.size);
  assert.equal(Number(await scalar(`SELECT count(*) FROM read_parquet(${sqlStr(ck)}) WHERE add IS NOT NULL`)),
    last.numOfAddFiles);
  assert.equal(await scalar(`SELECT metaData.format.provider FROM read_parquet(${sqlStr(ck)}) WHERE metaData IS NOT NULL`),
    'parquet');
  assert.equal(Number(await scalar(`SELECT protocol.minReaderVersion FROM read_parquet(${sqlStr(ck)}) WHERE protocol IS NOT NULL`)), 1);
  // nested map: partitionValues is a MAP(VARCHAR, VARCHAR), as Spark writes it
  const type = await scalar(`SELECT typeof(add.partitionValues) FROM read_parquet(${sqlStr(ck)}) WHERE add IS NOT NULL LIMIT 1`);
  assert.equal(type, 'MAP(VARCHAR, VARCHAR)');
  // stats stay a JSON string with numRecords
  const stats = await scalar(`SELECT add.stats FROM read_parquet(${sqlStr(ck)}) WHERE add IS NOT NULL LIMIT 1`);
  assert.ok(Number.isInteger(JSON.parse(stats).numRecords), stats);

  // parquet_metadata: every column chunk ZSTD with statistics, as our data files
  const meta = await query(`SELECT path_in_schema, compression, stats_null_count FROM parquet_metadata(${sqlStr(ck)})`);
  assert.ok(meta.length >= 20, `only ${meta.length} column chunks`);
  for (const m of meta) {
    assert.equal(m.compression, 'ZSTD', m.path_in_schema);
    assert.notEqual(m.stats_null_count, null, m.path_in_schema);
  }
  assert.ok(meta.some((m) => /add.*partitionValues.*key/i.test(String(m.path_in_schema))));

  // the independent replay from the checkpoint equals the JSON-only replay
  const snap = await replay(table);
  assert.equal(snap.checkpointVersion, lastV);
  const jsonOnly = tmpDir('jsononly');
  fs.mkdirSync(path.join(jsonOnly, '_delta_log'));
  for (const f of fs.readdirSync(log).filter((x) => x.endsWith('.json'))) {
    fs.copyFileSync(path.join(log, f), path.join(jsonOnly, '_delta_log', f));
  }
  const snapJ = await replay(jsonOnly);
  assert.equal(snapJ.checkpointVersion, null);
  assert.deepEqual(snap.files.map((f) => [f.path, f.size]), snapJ.files.map((f) => [f.path, f.size]));
  assert.deepEqual(snap.txns, snapJ.txns);
  assert.equal(snap.schemaString, snapJ.schemaString);

  // our reader (from the checkpoint) agrees at several versions
  for (const v of [0, 9, 10, 11, lastV, latest]) {
    const s = await replay(table, { version: v });
    const expect = s.files.length ? Number(await scalar(`SELECT count(*) FROM ${await readTableSql(s)}`)) : 0;
    const lines = readLines(['table', 'read', 'raw_events', '-c', ws.config, '--version', String(v), '--columns', 'event_id']);
    assert.equal(lines.length, expect, `version ${v}`);
    const ours = lines.map((l) => JSON.parse(l).event_id).sort();
    const theirs = s.files.length
      ? (await query(`SELECT event_id FROM ${await readTableSql(s)}`)).map((x) => x.event_id).sort()
      : [];
    assert.deepEqual(ours, theirs, `version ${v}`);
  }

  // with the JSON commits before the newest checkpoint gone, the table still reads
  for (let v = 0; v < lastV; v++) fs.rmSync(path.join(log, `${String(v).padStart(20, '0')}.json`));
  for (let v = 10; v < lastV; v += 10) fs.rmSync(path.join(log, `${String(v).padStart(20, '0')}.checkpoint.parquet`));
  const lines = readLines(['table', 'read', 'raw_events', '-c', ws.config, '--columns', 'event_id']);
  assert.equal(lines.length, Number(await scalar(`SELECT count(*) FROM ${await readTableSql(snap)}`)));
  const old = run(['table', 'read', 'raw_events', '-c', ws.config, '--version', '3']);
  assert.equal(old.code, 1);
  assert.match(old.stderr, new RegExp(`before the oldest retained version ${lastV}`));

  fs.rmSync(jsonOnly, { recursive: true, force: true });
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('table CLI: describe, history, read --timestamp and csv, vacuum, --help', async () => {
  const ws = workspace('tcli', { transform: 1, writer: 1, extra: 'source:\n  max_files_per_trigger: 1\n' });
  gen(['--out', ws.input, '--files', '12', '--rows', '80', '--seed', '12']);
  const r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr);
  const table = path.join(ws.tables, 'raw_events');
  const snap = await replay(table);

  const desc = JSON.parse(readLines(['table', 'describe', 'raw_events', '-c', ws.config, '--json'])[0]);
  assert.equal(desc.version, snap.version);
  assert.equal(desc.numFiles, snap.files.length);
  assert.equal(desc.sizeInBytes, snap.files.reduce((a, f) => a + f.size, 0));
  assert.equal(desc.checkpointVersion, 10);
  assert.deepEqual(desc.partitionColumns, []);
  assert.equal(desc.protocol.minWriterVersion, 2);
  assert.equal(JSON.stringify(desc.schema), JSON.stringify(JSON.parse(snap.schemaString)));
  const text = readLines(['table', 'describe', 'raw_events', '-c', ws.config]).join('\n');
  assert.match(text, new RegExp(`^files +${snap.files.length}$`, 'm'));

  const hist = readLines(['table', 'history', 'raw_events', '-c', ws.config, '--json']).map((l) => JSON.parse(l));
  assert.equal(hist.length, snap.version + 1);
  assert.deepEqual(hist.map((h) => h.version), [...Array(snap.version + 1).keys()].reverse());
  for (let i = 1; i < hist.length; i++) assert.ok(hist[i - 1].timestamp > hist[i].timestamp);
  assert.equal(readLines(['table', 'history', 'raw_events', '-c', ws.config, '--limit', '3']).length, 4);

  // time travel by timestamp: the commit time of version 5 gives version 5's rows
  const t5 = hist.find((h) => h.version === 5).timestamp;
  const s5 = await replay(table, { version: 5 });
  const n5 = Number(await scalar(`SELECT count(*) FROM ${await readTableSql(s5)}`));
  for (const ts of [String(t5), new Date(t5).toISOString()]) {
    assert.equal(readLines(['table', 'read', 'raw_events', '-c', ws.config, '--timestamp', ts, '--columns', 'event_id']).length, n5);
  }
  const before = run(['table', 'read', 'raw_events', '-c', ws.config, '--timestamp', '2001-01-01']);
  assert.equal(before.code, 1);
  assert.match(before.stderr, /before the earliest retained version 0/);

  // csv: a header and one line per row
  const csv = readLines(['table', 'read', 'raw_events', '-c', ws.config, '--format', 'csv', '--columns', 'event_id', '--limit', '5']);
  assert.deepEqual([csv[0], csv.length], ['event_id', 6]);

  // vacuum: an orphan a killed writer left, older than the retention
  const orphan = path.join(table, 'part-orphan-from-a-killed-writer.parquet');
  fs.writeFileSync(orphan, 'PAR1');
  const old = new Date(Date.now() - 10 * 86400000);
  fs.utimesSync(orphan, old, old);
  const short = run(['table', 'vacuum', 'raw_events', '-c', ws.config, '--retain', '1']);
  assert.equal(short.code, 2);
  assert.match(short.stderr, /--force/);
  const dry = run(['table', 'vacuum', 'raw_events', '-c', ws.config, '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(dry.stdout.trim(), 'would delete part-orphan-from-a-killed-writer.parquet 4');
  assert.ok(fs.existsSync(orphan));
  const vac = run(['table', 'vacuum', 'raw_events', '-c', ws.config]);
  assert.equal(vac.code, 0, vac.stderr);
  assert.ok(!fs.existsSync(orphan));
  assert.equal(readLines(['table', 'read', 'raw_events', '-c', ws.config, '--columns', 'event_id']).length,
    Number(await scalar(`SELECT count(*) FROM ${await readTableSql(snap)}`)));

  for (const sub of ['list', 'read', 'history', 'describe', 'vacuum']) {
    const h = run(['table', sub, '--help']);
    assert.equal(h.code, 0, `${sub} --help: ${h.stderr}`);
    assert.match(h.stdout, /usage: lakesupd table/);
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('table read/history: a --version or --limit that is not a whole number is a usage error, not version 0 or no rows', () => {
  const ws = workspace('cli-numbers');
  for (let v = 0; v < 2; v++) {
    fs.writeFileSync(path.join(ws.input, `v${v}.jsonl`), `{"id":${v}}\n{"id":${v + 10}}\n`);
    const r = run(['start', '-c', ws.config, '--trigger', 'available-now'], { timeoutMs: 60000 });
    assert.equal(r.code, 0, r.stderr.slice(-2000));
  }
  const read = (...a) => run(['table', 'read', 'raw_events', '-c', ws.config, '--columns', 'id', ...a]);
  const ids = (r) => r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).id).sort((a, b) => a - b);
  assert.deepEqual(ids(read()), [0, 1, 10, 11]);
  assert.deepEqual(ids(read('--version', '0')), [0, 10]);
  assert.equal(ids(read('--limit', '3')).length, 3);
  for (const [opt, bad] of [['--version', 'abc'], ['--version', '-1'], ['--version', '1x'], ['--limit', 'abc'], ['--limit', '-2']]) {
    const r = read(opt, bad);
    assert.equal(r.code, 2, `${opt} ${bad}: ${r.stdout.slice(0, 300)}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`bad ${opt} '${bad}'`));
    assert.equal(r.stdout, '');
  }
  const h = run(['table', 'history', 'raw_events', '-c', ws.config, '--limit', 'x']);
  assert.equal(h.code, 2, h.stdout + h.stderr);
  assert.match(h.stderr, /bad --limit 'x'/);
  assert.equal(run(['table', 'history', 'raw_events', '-c', ws.config, '--limit', '1']).stdout.trim().split('\n').length, 2);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});
