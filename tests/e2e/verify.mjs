#!/usr/bin/env node
// Independent check of a lakesupd table against the input files:
//   node tests/e2e/verify.mjs --table DIR [--input DIR --kind raw|processed]
// Replays the Delta log (lib/delta.mjs), reads the live Parquet files with
// DuckDB, and checks that every input event is in the table exactly once
// with the input's values (and, for raw, every corrupt line kept whole).
// Exit 0 when all holds; 1 with the first problems listed otherwise.
import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';
import path from 'node:path';
import { replay } from './lib/delta.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : true]);
  return acc;
}, []));
if (!args.table) {
  console.error('usage: verify.mjs --table DIR [--input DIR --kind raw|processed]');
  process.exit(2);
}

const db = await DuckDBInstance.create(':memory:');
const duck = await db.connect();
const snap = await replay(args.table, { duck });
const live = [...snap.files.keys()].map((p) => (path.isAbsolute(p) ? p : path.join(args.table, p)));
const summary = { table: args.table, version: snap.version, files: live.length, rows: 0 };
const sqlList = live.map((f) => `'${f.replace(/'/g, "''")}'`).join(',');
if (live.length) {
  const r = await duck.runAndReadAll(`SELECT count(*) AS n FROM read_parquet([${sqlList}], union_by_name=true)`);
  summary.rows = Number(r.getRowObjects()[0].n);
}
if (!args.input) {
  console.log(JSON.stringify(summary));
  process.exit(0);
}

// the input, read independently
const expected = new Map();
const corrupt = [];
for (const f of fs.readdirSync(args.input).sort()) {
  if (!/\.(jsonl|json|ndjson)$/.test(f) || f.startsWith('.')) continue;
  for (let line of fs.readFileSync(path.join(args.input, f), 'utf8').split('\n')) {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (!line.trim()) continue;
    let v;
    try { v = JSON.parse(line); } catch { v = undefined; }
    if (v && typeof v === 'object' && !Array.isArray(v)) expected.set(v.event_id, { v, file: f });
    else corrupt.push(line);
  }
}

const kind = args.kind || 'raw';
const problems = [];
const cols = kind === 'raw'
  ? `event_id, user_id, event_type, ts, amount, country, device.os AS device_os, device.version AS device_version,
     message, _corrupt_record, _metadata.file_name AS file_name, _rescued_data`
  : `event_id, user_id, event_type, epoch_us(ts) AS ts_us, amount, country, device_os, device_version, message,
     processed_at IS NOT NULL AS has_processed_at, _rescued_data`;
const rows = live.length
  ? (await duck.runAndReadAll(`SELECT ${cols} FROM read_parquet([${sqlList}], union_by_name=true)`)).getRowObjects()
  : [];
const seen = new Map();
const corruptSeen = [];
for (const r of rows) {
  if (kind === 'raw' && r._corrupt_record !== null) {
    corruptSeen.push(r._corrupt_record);
    if (r.event_id !== null) problems.push(`corrupt row has event_id ${r.event_id}`);
    continue;
  }
  seen.set(r.event_id, (seen.get(r.event_id) || 0) + 1);
  const e = expected.get(r.event_id);
  if (!e) { problems.push(`unexpected event_id ${r.event_id}`); continue; }
  const v = e.v;
  const diffs = [];
  const eq = (name, got, want) => { if (got !== want) diffs.push(`${name}: got ${JSON.stringify(String(got))} want ${JSON.stringify(String(want))}`); };
  eq('user_id', r.user_id === null ? null : Number(r.user_id), v.user_id ?? null);
  eq('event_type', r.event_type, v.event_type ?? null);
  eq('amount', r.amount, v.amount ?? null);
  eq('country', r.country, v.country ?? null);
  eq('message', r.message, v.message ?? null);
  eq('device_os', r.device_os, v.device?.os ?? null);
  eq('device_version', r.device_version, v.device?.version ?? null);
  if (kind === 'raw') {
    eq('ts', r.ts, v.ts ?? null);
    eq('file_name', r.file_name, e.file);
  } else {
    eq('ts', r.ts_us === null ? null : Number(r.ts_us), v.ts ? Date.parse(v.ts) * 1000 : null);
    eq('processed_at', r.has_processed_at, true);
  }
  if (diffs.length) problems.push(`${r.event_id}: ${diffs.join('; ')}`);
}
for (const [id, n] of seen) if (n > 1) problems.push(`event_id ${id} appears ${n} times`);
let missing = 0;
for (const id of expected.keys()) if (!seen.has(id)) { if (missing++ < 5) problems.push(`event_id ${id} is missing`); }
if (missing > 5) problems.push(`... ${missing} missing in all`);
if (kind === 'raw') {
  const want = [...corrupt].sort(), got = [...corruptSeen].sort();
  if (want.length !== got.length) problems.push(`${got.length} corrupt rows, ${want.length} corrupt input lines`);
  else for (let i = 0; i < want.length; i++) if (want[i] !== got[i]) { problems.push(`corrupt line differs: ${JSON.stringify(got[i])} vs ${JSON.stringify(want[i])}`); break; }
}
summary.checked = { kind, events: expected.size, corrupt: corrupt.length, problems: problems.length };
console.log(JSON.stringify(summary));
if (problems.length) {
  console.error(problems.slice(0, 10).join('\n'));
  process.exit(1);
}
