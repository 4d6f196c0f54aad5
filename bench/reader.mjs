// bench/reader.mjs — issue 16's reader benchmark, run as its own process by bench/run: DuckDB
// querying raw_events through its live files (the Delta log's adds, replayed by tests/e2e/lib) and
// the same queries over DuckDB's own Parquet file of the same rows, alternately, REPS times each.
// Usage: node bench/reader.mjs TABLE_DIR DUCK_FILE [REPS]
// Prints one JSON line: per query the median ms over ours and DuckDB's file, and their ratio
// (DuckDB's file / ours: >= 1 means our table reads at least as fast).
import { duck, replay } from '../tests/e2e/lib/delta.mjs';

const [table, own, repsArg] = process.argv.slice(2);
if (!table || !own) {
  console.error('usage: node bench/reader.mjs TABLE_DIR DUCK_FILE [REPS]');
  process.exit(2);
}
const reps = Number(repsArg || 7);
const snap = await replay(table);
const list = snap.files.map((f) => `'${f.fullPath.replaceAll("'", "''")}'`).join(', ');
const ours = `read_parquet([${list}])`;
const theirs = `read_parquet('${own.replaceAll("'", "''")}')`;
const c = await duck();
const queries = {
  group_by: (t) => `SELECT event_type, count(*) AS n, sum(amount) AS s FROM ${t} GROUP BY 1 ORDER BY 1`,
  user_filter: (t) => `SELECT count(*) AS n, sum(amount) AS s FROM ${t} WHERE user_id = 4242`,
};
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const out = { files: snap.files.length, queries: {} };
for (const [name, q] of Object.entries(queries)) {
  const t = { ours: [], duckdb: [] };
  let a = null, b = null;
  for (let i = 0; i < reps; i++) {
    for (const side of i % 2 ? ['duckdb', 'ours'] : ['ours', 'duckdb']) {
      const t0 = performance.now();
      const r = (await c.runAndReadAll(q(side === 'ours' ? ours : theirs))).getRowObjectsJson();
      t[side].push(performance.now() - t0);
      if (side === 'ours') a = r; else b = r;
    }
  }
  const mo = median(t.ours), md = median(t.duckdb);
  // the same answer from both (sums of doubles: to 1e-9 relative, the summation order differs)
  const same = a.length === b.length && a.every((x, i) => Object.keys(x).every((k) => {
    const u = x[k], v = b[i][k];
    if (u === v) return true;
    const fu = Number(u), fv = Number(v);
    return Number.isFinite(fu) && Number.isFinite(fv) && Math.abs(fu - fv) <= 1e-9 * Math.max(1, Math.abs(fu));
  }));
  out.queries[name] = { ours_ms: Number(mo.toFixed(2)), duckdb_ms: Number(md.toFixed(2)), ratio: Number((md / mo).toFixed(3)), same };
}
console.log(JSON.stringify(out));
