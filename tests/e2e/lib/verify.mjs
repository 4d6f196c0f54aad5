// verify.mjs — checks a lakesupd Delta table against the generator's JSON-lines input.
//
// summarize(table) replays the log (delta.mjs) and counts rows with DuckDB. verify({table, input,
// kind}) parses the input in JS (valid events vs corrupt lines), reads the live Parquet files with
// DuckDB read_parquet(union_by_name) and checks: every input event_id exactly once, values equal
// the input (unicode messages exactly; raw keeps ts as the ISO string and device as a struct;
// processed has ts as an instant, device_os/device_version, a non-null processed_at and no
// corrupt rows), raw has one _corrupt_record row per corrupt line and _metadata.file_name naming
// the source file. Returns {ok, problems:[...], problemCount, summary}.
import fs from 'node:fs';
import path from 'node:path';
import { replay, duck, readTableSql } from './delta.mjs';

export async function summarize(table, opts = {}) {
  const snap = await replay(table, opts);
  const sql = await readTableSql(snap);
  let rows = 0;
  let columns = [];
  if (sql) {
    const conn = await duck();
    rows = Number((await conn.runAndReadAll(`SELECT count(*) AS n FROM ${sql}`)).getRowObjectsJS()[0].n);
    columns = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${sql}`)).getRowObjectsJS()
      .map((r) => ({ name: r.column_name, type: r.column_type }));
  }
  return {
    table, version: snap.version, checkpointVersion: snap.checkpointVersion,
    files: snap.files.length, bytes: snap.files.reduce((s, f) => s + (f.size ?? 0), 0),
    rows, columns, txns: snap.txns, snapshot: snap,
  };
}

// Input: {events: Map(event_id -> {ev, file}), corrupt: [{text, file}], duplicateIds: [...]}
export function loadInput(dir) {
  const names = fs.readdirSync(dir).filter((n) => !n.startsWith('.') && /\.(jsonl|json|ndjson)$/.test(n)).sort();
  const events = new Map();
  const corrupt = [];
  const duplicateIds = [];
  for (const name of names) {
    const text = fs.readFileSync(path.join(dir, name), 'utf8');
    for (const raw of text.split('\n')) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() === '') continue;
      let ev;
      try { ev = JSON.parse(line); } catch { ev = undefined; }
      if (ev === null || typeof ev !== 'object' || Array.isArray(ev) || typeof ev.event_id !== 'string') {
        corrupt.push({ text: line, file: name });
        continue;
      }
      if (events.has(ev.event_id)) duplicateIds.push(ev.event_id);
      events.set(ev.event_id, { ev, file: name });
    }
  }
  return { files: names, events, corrupt, duplicateIds };
}

function eqAmount(a, b) {
  if (a === null || a === undefined) return b === null || b === undefined;
  if (b === null || b === undefined) return false;
  return Math.abs(Number(a) - Number(b)) <= 1e-9 * Math.max(1, Math.abs(Number(a)));
}

const show = (v) => JSON.stringify(v);

export async function verify({ table, input, kind = 'raw', maxProblems = 10 }) {
  if (kind !== 'raw' && kind !== 'processed') throw new Error(`kind must be raw or processed, not ${kind}`);
  const problems = [];
  let problemCount = 0;
  const problem = (msg) => { problemCount++; if (problems.length < maxProblems) problems.push(msg); };

  const summary = await summarize(table);
  const inp = loadInput(input);
  for (const id of inp.duplicateIds) problem(`input itself has duplicate event_id ${id}`);
  const sql = await readTableSql(summary.snapshot);
  delete summary.snapshot;
  const colTypes = new Map(summary.columns.map((c) => [c.name, c.type]));
  const need = kind === 'raw'
    ? ['event_id', 'user_id', 'event_type', 'ts', 'amount', 'country', 'device', 'message', '_corrupt_record', '_metadata']
    : ['event_id', 'user_id', 'event_type', 'ts', 'amount', 'country', 'device_os', 'device_version', 'message', 'processed_at', 'event_date'];
  for (const c of need) if (sql && !colTypes.has(c)) problem(`table has no column ${c} (columns: ${[...colTypes.keys()].join(', ')})`);

  let rows = [];
  if (sql && problemCount === 0) {
    const sel = need.filter((c) => colTypes.has(c)).map((c) => {
      const t = colTypes.get(c);
      if (c === 'ts' && kind === 'processed') return /TIMESTAMP|DATE/.test(t) ? 'epoch_ms(ts) AS ts' : 'ts';
      if (c === 'processed_at') return 'processed_at IS NOT NULL AS processed_at';
      if (c === 'event_date') return "strftime(CAST(event_date AS DATE), '%Y-%m-%d') AS event_date";
      if (c === '_metadata') return "_metadata.file_name AS _file_name";
      return `"${c}"`;
    });
    if (kind === 'processed' && colTypes.has('_corrupt_record')) sel.push('_corrupt_record');
    const conn = await duck();
    const r = await conn.runAndReadAll(`SELECT to_json(t) AS j FROM (SELECT ${sel.join(', ')} FROM ${sql}) t`);
    rows = r.getRowsJS().map((x) => JSON.parse(x[0]));
    if (kind === 'processed' && !/TIMESTAMP/.test(colTypes.get('ts') ?? '')) {
      problem(`processed ts has type ${colTypes.get('ts')}, expected TIMESTAMP WITH TIME ZONE or TIMESTAMP`);
    }
  }

  const seen = new Map();
  const corruptRows = [];
  for (const row of rows) {
    if (row._corrupt_record !== null && row._corrupt_record !== undefined) {
      if (kind === 'processed') problem(`processed table has a corrupt row: ${show(row._corrupt_record)}`);
      corruptRows.push(row);
      continue;
    }
    const id = row.event_id;
    seen.set(id, (seen.get(id) ?? 0) + 1);
    if (seen.get(id) === 2) problem(`duplicate event_id ${id} in table`);
    if (seen.get(id) > 1) continue;
    const src = inp.events.get(id);
    if (!src) { problem(`event_id ${show(id)} in table is not in the input`); continue; }
    const ev = src.ev;
    const diff = [];
    if (Number(row.user_id) !== ev.user_id) diff.push(`user_id ${show(row.user_id)} != ${show(ev.user_id)}`);
    if (row.event_type !== ev.event_type) diff.push(`event_type ${show(row.event_type)} != ${show(ev.event_type)}`);
    if (!eqAmount(ev.amount, row.amount)) diff.push(`amount ${show(row.amount)} != ${show(ev.amount)}`);
    if (row.country !== ev.country) diff.push(`country ${show(row.country)} != ${show(ev.country)}`);
    if (row.message !== ev.message) diff.push(`message ${show(row.message)} != ${show(ev.message)}`);
    if (kind === 'raw') {
      if (row.ts !== ev.ts) diff.push(`ts ${show(row.ts)} != ${show(ev.ts)}`);
      const d = row.device ?? {};
      if (d.os !== ev.device?.os || d.version !== ev.device?.version) diff.push(`device ${show(d)} != ${show(ev.device)}`);
      const fname = row._file_name == null ? null : path.basename(decodeURIComponent(String(row._file_name).replace(/^file:/, '')));
      if (fname !== src.file) diff.push(`_metadata.file_name ${show(row._file_name)} != ${show(src.file)}`);
    } else {
      if (Number(row.ts) !== Date.parse(ev.ts)) diff.push(`ts ${show(row.ts)} (epoch ms) != ${Date.parse(ev.ts)} (${ev.ts})`);
      if (row.device_os !== ev.device?.os) diff.push(`device_os ${show(row.device_os)} != ${show(ev.device?.os)}`);
      if (row.device_version !== ev.device?.version) diff.push(`device_version ${show(row.device_version)} != ${show(ev.device?.version)}`);
      if (row.processed_at !== true) diff.push('processed_at is null');
      const day = new Date(Date.parse(ev.ts)).toISOString().slice(0, 10);
      if (row.event_date !== day) diff.push(`event_date ${show(row.event_date)} != ${day} (the UTC day of ${ev.ts})`);
    }
    if (diff.length) problem(`event_id ${id}: ${diff.join('; ')}`);
  }
  let missing = 0;
  for (const id of inp.events.keys()) {
    if (!seen.has(id)) { missing++; problem(`event_id ${id} missing from table`); }
  }
  const duplicates = [...seen.values()].reduce((s, n) => s + (n > 1 ? n - 1 : 0), 0);

  if (kind === 'raw') {
    if (corruptRows.length !== inp.corrupt.length) {
      problem(`corrupt rows: table has ${corruptRows.length}, input has ${inp.corrupt.length} corrupt lines`);
    }
    const have = new Map();
    for (const r of corruptRows) have.set(r._corrupt_record, (have.get(r._corrupt_record) ?? 0) + 1);
    for (const c of inp.corrupt) {
      const n = have.get(c.text) ?? 0;
      if (n === 0) problem(`corrupt line from ${c.file} not in _corrupt_record: ${show(c.text)}`);
      else have.set(c.text, n - 1);
    }
  }

  Object.assign(summary, {
    kind, inputFiles: inp.files.length, inputEvents: inp.events.size, inputCorrupt: inp.corrupt.length,
    tableEvents: seen.size, tableCorrupt: corruptRows.length, missing, duplicates,
  });
  return { ok: problemCount === 0, problemCount, problems, summary };
}
