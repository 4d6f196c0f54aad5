// transform.dedupe (issue 12, dropDuplicatesWithinWatermark): input with duplicates inside a chunk,
// across the chunks of a batch, across batches, copies beyond `within` (kept) and time-less rows
// (never duplicates), and the reference answer by DuckDB: a row is kept unless an earlier row
// (file, then line order) with the same event_id and an event time within `within` of its own
// exists. The input is built so that the duplicates of a key are all within seconds of its first
// row and its copies beyond `within` have none, so "an earlier row" is always a kept one and the
// query states the semantics directly.
import fs from 'node:fs';
import path from 'node:path';
import { query, sqlStr } from './delta.mjs';
import { METRICS_CONFIG, rng } from './windows.mjs';

export const WITHIN_MS = 600000;

/** METRICS_CONFIG (1-minute windows by event_type, 30 s watermark) with transform.dedupe. */
export const DEDUPE_CONFIG = METRICS_CONFIG.replace(
  '  watermark: "30 seconds"\n',
  '  watermark: "30 seconds"\n  dedupe: {keys: [event_id], within: "10 minutes"}\n');

const TYPES = ['click', 'purchase', 'login', 'page_view', 'share'];
const T0 = Date.parse('2026-11-24T09:00:00Z');

/**
 * `files` JSON-lines files (one batch each with max_files_per_trigger: 1) of `rows` rows (~100
 * bytes each: two chunks or more at chunk_bytes 65536), event times rising 90 s per file and in
 * order within it (so no kept row is late). Duplicates: a copy of row i - 3 after every 40th row
 * (inside a chunk), copies of rows 600 back (another chunk of the batch), copies of rows of the
 * file before (another batch; their time is that row's + 3 s), and from file 8 on copies of ids
 * of file f - 8 at the current time (12 minutes on: beyond `within`, kept). Two rows with no ts
 * share an id (never duplicates); a corrupt line every 97 rows. Returns the number of lines written.
 */
export function genDedupeInput(dir, { files = 9, rows = 1300, seed = 5, prefix = 'd' } = {}) {
  const r = rng(seed);
  const byFile = [];
  let n = 0;
  const iso = (t) => new Date(t).toISOString();
  for (let f = 0; f < files; f++) {
    const base = T0 + f * 90000;
    const orig = [], lines = [];
    const row = (id, t, extra = {}) => ({
      event_id: id, event_type: TYPES[Math.floor(r() * TYPES.length)], ts: t === null ? null : iso(t),
      amount: Math.round(r() * 100000) / 100, note: 'x'.repeat(20), ...extra,
    });
    for (let i = 0; i < rows; i++) {
      const t = base + Math.floor((i * 88000) / rows);
      const o = row(`e-${f}-${i}`, t);
      orig.push({ ...o, t });
      lines.push(o);
      if (i % 40 === 39) lines.push(row(orig[i - 3].event_id, orig[i - 3].t + 2000));
      if (i >= 600 && i % 200 === 100) lines.push(row(orig[i - 600].event_id, orig[i - 600].t + 1000));
      if (f > 0 && i % 130 === 0) {
        const p = byFile[f - 1][Math.floor(r() * rows)];
        lines.push(row(p.event_id, p.t + 3000));
      }
      if (f >= 8 && i % 400 === 200) lines.push(row(byFile[f - 8][i].event_id, t + 500));
      // a corrupt line now and then: in raw_events, not in processed_events, so that a row's place
      // among the raw rows and in processed_events differ (the drop list names raw rows)
      if (i % 97 === 50) lines.push(`{"event_id": "broken-${f}-${i}", "ts": `);
    }
    lines.push(row(`none-${f}`, null), row(`none-${f}`, null));
    byFile.push(orig);
    fs.writeFileSync(path.join(dir, `${prefix}-${String(f).padStart(3, '0')}.jsonl`),
      lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
    n += lines.length;
  }
  return n;
}

/**
 * DuckDB's answer over the input files (in batch or name order, then line order): {kept: [{event_id, t,
 * amount, event_type}] sorted, dropped: count, windows: the closed 1-minute windows of the kept rows with an
 * event time (end <= max(t) - 30 s), watermark}.
 */
export async function dedupeReference(dir, batchOf = null) {
  // in batch order (batchOf: file name -> batch, batchOfFiles), else in name order
  const files = fs.readdirSync(dir).filter((x) => x.endsWith('.jsonl')).sort();
  if (batchOf) files.sort((a, b) => batchOf.get(a) - batchOf.get(b) || (a < b ? -1 : 1));
  const all = [];
  files.forEach((f, fi) =>
    fs.readFileSync(path.join(dir, f), 'utf8').trim().split('\n').forEach((l, li) => {
      let o;
      try { o = JSON.parse(l); } catch { return; } // a corrupt line: never in processed_events
      all.push({ ord: fi * 1e6 + li, event_id: o.event_id, event_type: o.event_type, t: o.ts === null ? null : Date.parse(o.ts), amount: o.amount });
    }));
  const tmp = path.join(dir, '..', 'dedupe-reference.jsonl');
  fs.writeFileSync(tmp, all.map((x) => JSON.stringify(x)).join('\n') + '\n');
  const src = `read_json(${sqlStr(tmp)}, format='newline_delimited', columns={ord:'BIGINT', event_id:'VARCHAR', event_type:'VARCHAR', t:'BIGINT', amount:'DOUBLE'})`;
  const keptSql =
    `WITH r AS (SELECT * FROM ${src}) SELECT * FROM r WHERE t IS NULL OR NOT EXISTS (` +
    `SELECT 1 FROM r e WHERE e.event_id = r.event_id AND e.ord < r.ord AND e.t IS NOT NULL ` +
    `AND abs(e.t - r.t) < ${WITHIN_MS})`;
  const kept = await query(`SELECT event_id, t, amount, event_type FROM (${keptSql}) ORDER BY event_id, t, amount`);
  const [{ wm }] = await query(`SELECT max(t) - 30000 AS wm FROM (${keptSql})`);
  const windows = await query(
    `SELECT epoch_ms(time_bucket(INTERVAL 60 SECOND, to_timestamp(t / 1000))) AS ws, event_type, count(*) AS events, ` +
    `sum(amount) AS amount_sum, max(amount) AS amount_max, min(amount) AS amount_min, avg(amount) AS amount_avg, ` +
    `count(amount) AS with_amount FROM (${keptSql}) WHERE t IS NOT NULL ` +
    `GROUP BY 1, 2 HAVING ws + 60000 <= ${Number(wm)} ORDER BY ws, event_type`);
  const lines = files.reduce((n, f) => n + fs.readFileSync(path.join(dir, f), 'utf8').trim().split('\n').length, 0);
  return { kept, dropped: all.length - kept.length, windows, watermark: Number(wm), total: lines };
}
