// event_metrics (issue 12): input with out-of-order, late and time-less rows, and the reference
// answer: the watermark replayed over the real batch boundaries (read from raw_events' data files,
// named part-<batch>-...), the non-late rows aggregated by DuckDB's GROUP BY time_bucket.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { query, queryTable, replay, sqlStr } from './delta.mjs';

export const METRICS_CONFIG =
  'source:\n  max_files_per_trigger: 1\n  chunk_bytes: 65536\n' +
  'transform:\n  event_time: ts\n  watermark: "30 seconds"\n' +
  'metrics:\n' +
  '  window: "1 minute"\n' +
  '  group_by: [event_type]\n' +
  '  aggregates: {events: "count(*)", amount_sum: "sum(amount)", amount_max: "max(amount)", ' +
  'amount_min: "min(amount)", amount_avg: "avg(amount)", with_amount: "count(amount)"}\n' +
  '  output_mode: append\n';

/** METRICS_CONFIG plus min/max of a string and approx_percentile's array form, over the `label`
 * column of genWindowInput({labels: true}); readMetrics({text: true}) reads them and
 * assertWindows checks them (percentiles exactly: a window of fewer than 400 values). */
export function withTextAggregates(config) {
  return config.replace('with_amount: "count(amount)"}',
    'with_amount: "count(amount)", label_min: "min(label)", label_max: "max(label)", ' +
    'amount_ps: "approx_percentile(amount, array(0.5, 0.9))"}');
}

const TYPES = ['click', 'purchase', 'login', 'page_view', 'share'];
const T0 = Date.parse('2026-11-24T09:00:00Z');

export function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** ms as an ISO string in one of several zones (Z, +02:00, -05:30): the same instant. */
function iso(ms, r) {
  const z = r();
  const off = z < 0.5 ? 0 : z < 0.75 ? 120 : -330;
  const d = new Date(ms + off * 60000).toISOString().slice(0, 23);
  if (!off) return d + 'Z';
  const sign = off > 0 ? '+' : '-', a = Math.abs(off);
  return `${d}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/**
 * Writes `files` JSON-lines files (one batch each with max_files_per_trigger: 1) of `rows` rows:
 * times advance ~90 s per file with jitter (out of order within the lateness), ~4 % late (minutes
 * behind), ~1 % with a null ts and ~1 % with an unparsable one. `baseMs` shifts every time
 * (a second run's late file: far behind). `labels`: each row also has a `label`, a UTF-8 string
 * (null in ~5 %) whose pieces sort differently by bytes and by UTF-16 (from a second generator:
 * the other columns are the same with or without). Returns the rows written, by file.
 */
export function genWindowInput(dir, { files = 5, rows = 400, seed = 7, prefix = 'w', baseMs = T0, idFrom = 0, labels = false } = {}) {
  const r = rng(seed), rl = rng(seed * 31 + 5);
  const pieces = ['a', 'ab', 'Z', 'é', '😀', '～', '~', 'ü', 'Zz'];
  const out = [];
  let id = idFrom;
  for (let f = 0; f < files; f++) {
    const lines = [], list = [];
    const base = baseMs + f * 90000;
    for (let i = 0; i < rows; i++) {
      const u = r();
      let ts;
      let t = base + Math.floor((i * 90000) / rows) + Math.floor(r() * 25000) - 20000;
      if (u < 0.01) ts = null;
      else if (u < 0.02) ts = 'not a time';
      else if (u < 0.06) { t = base - 120000 - Math.floor(r() * 300000); ts = iso(t, r); }
      else ts = iso(t, r);
      const row = {
        event_id: `e-${String(id++).padStart(7, '0')}`,
        event_type: TYPES[Math.floor(r() * TYPES.length)],
        ts,
        amount: r() < 0.05 ? null : Math.round(r() * 100000) / 100,
      };
      if (labels) {
        const n = rl() < 0.003 ? 0 : 1 + Math.floor(rl() * 3); // a rare empty string
        row.label = rl() < 0.05 ? null : Array.from({ length: n }, () => pieces[Math.floor(rl() * pieces.length)]).join('');
      }
      lines.push(JSON.stringify(row));
      list.push(row);
    }
    fs.writeFileSync(path.join(dir, `${prefix}-${String(f).padStart(3, '0')}.jsonl`), lines.join('\n') + '\n');
    out.push(list);
  }
  return out;
}

/** file name → batch id, from raw_events' live data files (part-<batch>-<chunk>-...parquet). */
export async function batchOfFiles(tables) {
  const snap = await replay(path.join(tables, 'raw_events'));
  const list = '[' + snap.files.map((f) => sqlStr(f.fullPath)).join(',') + ']';
  const got = await query(
    `SELECT DISTINCT _metadata.file_path AS f, regexp_extract(filename, 'part-([0-9]+)-', 1) AS b ` +
    `FROM read_parquet(${list}, filename = true, union_by_name = true)`);
  const m = new Map();
  for (const g of got) {
    const b = Number(g.b), f = path.basename(g.f);
    assert.ok(!m.has(f) || m.get(f) === b, `${f} in one batch`);
    m.set(f, b);
  }
  return m;
}

/**
 * The reference: rows classified against the watermark in force for their batch (max event time
 * of the batches before it, minus 30 s), then the closed windows (end <= final watermark) of the
 * non-late rows, by DuckDB. Returns {windows, late, none, watermark}.
 */
export async function reference(inputDirs, tables, { delayMs = 30000, sizeMs = 60000, slideMs = sizeMs, gapMs = 0 } = {}) {
  const batchOf = await batchOfFiles(tables);
  const byBatch = new Map();
  for (const dir of inputDirs)
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.jsonl'))) {
      const b = batchOf.get(f);
      assert.ok(b !== undefined, `${f}: its batch is known`);
      const rows = fs.readFileSync(path.join(dir, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      byBatch.set(b, (byBatch.get(b) || []).concat(rows));
    }
  let wm = -Infinity, max = -Infinity;
  const keep = [], late = new Set(), none = new Set(), watermarks = [], rowsThrough = [];
  let seen = 0;
  for (const b of [...byBatch.keys()].sort((x, y) => x - y)) {
    let bmax = -Infinity;
    for (const row of byBatch.get(b)) {
      const t = row.ts === null ? NaN : Date.parse(row.ts);
      if (Number.isNaN(t)) { none.add(row.event_id); continue; }
      bmax = Math.max(bmax, t);
      if (t < wm) { late.add(row.event_id); continue; }
      keep.push({ ...row, t });
    }
    max = Math.max(max, bmax);
    if (max - delayMs > wm) wm = max - delayMs;
    watermarks[b] = wm;
    seen += byBatch.get(b).length;
    rowsThrough[b] = seen;
  }
  const tmp = path.join(tables, '..', '..', '..', 'reference.jsonl');
  // tumbling: DuckDB's time_bucket; sliding: every window [s, s + size) with s a multiple of slide
  // containing t (Spark's window()), one line per (row, window)
  const lines = [];
  for (const k of keep) {
    const label = k.label === undefined ? null : k.label;
    if (slideMs === sizeMs) { lines.push({ event_type: k.event_type, t: k.t, amount: k.amount, ws: null, label }); continue; }
    for (let s = Math.floor(k.t / slideMs) * slideMs; s + sizeMs > k.t; s -= slideMs)
      lines.push({ event_type: k.event_type, t: k.t, amount: k.amount, ws: s, label });
  }
  fs.writeFileSync(tmp, lines.map((x) => JSON.stringify(x)).join('\n') + '\n');
  const cols = `columns={event_type:'VARCHAR', t:'BIGINT', amount:'DOUBLE', ws:'BIGINT', label:'VARCHAR'}`;
  if (gapMs) {
    // session windows, as DuckDB sessionizes: a key's rows in time order, a new session where
    // the gap to the previous row is gap or more; [first, last + gap)
    const sessions = await query(
      `WITH r AS (SELECT * FROM read_json(${sqlStr(tmp)}, format='newline_delimited', ${cols})), ` +
      `s AS (SELECT *, CASE WHEN t - lag(t) OVER (PARTITION BY event_type ORDER BY t) < ${gapMs} THEN 0 ELSE 1 END AS fresh FROM r), ` +
      `g AS (SELECT *, sum(fresh) OVER (PARTITION BY event_type ORDER BY t ROWS UNBOUNDED PRECEDING) AS sid FROM s) ` +
      `SELECT min(t) AS ws, max(t) + ${gapMs} AS we, event_type, count(*) AS events, sum(amount) AS amount_sum, ` +
      `max(amount) AS amount_max, min(amount) AS amount_min, avg(amount) AS amount_avg, count(amount) AS with_amount, ${TEXT_REF} ` +
      `FROM g GROUP BY event_type, sid HAVING max(t) + ${gapMs} <= ${wm} ORDER BY ws, event_type`);
    return { windows: sessions, late, none, watermark: wm, watermarks, rowsThrough };
  }
  const wsExpr = slideMs === sizeMs ? `epoch_ms(time_bucket(INTERVAL ${sizeMs / 1000} SECOND, to_timestamp(t / 1000)))` : 'ws';
  const windows = await query(
    `SELECT ${wsExpr} AS ws, event_type, count(*) AS events, ` +
    `sum(amount) AS amount_sum, max(amount) AS amount_max, min(amount) AS amount_min, avg(amount) AS amount_avg, ` +
    `count(amount) AS with_amount, ${TEXT_REF} ` +
    `FROM read_json(${sqlStr(tmp)}, format='newline_delimited', ${cols}) ` +
    `GROUP BY 1, 2 HAVING ws + ${sizeMs} <= ${wm} ORDER BY ws, event_type`);
  return { windows, late, none, watermark: wm, watermarks, rowsThrough };
}

// withTextAggregates' columns, by DuckDB: binary collation (UTF-8 byte order, Spark's), and
// quantile_disc (Spark's approx_percentile, exact below 2 * the digest's compression values)
const TEXT_REF = 'min(label) AS label_min, max(label) AS label_max, quantile_disc(amount, [0.5, 0.9]) AS amount_ps';

export async function readMetrics(tables, where = '', { text = false } = {}) {
  return queryTable(path.join(tables, 'event_metrics'),
    `SELECT epoch_ms(window_start) AS ws, epoch_ms(window_end) AS we, event_type, events, amount_sum, amount_max, ` +
    `amount_min, amount_avg, with_amount${text ? ', label_min, label_max, amount_ps' : ''} FROM $T ${where} ORDER BY ws, event_type`);
}

const close = (a, b) => (a === null || b === null ? a === b : Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)));

/** event_metrics equals the reference: every closed window once, every value. */
export function assertWindows(got, want, note = '', sizeMs = 60000) {
  // sessions: each window's end is the reference's (sizes vary)
  const seen = new Set();
  for (const g of got) {
    const k = `${g.ws}|${g.event_type}`;
    assert.ok(!seen.has(k), `${note}window ${k} emitted twice`);
    seen.add(k);
    if (sizeMs) assert.equal(Number(g.we) - Number(g.ws), sizeMs, `${note}window ${k}: its size`);
  }
  assert.equal(got.length, want.length, `${note}closed windows: ${got.length} written, ${want.length} expected`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i], k = `${w.ws}|${w.event_type}`;
    assert.equal(Number(g.ws), Number(w.ws), `${note}${k}: window_start`);
    if (w.we !== undefined) assert.equal(Number(g.we), Number(w.we), `${note}${k}: window_end`);
    assert.equal(g.event_type, w.event_type, `${note}${k}: event_type`);
    assert.equal(Number(g.events), Number(w.events), `${note}${k}: count(*)`);
    assert.equal(Number(g.with_amount), Number(w.with_amount), `${note}${k}: count(amount)`);
    assert.ok(close(g.amount_sum, w.amount_sum), `${note}${k}: sum ${g.amount_sum} vs ${w.amount_sum}`);
    assert.ok(close(g.amount_avg, w.amount_avg), `${note}${k}: avg ${g.amount_avg} vs ${w.amount_avg}`);
    assert.equal(g.amount_max, w.amount_max, `${note}${k}: max`);
    assert.equal(g.amount_min, w.amount_min, `${note}${k}: min`);
    if (g.label_min === undefined) continue;
    assert.equal(g.label_min, w.label_min, `${note}${k}: min(label)`);
    assert.equal(g.label_max, w.label_max, `${note}${k}: max(label)`);
    if (Number(w.with_amount) < 400) assert.deepEqual(g.amount_ps, w.amount_ps, `${note}${k}: approx_percentile(amount, array(0.5, 0.9))`);
    else assert.equal(g.amount_ps.length, 2, `${note}${k}: two percentiles`);
  }
}

/** quarantine's rows for event_metrics: event_id → {reason, n} (n: times it is there). */
export async function quarantined(tables) {
  const rows = await queryTable(path.join(tables, 'quarantine'),
    `SELECT record, reason, batch, epoch_ms(watermark) AS wm, _metadata.file_path AS file FROM $T WHERE "table" = 'event_metrics'`);
  const m = new Map();
  for (const r of rows) {
    const id = JSON.parse(r.record).event_id;
    const e = m.get(id) || { reason: r.reason, n: 0, file: r.file, wm: r.wm };
    e.n++;
    m.set(id, e);
  }
  return m;
}

/** Every late and time-less row of the reference is in quarantine once, with its reason. */
export function assertQuarantine(q, ref, note = '') {
  for (const id of ref.late) {
    const e = q.get(id);
    assert.ok(e, `${note}late row ${id} is in quarantine`);
    assert.equal(e.reason, 'late', `${note}${id}: reason`);
    assert.equal(e.n, 1, `${note}${id}: once`);
    assert.ok(e.file && e.file.endsWith('.jsonl'), `${note}${id}: its source file`);
    assert.ok(e.wm !== null, `${note}${id}: the watermark at the drop`);
  }
  for (const id of ref.none) {
    const e = q.get(id);
    assert.ok(e, `${note}time-less row ${id} is in quarantine`);
    assert.equal(e.reason, 'no_event_time', `${note}${id}: reason`);
    assert.equal(e.n, 1, `${note}${id}: once`);
  }
  assert.equal(q.size, ref.late.size + ref.none.size, `${note}quarantine holds exactly the late and time-less rows`);
}
