// Schema inference, hints and evolution, rescued and corrupt data (issue 5), with the real
// daemon; every table is checked with DuckDB over an independent Delta log replay.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { run, runningWorker, startDaemon, status, until, watching, workspace, waitLog } from './lib/daemon.mjs';
import { query, readTableSql, replay, sqlStr } from './lib/delta.mjs';

const ROWS = 40;
const CORRUPT = ['{"event_id": broken', '[1,2,3]', '42', '{"event_id":"zz","n":1} trailing', '\x01\x02binary'];

// Writes file i (1-based) of the mix: valid rows, type mismatches (n), case-mismatched keys
// (MSG), corrupt lines of several kinds, empty lines; from file `newFrom` on, new columns
// color (top level), score (double) and device.model (a new nested field). Returns what a
// correct pipeline must produce from it.
function writeMix(dir, i, exp, { newFrom = 6, name } = {}) {
  const file = name ?? `mix-${String(i).padStart(3, '0')}.jsonl`;
  const lines = [];
  for (let k = 0; k < ROWS; k++) {
    const id = `f${i}-${k}`;
    const ev = { event_id: id, ts: `2026-11-30T10:${String(k).padStart(2, '0')}:00Z`, n: k, msg: `m${k}`,
                 device: { os: 'linux' } };
    const want = { file, n: k, color: null, score: null, model: null, rescuedKey: null };
    if (k % 10 === 3) { ev.n = 'not-a-number'; want.n = null; want.rescuedKey = 'n'; }
    if (k % 10 === 7) { ev.MSG = 'case'; want.rescuedKey = 'MSG'; }
    if (i >= newFrom) {
      ev.color = `c${k}`; ev.score = k + 0.5; ev.device.model = `x${k}`;
      Object.assign(want, { color: ev.color, score: ev.score, model: ev.device.model });
    }
    exp.valid.set(id, want);
    lines.push(JSON.stringify(ev));
    if (k === 20) for (const c of CORRUPT) { lines.push(c); exp.corrupt.push(c); }
    if (k === 30) lines.push('', '   ');
  }
  const tmp = path.join(dir, `.${file}.tmp`);
  fs.writeFileSync(tmp, lines.join('\n') + '\n');
  fs.renameSync(tmp, path.join(dir, file));
}

const newExp = () => ({ valid: new Map(), corrupt: [] });

async function table(ws, name) {
  const snap = await replay(path.join(ws.tables, name));
  return { snap, sql: await readTableSql(snap), schema: JSON.parse(snap.schemaString) };
}

const rows = (sql, q) => query(q.replaceAll('$T', sql));

// raw_events' rows as committed now (0 before its first commit)
async function rawCount(ws) {
  try {
    const t = await table(ws, 'raw_events');
    return t.sql ? Number((await rows(t.sql, 'SELECT count(*) AS n FROM $T'))[0].n) : 0;
  } catch { return 0; }
}

// Every valid row exactly once in both tables with its values, each malformed line in
// _corrupt_record, each mismatch in the rescued data column with _file_path.
async function checkTables(ws, exp, { rescued = '_rescued_data', corruptKept = true, newCols = true } = {}) {
  const raw = await table(ws, 'raw_events');
  const got = await rows(raw.sql, `SELECT event_id, n::BIGINT AS n, "${rescued}" AS resc,
      _metadata.file_name AS file ${newCols ? ', color, score, device.model AS model' : ''}
      FROM $T WHERE _corrupt_record IS NULL`);
  assert.equal(got.length, exp.valid.size, 'valid rows in raw_events');
  const seen = new Set();
  let rescuedRows = 0;
  for (const r of got) {
    const want = exp.valid.get(r.event_id);
    assert.ok(want, `unexpected row ${r.event_id}`);
    assert.ok(!seen.has(r.event_id), `duplicate ${r.event_id}`);
    seen.add(r.event_id);
    assert.equal(r.file, want.file);
    assert.equal(r.n === null ? null : Number(r.n), want.n, `n of ${r.event_id}`);
    if (newCols) {
      assert.equal(r.color, want.color, `color of ${r.event_id}`);
      assert.equal(r.score, want.score, `score of ${r.event_id}`);
      assert.equal(r.model, want.model, `device.model of ${r.event_id}`);
    }
    if (want.rescuedKey) {
      rescuedRows++;
      const j = JSON.parse(r.resc);
      assert.ok(want.rescuedKey in j, `${r.event_id}: ${r.resc} lacks ${want.rescuedKey}`);
      assert.match(j._file_path, new RegExp(`${want.file}$`));
    } else {
      assert.equal(r.resc, null, `${r.event_id} rescued ${r.resc}`);
    }
  }
  const corrupt = await rows(raw.sql, 'SELECT _corrupt_record AS c FROM $T WHERE _corrupt_record IS NOT NULL');
  if (corruptKept) {
    assert.equal(corrupt.length, exp.corrupt.length, 'corrupt rows');
    assert.deepEqual(corrupt.map((r) => r.c).sort(), [...exp.corrupt].sort());
  } else {
    assert.equal(corrupt.length, 0, 'no corrupt rows');
  }
  const proc = await table(ws, 'processed_events');
  const p = await rows(proc.sql, `SELECT count(*) AS n, count(DISTINCT event_id) AS d,
      count("${rescued}") AS r ${newCols ? ', count(color) AS c, count(device_model) AS m' : ''} FROM $T`);
  assert.equal(Number(p[0].n), exp.valid.size, 'processed rows');
  assert.equal(Number(p[0].d), exp.valid.size, 'processed distinct');
  assert.equal(Number(p[0].r), rescuedRows, 'processed rescued rows');
  if (newCols) {
    const withColor = [...exp.valid.values()].filter((w) => w.color !== null).length;
    assert.equal(Number(p[0].c), withColor, 'processed color');
    assert.equal(Number(p[0].m), withColor, 'processed device_model');
  }
  return { raw, proc, rescuedRows };
}

// n is declared LONG (a hint): "not-a-number" is then a mismatch, not a reason to infer STRING
const HINT_N = '  schema_hints: "n BIGINT"\n';
const availableNow = (ws) => run(['start', '-c', ws.config, '--trigger', 'available-now']);

test('add_new_columns: new columns mid-stream (continuous) are added online; old rows null; pids unchanged', async () => {
  const ws = workspace('evo-add', { transform: 2, writer: 2, extra: 'source:\n  max_files_per_trigger: 2\n' + HINT_N });
  const exp = newExp();
  for (let i = 1; i <= 5; i++) writeMix(ws.input, i, exp);
  const d = startDaemon(['-c', ws.config]);
  try {
    const count = () => rawCount(ws);
    const total = () => exp.valid.size + exp.corrupt.length;
    await until(async () => (await count()) === total(), 60000, 'files 1-5 committed');
    const pids = (await until(() => status(ws.config), 10000, 'status')).workers.map((w) => `${w.role}${w.index}:${w.pid}`).sort();
    const before = await table(ws, 'raw_events');
    assert.ok(!before.schema.fields.some((f) => f.name === 'color'));
    for (let i = 6; i <= 8; i++) writeMix(ws.input, i, exp);
    await until(async () => (await count()) === total(), 60000, 'files 6-8 committed');
    const s = status(ws.config);
    assert.deepEqual(s.workers.map((w) => `${w.role}${w.index}:${w.pid}`).sort(), pids, 'no worker restarted');
    const { raw, proc } = await checkTables(ws, exp);
    const names = raw.schema.fields.map((f) => f.name);
    assert.ok(names.indexOf('color') > names.indexOf('msg') && names.indexOf('color') < names.indexOf('_rescued_data'));
    assert.equal(raw.schema.fields.find((f) => f.name === 'score').type, 'double');
    assert.deepEqual(raw.schema.fields.find((f) => f.name === 'device').type.fields.map((f) => f.name), ['os', 'model']);
    assert.ok(proc.schema.fields.some((f) => f.name === 'device_model'));
    await waitLog(d, /schema change: raw_events version=2 adds .*color string/);
    await waitLog(d, /schema change: table=processed_events batch=\d+ commits a new metaData: .*color/);
    const hist = run(['schema', 'history', '-c', ws.config, '--json']);
    assert.equal(hist.code, 0, hist.stderr);
    const h = JSON.parse(hist.stdout);
    assert.equal(h.length, 2);
    assert.match(h[1].change, /added: color string, score double/);
    assert.match(h[1].change, /changed: device/);
    const show = run(['schema', 'show', '--table', 'processed_events', '-c', ws.config, '--json']);
    assert.equal(show.code, 0, show.stderr);
    const sh = JSON.parse(show.stdout);
    assert.equal(sh.version, 2);
    assert.match(sh.ddl, /device_model STRING/);
  } finally {
    d.child.kill('SIGTERM');
    await d.exited;
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

// A batch's first reading: ingest scans only each chunk's first and last lines; a new key in the
// middle is noted by the transform that parses it, which asks for the batch again; ingest scans
// that reading whole, and the key is a column from its first row on, every row once.
test('a new key in the middle of a chunk: the transform asks for the batch again, ingest adds the column', async () => {
  const ws = workspace('evo-middle', { transform: 2, writer: 2 });
  const lines = [];
  for (let k = 0; k < 100; k++) {
    const ev = { event_id: `m-${k}`, ts: '2026-11-30T10:00:00Z', n: k };
    if (k === 49 || k === 60) ev.coupon = `c${k}`;
    lines.push(JSON.stringify(ev));
  }
  fs.writeFileSync(path.join(ws.input, '.mid.tmp'), lines.join('\n') + '\n');
  fs.writeFileSync(path.join(ws.input, '.head.tmp'), lines.slice(0, 30).map((l) => l.replace('"m-', '"h-')).filter((l) => !l.includes('coupon')).join('\n') + '\n');
  fs.renameSync(path.join(ws.input, '.head.tmp'), path.join(ws.input, 'a-head.jsonl'));
  const d = startDaemon(['-c', ws.config]);
  try {
    const count = () => rawCount(ws);
    await until(async () => (await count()) === 30, 60000, 'the first file committed');
    fs.renameSync(path.join(ws.input, '.mid.tmp'), path.join(ws.input, 'b-mid.jsonl'));
    await until(async () => (await count()) === 130, 60000, 'the second file committed');
    await waitLog(d, /key coupon has no column \(file=\S*b-mid\.jsonl line=50\): the batch is read again with its keys scanned/);
    await waitLog(d, /replay requested reason=a transform found a key no column has/);
    await waitLog(d, /schema change: raw_events version=2 adds coupon string/);
    // a new key's re-read is how evolution works: the supervisor says it at INFO, not WARN
    assert.match(d.logs(), / INFO supervisor\[0\] \d+: worker role=transform index=\d+ asks for batch=\d+ again: a transform found a key no column has/);
    assert.doesNotMatch(d.logs(), / WARN supervisor\[0\] \d+: worker role=transform index=\d+ asks for batch/);
    const raw = await table(ws, 'raw_events');
    const got = await rows(raw.sql, `SELECT event_id, coupon FROM $T WHERE coupon IS NOT NULL ORDER BY event_id`);
    assert.deepEqual(got.map((r) => [r.event_id, r.coupon]), [['m-49', 'c49'], ['m-60', 'c60']]);
    const ids = await rows(raw.sql, 'SELECT count(DISTINCT event_id) AS n FROM $T');
    assert.equal(Number(ids[0].n), 130, 'every row once');
  } finally {
    d.child.kill('SIGTERM');
    await d.exited;
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

// Keys that never become columns — escaped (rescued), or in a line that does not parse — are not
// noted: they cost no second reading, and they do not keep the same name, when it later comes
// plain in the middle of a chunk, from becoming a column (the review found both).
test('keys that never become columns cost no second reading and do not hide a later plain one', async () => {
  const ws = workspace('evo-never', { transform: 2, writer: 2, extra: 'source:\n  max_files_per_trigger: 1\n' });
  const write = (i, extra) => {
    const lines = [];
    for (let k = 0; k < 40; k++) lines.push(JSON.stringify({ event_id: `d${i}-${k}`, ts: '2026-11-30T10:00:00Z', n: k }));
    for (const [at, l] of extra) lines[at] = l;
    const tmp = path.join(ws.input, `.d-${i}.tmp`);
    fs.writeFileSync(tmp, lines.join('\n') + '\n');
    fs.renameSync(tmp, path.join(ws.input, `d-${String(i).padStart(3, '0')}.jsonl`));
  };
  const count = () => rawCount(ws);
  write(1, []); // the schema is inferred from the first file, without color
  const d = startDaemon(['-c', ws.config]);
  try {
    await until(async () => (await count()) === 40, 60000, 'file 1 committed');
    write(2, [[19, '{"event_id":"d2-esc","ts":"2026-11-30T10:00:00Z","n":1,"col\\u006fr":"x"}'],
              [24, '{"event_id":"d2-bad","color":"red","n": }']]);
    await until(async () => (await count()) === 80, 60000, 'file 2 committed');
    assert.equal((d.logs().match(/has no column/g) || []).length, 0, 'no second reading for keys that never become columns');
    write(3, [[19, '{"event_id":"d3-19","ts":"2026-11-30T10:00:00Z","n":19,"color":"blue"}']]);
    await until(async () => (await count()) === 120, 60000, 'file 3 committed');
    await waitLog(d, /key color has no column \(file=\S*d-003\.jsonl line=20\): the batch is read again/);
    await waitLog(d, /schema change: raw_events version=2 adds color string/);
    const raw = await table(ws, 'raw_events');
    const got = await rows(raw.sql, `SELECT event_id, color FROM $T WHERE color IS NOT NULL`);
    assert.deepEqual(got.map((r) => [r.event_id, r.color]), [['d3-19', 'blue']]);
    const esc = await rows(raw.sql, `SELECT count(*) AS n FROM $T WHERE _rescued_data LIKE '%color%'`);
    assert.equal(Number(esc[0].n), 1, 'the escaped key is rescued');
    const bad = await rows(raw.sql, `SELECT count(*) AS n FROM $T WHERE _corrupt_record LIKE '%d2-bad%'`);
    assert.equal(Number(bad[0].n), 1, 'the line that does not parse is a corrupt record');
    const ids = await rows(raw.sql, 'SELECT count(DISTINCT event_id) AS n FROM $T WHERE _corrupt_record IS NULL');
    assert.equal(Number(ids[0].n), 119, 'every row once');
  } finally {
    d.child.kill('SIGTERM');
    await d.exited;
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('add_new_columns, every file present at start (one batch, files of 3 MB): new columns mid-file', async () => {
  const ws = workspace('evo-big', { extra: 'source:\n  schema_inference_sample_bytes: 65536\n' + HINT_N });
  const exp = newExp();
  for (let i = 1; i <= 5; i++) writeMix(ws.input, i, exp);
  // a large file whose head (the inference sample) has no new column; they appear after 2 MB
  const big = 'big-006.jsonl';
  const lines = [];
  for (let k = 0; k < 30000; k++) {
    const id = `big-${k}`;
    const ev = { event_id: id, ts: '2026-11-30T10:00:00Z', n: k, msg: 'x'.repeat(40), device: { os: 'linux' } };
    const want = { file: big, n: k, color: null, score: null, model: null, rescuedKey: null };
    if (k >= 20000) { ev.color = `c${k}`; ev.score = k + 0.5; ev.device.model = 'm'; Object.assign(want, { color: ev.color, score: ev.score, model: 'm' }); }
    exp.valid.set(id, want);
    lines.push(JSON.stringify(ev));
  }
  fs.writeFileSync(path.join(ws.input, big), lines.join('\n') + '\n');
  const r = availableNow(ws);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /schema change: raw_events version=2 adds .*color.* \(first seen in file=\S*big-006\.jsonl/);
  await checkTables(ws, exp);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('rescue: the schema never changes; new keys go to _rescued_data', async () => {
  const ws = workspace('evo-rescue', { extra: 'source:\n  schema_evolution_mode: rescue\n  max_files_per_trigger: 3\n' + HINT_N });
  const exp = newExp();
  for (let i = 1; i <= 4; i++) writeMix(ws.input, i, exp, { newFrom: 5 });
  assert.equal(availableNow(ws).code, 0);
  for (let i = 5; i <= 6; i++) writeMix(ws.input, i, exp, { newFrom: 5 });
  const r = availableNow(ws);
  assert.equal(r.code, 0, r.stderr);
  // rows with new keys are rescued as well
  for (const w of exp.valid.values()) if (w.color !== null && !w.rescuedKey) w.rescuedKey = 'color';
  const raw = await table(ws, 'raw_events');
  assert.ok(!raw.schema.fields.some((f) => f.name === 'color'));
  // inferred from files 1-3 (max_files_per_trigger); device.model only ever rescued
  const got = await rows(raw.sql, `SELECT _rescued_data AS r FROM $T WHERE event_id = 'f6-1'`);
  const j = JSON.parse(got[0].r);
  assert.equal(j.color, 'c1');
  assert.equal(j.score, 1.5);
  assert.equal(j['device.model'], 'x1');
  for (const w of exp.valid.values()) { w.color = null; w.score = null; w.model = null; }
  await checkTables(ws, exp, { newCols: false });
  assert.equal(run(['schema', 'history', '-c', ws.config, '--json']).stdout.trim().startsWith('[{"version":1'), true);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('none: new keys are dropped, not rescued', async () => {
  const ws = workspace('evo-none', { extra: 'source:\n  schema_evolution_mode: none\n  max_files_per_trigger: 2\n' + HINT_N });
  const exp = newExp();
  for (let i = 1; i <= 2; i++) writeMix(ws.input, i, exp, { newFrom: 3 });
  assert.equal(availableNow(ws).code, 0);
  for (let i = 3; i <= 4; i++) writeMix(ws.input, i, exp, { newFrom: 3 });
  const r = availableNow(ws);
  assert.equal(r.code, 0, r.stderr);
  const raw = await table(ws, 'raw_events');
  assert.ok(!raw.schema.fields.some((f) => f.name === 'color'));
  for (const w of exp.valid.values()) { w.color = null; w.score = null; w.model = null; }
  await checkTables(ws, exp, { newCols: false });
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('fail_on_new_columns: stops naming file, line, column; nothing of the batch committed; resumes after schema_hints', async () => {
  const base = 'source:\n  schema_evolution_mode: fail_on_new_columns\n  max_files_per_trigger: 1\n';
  const ws = workspace('evo-fail', { transform: 1, writer: 1, extra: base + HINT_N });
  const exp = newExp();
  for (let i = 1; i <= 2; i++) writeMix(ws.input, i, exp, { newFrom: 3, name: `f${i}.jsonl` });
  assert.equal(availableNow(ws).code, 0);
  for (let i = 3; i <= 4; i++) writeMix(ws.input, i, exp, { newFrom: 3, name: `f${i}.jsonl` });
  const r = availableNow(ws);
  assert.notEqual(r.code, 0, 'the pipeline must stop');
  assert.match(r.stderr, /new column '(color|device\.model)' at file=\S*f[34]\.jsonl line=1 \(schema_evolution_mode: fail_on_new_columns/);
  const raw = await table(ws, 'raw_events');
  const files = await rows(raw.sql, 'SELECT DISTINCT _metadata.file_name AS f FROM $T ORDER BY 1');
  assert.deepEqual(files.map((x) => x.f), ['f1.jsonl', 'f2.jsonl'], 'nothing of the failing batch');
  assert.equal(run(['schema', 'history', '-c', ws.config, '--json']).stdout.match(/"version"/g).length, 1);
  // the user adds the new columns; the pipeline resumes from the same batch
  fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace(/schema_hints: .*/,
    'schema_hints: "n BIGINT, color STRING, score DOUBLE, device STRUCT<os: STRING, model: STRING>"'));
  const r2 = availableNow(ws);
  assert.equal(r2.code, 0, r2.stderr);
  await checkTables(ws, exp);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

// fail_on_new_columns with FAILFAST: a new key in the middle of a chunk (no sample sees it),
// before a malformed line: the stop names the new column and its line, as when ingest scanned
// every line, not the malformed record (the review found the malformed record reported).
test('fail_on_new_columns and FAILFAST: a new key before a malformed line is what stops the stream', async () => {
  const base = 'source:\n  schema_evolution_mode: fail_on_new_columns\n  mode: FAILFAST\n  max_files_per_trigger: 1\n';
  const ws = workspace('evo-fail-ff', { transform: 1, writer: 1, extra: base });
  const lines = (p, n) => Array.from({ length: n }, (_, k) => JSON.stringify({ event_id: `${p}${k}`, n: k }));
  fs.writeFileSync(path.join(ws.input, 'f1.jsonl'), lines('a', 40).join('\n') + '\n');
  assert.equal(availableNow(ws).code, 0);
  const b = lines('b', 40);
  b[19] = '{"event_id":"b19","n":19,"color":"x"}';
  b[21] = '{"event_id": broken';
  fs.writeFileSync(path.join(ws.input, 'f2.jsonl'), b.join('\n') + '\n');
  const r = availableNow(ws);
  assert.notEqual(r.code, 0, 'the pipeline must stop');
  assert.match(r.stderr, /new column 'color' at file=\S*f2\.jsonl line=20 \(schema_evolution_mode: fail_on_new_columns/);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('FAILFAST stops at the first malformed line; DROPMALFORMED drops and counts them', async () => {
  const ws = workspace('evo-failfast', { transform: 1, writer: 1, extra: 'source:\n  mode: FAILFAST\n  max_files_per_trigger: 1\n' });
  fs.writeFileSync(path.join(ws.input, 'a.jsonl'), '{"event_id":"a1","n":1}\n');
  const r = availableNow(ws);
  assert.equal(r.code, 0, r.stderr);
  fs.writeFileSync(path.join(ws.input, 'b.jsonl'), '{"event_id":"b1","n":1}\n{"event_id":"b2","n":2}\nnot json\n{"event_id":"b3","n":3}\n');
  const r2 = availableNow(ws);
  assert.notEqual(r2.code, 0);
  assert.match(r2.stderr, /malformed record \(mode: FAILFAST\) at file=\S*b\.jsonl offset=48 line=3 batch=1/);
  const raw = await table(ws, 'raw_events');
  assert.deepEqual((await rows(raw.sql, 'SELECT event_id FROM $T')).map((x) => x.event_id), ['a1']);

  const ws2 = workspace('evo-drop', { extra: 'source:\n  mode: DROPMALFORMED\n' + HINT_N });
  const exp = newExp();
  for (let i = 1; i <= 3; i++) writeMix(ws2.input, i, exp, { newFrom: 99 });
  const r3 = availableNow(ws2);
  assert.equal(r3.code, 0, r3.stderr);
  assert.equal((r3.stderr.match(/malformed record\(s\) dropped \(mode: DROPMALFORMED\)/g) || []).length >= 3, true);
  const dropped = [...r3.stderr.matchAll(/: (\d+) malformed record\(s\) dropped/g)].reduce((s, m) => s + Number(m[1]), 0);
  assert.equal(dropped, exp.corrupt.length);
  await checkTables(ws2, exp, { corruptKept: false, newCols: false });
  fs.rmSync(ws.dir, { recursive: true, force: true });
  fs.rmSync(ws2.dir, { recursive: true, force: true });
});

test('schema hints, renamed rescued column, user schema, infer_column_types false', async () => {
  const ws = workspace('evo-hints', {
    extra: 'source:\n  schema_hints: "n INT, amount DECIMAL(10,2), tags ARRAY<STRING>, ts TIMESTAMP"\n  rescued_data_column: _bad\n',
  });
  fs.writeFileSync(path.join(ws.input, 'a.jsonl'),
    '{"event_id":"a1","n":1,"amount":12.5,"tags":["x"],"ts":"2026-11-30T23:59:59Z"}\n' +
    '{"event_id":"a2","n":3000000000,"amount":"7.25"}\n' +
    '{"event_id":"a3","n":2,"amount":1.234}\n' +
    '{"event_id":"a4","n":4,"Amount":5}\n');
  const r = availableNow(ws);
  assert.equal(r.code, 0, r.stderr);
  const raw = await table(ws, 'raw_events');
  const f = Object.fromEntries(raw.schema.fields.map((x) => [x.name, x.type]));
  assert.equal(f.n, 'integer');
  assert.equal(f.amount, 'decimal(10,2)');
  assert.deepEqual(f.tags, { type: 'array', elementType: 'string', containsNull: true });
  assert.equal(f._bad, 'string');
  assert.equal(f._rescued_data, undefined);
  const got = await rows(raw.sql, 'SELECT event_id, n, amount::VARCHAR AS amount, _bad FROM $T ORDER BY event_id');
  assert.deepEqual(got.map((x) => [x.event_id, x.n, x.amount]),
    [['a1', 1, '12.50'], ['a2', null, '7.25'], ['a3', 2, null], ['a4', 4, null]]);
  assert.equal(JSON.parse(got[1]._bad).n, 3000000000);
  assert.equal(JSON.parse(got[2]._bad).amount, 1.234);
  assert.equal(JSON.parse(got[3]._bad).Amount, 5);
  assert.equal(f.ts, 'timestamp');
  const proc = await table(ws, 'processed_events');
  assert.equal(Number((await rows(proc.sql, 'SELECT count(_bad) AS n FROM $T'))[0].n), 3);
  // a hinted TIMESTAMP ts still gives processed_events its event_date
  const d = await rows(proc.sql, "SELECT event_date::VARCHAR AS d FROM $T WHERE event_id = 'a1'");
  assert.equal(d[0].d, '2026-11-30');

  const ws2 = workspace('evo-user', {
    extra: 'source:\n  schema: "event_id STRING, n LONG"\n  rescued_data_column: false\n',
  });
  fs.writeFileSync(path.join(ws2.input, 'a.jsonl'), '{"event_id":"a1","n":1,"extra":true}\n{"event_id":"a2","n":"x"}\n');
  assert.equal(availableNow(ws2).code, 0);
  const raw2 = await table(ws2, 'raw_events');
  assert.deepEqual(raw2.schema.fields.map((x) => x.name), ['event_id', 'n', '_corrupt_record', '_metadata']);
  assert.deepEqual((await rows(raw2.sql, 'SELECT n FROM $T ORDER BY event_id')).map((x) => x.n === null ? null : Number(x.n)), [1, null]);

  const ws3 = workspace('evo-strings', { extra: 'source:\n  infer_column_types: false\n' });
  fs.writeFileSync(path.join(ws3.input, 'a.jsonl'), '{"event_id":"a1","n":1,"d":{"x":1}}\n');
  assert.equal(availableNow(ws3).code, 0);
  const raw3 = await table(ws3, 'raw_events');
  assert.deepEqual(raw3.schema.fields.slice(0, 3).map((x) => x.type), ['string', 'string', 'string']);
  assert.deepEqual((await rows(raw3.sql, 'SELECT n, d FROM $T')).map((x) => [x.n, x.d]), [['1', '{"x":1}']]);
  fs.rmSync(ws.dir, { recursive: true, force: true });
  fs.rmSync(ws2.dir, { recursive: true, force: true });
  fs.rmSync(ws3.dir, { recursive: true, force: true });
});

test('a hint that would retype a stored column is said once per start, also when ingest restarts', async () => {
  const ws = workspace('evo-hintonce');
  fs.writeFileSync(path.join(ws.input, 'a.jsonl'), '{"event_id":"a1","n":1}\n');
  let r = availableNow(ws);
  assert.equal(r.code, 0, r.stderr);
  fs.appendFileSync(ws.config, 'source:\n  schema_hints: "n INT"\n');
  const said = /schema_hints: column n is long in raw_events version 1; the hint's integer is not applied/g;
  const count = (log) => (log.match(said) || []).length;
  const d = startDaemon(['-c', ws.config]);
  await watching(d, async () => {
    const first = await runningWorker(ws.config, 'ingest', 0);
    await waitLog(d, said);
    // ingest killed: the supervisor starts another, which reads the same schema and hints
    process.kill(first.pid, 'SIGKILL');
    const next = await until(() => {
      const w = status(ws.config)?.workers.find((x) => x.role === 'ingest');
      return w && w.state === 'running' && w.pid > 0 && w.pid !== first.pid ? w : null;
    }, 30000, 'ingest restarted');
    await waitLog(d, new RegExp(`ingest\\[0\\] ${next.pid}: ready`));
    assert.equal(count(d.logs()), 1, 'said once in this start');
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0);
  });
  // the next start says it again, once
  r = availableNow(ws);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(count(r.stderr), 1, r.stderr);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('a bad schema_hints is a configuration error naming the position', () => {
  const ws = workspace('evo-badddl', { extra: 'source:\n  schema_hints: "a LONG, b DECIMAL(50,2)"\n' });
  const r = availableNow(ws);
  assert.equal(r.code, 100);
  assert.match(r.stderr, /source\.schema_hints.*position 11: DECIMAL\(50,2\) is out of range/);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('no hints: a column of numbers with a few odd strings stays numeric; the odd values are rescued (the hidden-mix case)', async () => {
  const ws = workspace('evo-vote', { transform: 2, writer: 2 });
  const exp = newExp();
  for (let i = 1; i <= 8; i++) writeMix(ws.input, i, exp);
  const r = availableNow(ws);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const { raw, rescuedRows } = await checkTables(ws, exp);
  assert.equal(raw.schema.fields.find((f) => f.name === 'n').type, 'long');
  assert.equal(rescuedRows, [...exp.valid.values()].filter((w) => w.rescuedKey).length);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('arrays of structs: a new element field evolves the element struct under add_new_columns, is rescued under rescue', async () => {
  for (const mode of ['add_new_columns', 'rescue']) {
    const ws = workspace(`evo-arr-${mode}`, { extra: `source:\n  schema_evolution_mode: ${mode}\n` });
    const want = new Map();
    const write = (i, withSku) => {
      const lines = [];
      for (let k = 0; k < 30; k++) {
        const id = `a${i}-${k}`;
        const items = [{ a: k }, { a: k + 1 }];
        if (withSku) items[1].sku = `s${k}`;
        lines.push(JSON.stringify({ event_id: id, items }));
        want.set(id, { a: [k, k + 1], sku: withSku ? [null, `s${k}`] : [null, null] });
      }
      const tmp = path.join(ws.input, `.f${i}.tmp`);
      fs.writeFileSync(tmp, lines.join('\n') + '\n');
      fs.renameSync(tmp, path.join(ws.input, `f${i}.jsonl`));
    };
    write(1, false);
    assert.equal(availableNow(ws).code, 0);
    write(2, true);
    const r = availableNow(ws);
    assert.equal(r.code, 0, r.stderr);
    const raw = await table(ws, 'raw_events');
    const items = raw.schema.fields.find((f) => f.name === 'items');
    const elemFields = items.type.elementType.fields.map((f) => f.name);
    const got = await rows(raw.sql, `SELECT event_id, to_json(items) AS items, _rescued_data AS resc FROM $T`);
    assert.equal(got.length, want.size);
    for (const g of got) {
      const w = want.get(g.event_id);
      const it = JSON.parse(g.items);
      assert.deepEqual(it.map((e) => e.a), w.a, `items.a of ${g.event_id}`);
      if (mode === 'add_new_columns') {
        assert.deepEqual(it.map((e) => e.sku ?? null), w.sku, `items.sku of ${g.event_id}`);
        assert.equal(g.resc, null, `${g.event_id} rescued ${g.resc}`);
      } else if (w.sku[1] !== null) {
        assert.ok(g.resc && g.resc.includes(w.sku[1]), `${g.event_id}: sku rescued: ${g.resc}`);
      } else {
        assert.equal(g.resc, null);
      }
    }
    if (mode === 'add_new_columns') {
      assert.deepEqual(elemFields, ['a', 'sku']);
      assert.match(r.stdout + r.stderr, /schema change: raw_events version=2 adds items\.sku string/);
      const proc = await table(ws, 'processed_events');
      const p = await rows(proc.sql, `SELECT count(*) AS n, count(*) FILTER (WHERE items[2].sku IS NOT NULL) AS s FROM $T`);
      assert.deepEqual([Number(p[0].n), Number(p[0].s)], [60, 30]);
    } else {
      assert.deepEqual(elemFields, ['a']);
    }
    fs.rmSync(ws.dir, { recursive: true, force: true });
  }
});

test('DECIMAL(38,10) hints: JSON numbers and strings and CSV fields land exactly (FIXED_LEN_BYTE_ARRAY), with exact Delta stats; what does not fit is rescued', async () => {
  const vals = ['1234567890123456789012345678.0123456789', '-9999999999999999999999999999.9999999999',
    '0.0000000001', '42', '-0.5', '31415926535897932384626.4338327950'];
  const wantText = (v) => {
    const neg = v.startsWith('-');
    const [i, f = ''] = (neg ? v.slice(1) : v).split('.');
    return `${neg ? '-' : ''}${i}.${f.padEnd(10, '0')}`;
  };
  for (const format of ['json', 'csv']) {
    const ws = workspace(`evo-dec38-${format}`, {
      extra: `source:\n  format: ${format}\n${format === 'csv' ? '  header: true\n' : ''}` +
        '  schema_hints: "amount DECIMAL(38,10), small DECIMAL(10,2)"\n',
    });
    const rowsIn = [];
    vals.forEach((v, i) => rowsIn.push({ id: i, amount: v, small: '1.25', raw: format === 'json' && i % 2 ? v : null }));
    rowsIn.push({ id: 100, amount: '1.00000000001', small: '2.50' }); // 11 fraction digits: rescued
    rowsIn.push({ id: 101, amount: '123456789012345678901234567890', small: '3' }); // 30 integer digits > 28
    let text;
    if (format === 'json') {
      // odd rows as JSON numbers (raw text, more digits than a double holds), even ones as strings
      text = rowsIn.map((r) => `{"id":${r.id},"amount":${r.raw ?? JSON.stringify(r.amount)},"small":${r.small}}`).join('\n') + '\n';
    } else {
      text = 'id,amount,small\n' + rowsIn.map((r) => `${r.id},${r.amount},${r.small}`).join('\n') + '\n';
    }
    fs.writeFileSync(path.join(ws.input, `d.${format === 'json' ? 'jsonl' : 'csv'}`), text);
    const r = availableNow(ws);
    assert.equal(r.code, 0, r.stderr);
    for (const name of ['raw_events', 'processed_events']) {
      const t = await table(ws, name);
      const f = t.schema.fields.find((x) => x.name === 'amount');
      assert.equal(f.type, 'decimal(38,10)', `${name} amount type`);
      const got = await rows(t.sql, `SELECT id::BIGINT AS id, amount::VARCHAR AS a, typeof(amount) AS ty, small::VARCHAR AS s,
          _rescued_data AS resc FROM $T ORDER BY id`);
      assert.equal(got.length, rowsIn.length, name);
      for (const g of got) {
        const w = rowsIn.find((x) => x.id === Number(g.id));
        assert.equal(g.ty, 'DECIMAL(38,10)');
        if (w.id >= 100) {
          assert.equal(g.a, null, `${name} id=${w.id}`);
          assert.equal(JSON.parse(g.resc).amount, format === 'json' ? w.amount : w.amount);
        } else {
          assert.equal(g.a, wantText(w.amount), `${name} id=${w.id}`);
          assert.equal(g.resc, null);
        }
      }
      // Delta stats: exact min and max of the wide decimal in the add action
      const log = fs.readdirSync(path.join(ws.tables, name, '_delta_log')).filter((n) => n.endsWith('.json'))
        .map((n) => fs.readFileSync(path.join(ws.tables, name, '_delta_log', n), 'utf8')).join('\n');
      const adds = log.split('\n').filter((l) => l.includes('"add"')).map((l) => JSON.parse(l).add);
      assert.ok(adds.length >= 1);
      const stats = adds.map((a) => a.stats).join('\n');
      assert.match(stats, /"minValues":\{[^}]*"amount":-9999999999999999999999999999\.9999999999[,}]/, `${name} min`);
      assert.match(stats, /"maxValues":\{[^}]*"amount":1234567890123456789012345678\.0123456789[,}]/, `${name} max`);
    }
    // our own reader reads them back exactly too
    const rd = run(['table', 'read', '--path', path.join(ws.tables, 'raw_events'), '--columns', 'id,amount']);
    assert.equal(rd.code, 0, rd.stderr);
    for (const v of vals) assert.ok(rd.stdout.includes(`"amount":${wantText(v)}`), `table read: ${wantText(v)}\n${rd.stdout}`);
    fs.rmSync(ws.dir, { recursive: true, force: true });
  }
});

test('deep nesting: objects and arrays beyond 10 levels are kept as JSON text (inferred at start and added online); both tables complete', async () => {
  const ws = workspace('evo-deep', { extra: 'source:\n  max_files_per_trigger: 1\n' });
  const nest = (n, open, close, leaf) => open.repeat(n) + leaf + close.repeat(n);
  const deep = nest(20, '{"x":', '}', '1');              // d: 21 levels of objects
  const arrs = nest(16, '[{"y":', '}]', '"v"');          // a: 32 levels of arrays and objects
  fs.writeFileSync(path.join(ws.input, 'a1.jsonl'),
    `{"id":1,"d":${deep}}\n{"id":2,"d":null}\n`);
  // a new column as deep as that, in a later batch (schema evolution)
  fs.writeFileSync(path.join(ws.input, 'a2.jsonl'), `{"id":3,"a":${arrs}}\n{"id":4,"a":[]}\n`);
  const r = run(['start', '-c', ws.config, '--trigger', 'available-now'], { timeoutMs: 60000 });
  assert.equal(r.code, 0, `${r.signal ?? ''} ${r.stderr.slice(-3000)}`);
  assert.doesNotMatch(r.stderr, /malformed records message/);
  const raw = await table(ws, 'raw_events');
  const depthOf = (t) => (t && typeof t === 'object' ? 1 + depthOf(t.type === 'array' ? t.elementType
    : t.type === 'struct' ? t.fields[0].type : null) : 0);
  const field = (name) => raw.schema.fields.find((f) => f.name === name).type;
  assert.equal(depthOf(field('d')), 10);
  assert.equal(depthOf(field('a')), 10);
  const got = await rows(raw.sql, `SELECT id::INTEGER AS id, to_json(d) AS d, to_json(a) AS a, _rescued_data AS r
    FROM $T ORDER BY id`);
  assert.deepEqual(got.map((x) => x.id), [1, 2, 3, 4]);
  assert.equal(got.filter((x) => x.r).length, 0, JSON.stringify(got.filter((x) => x.r)));
  // the innermost levels are the JSON text of what was there: nothing lost
  assert.equal(got[0].d.match(/x/g).length, 20, got[0].d);
  assert.equal(got[2].a.match(/y/g).length, 16, got[2].a);
  const proc = await table(ws, 'processed_events');
  const pg = await rows(proc.sql, 'SELECT id::INTEGER AS id FROM $T ORDER BY id');
  assert.deepEqual(pg.map((x) => x.id), [1, 2, 3, 4]);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

// The shard (of count) that takes a file: FNV-1a 64 of its path under source_path, as
// lk_source_cfg_in_shard computes it.
function shardOf(rel, count) {
  let h = 14695981039346656037n;
  for (const b of Buffer.from(rel)) h = ((h ^ BigInt(b)) * 1099511628211n) & 0xffffffffffffffffn;
  return Number(h % BigInt(count));
}

// Instances that share the tables infer their own raw types: one's device struct has {os,
// version}, the next one's {os, model}. The table keeps every child (the batch's union with the
// table, struct by struct: the second instance's commit used to set its own {os, model} and hide
// every version written before); the files of each read the children they lack as null. A third
// whose version is a number cannot be merged: its batch is refused naming the column, nothing of
// it committed.
test('shared tables (source.shard): a struct keeps the children another instance\'s batch lacks, and gains its new ones', async () => {
  const ws = workspace('evo-shard-struct', { transform: 1, writer: 1 });
  const cfg = (i) => {
    const file = path.join(ws.dir, `shard${i}.yml`);
    fs.writeFileSync(file, fs.readFileSync(ws.config, 'utf8').replace(`${ws.dir}/checkpoints`, `${ws.dir}/checkpoints-${i}`) +
      `source:\n  shard: {index: ${i}, count: 3}\n`);
    return file;
  };
  const nameFor = (shard) => {
    for (let k = 0; ; k++) if (shardOf(`s${shard}-${k}.jsonl`, 3) === shard) return `s${shard}-${k}.jsonl`;
  };
  const write = (shard, device) => {
    const name = nameFor(shard);
    const lines = [];
    for (let k = 0; k < 20; k++) lines.push(JSON.stringify({ event_id: `s${shard}-${k}`, ts: '2026-11-30T10:00:00Z', device: device(k) }));
    fs.writeFileSync(path.join(ws.input, `.${name}.tmp`), lines.join('\n') + '\n');
    fs.renameSync(path.join(ws.input, `.${name}.tmp`), path.join(ws.input, name));
  };
  const once = (i) => run(['start', '-c', cfg(i), '--trigger', 'available-now']);
  write(0, (k) => ({ os: 'linux', version: `v${k}` }));
  let r = once(0);
  assert.equal(r.code, 0, r.stderr);
  write(1, (k) => ({ os: 'mac', model: `m${k}` }));
  r = once(1);
  assert.equal(r.code, 0, r.stderr);
  const raw = await table(ws, 'raw_events');
  const device = raw.schema.fields.find((f) => f.name === 'device');
  assert.deepEqual(device.type.fields.map((f) => [f.name, f.type, f.nullable]),
    [['os', 'string', true], ['version', 'string', true], ['model', 'string', true]]);
  const got = await rows(raw.sql, `SELECT event_id AS id, device.os AS os, device.version AS v, device.model AS m FROM $T ORDER BY 1`);
  assert.equal(got.length, 40);
  for (const g of got) {
    const [, shard, k] = /^s(\d)-(\d+)$/.exec(g.id);
    assert.deepEqual([g.os, g.v, g.m], shard === '0' ? ['linux', `v${k}`, null] : ['mac', null, `m${k}`], g.id);
  }
  // each file as it was written: the first instance's lack model, the second's version
  const perFile = await Promise.all(raw.snap.files.map(async (f) =>
    (await query(`DESCRIBE SELECT device FROM read_parquet(${sqlStr(f.fullPath)})`))[0].column_type));
  assert.deepEqual(perFile.sort(), ['STRUCT(os VARCHAR, "version" VARCHAR)', 'STRUCT(os VARCHAR, model VARCHAR)'].sort());
  // processed_events' flattened columns: every one kept, too
  const proc = await table(ws, 'processed_events');
  const p = await rows(proc.sql, 'SELECT count(device_version) AS v, count(device_model) AS m FROM $T');
  assert.deepEqual([Number(p[0].v), Number(p[0].m)], [20, 20]);
  // a third instance infers version as a number: refused, naming the column; nothing committed
  const before = raw.snap.version;
  write(2, (k) => ({ os: 'bsd', version: k }));
  r = once(2);
  assert.equal(r.code, 100, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /raw_events: column 'device\.version' is STRING in the table and LONG in the batch/);
  assert.equal((await table(ws, 'raw_events')).snap.version, before);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});
