// bench/duck.mjs — the reference of issue 7, run as its own process by bench/run:
// DuckDB (@duckdb/node-api from tests/e2e/node_modules) turning JSON lines into
// one ZSTD Parquet file, as a user would:
//   COPY (SELECT * FROM read_json_auto('<dir>/*.jsonl')) TO '<out>' (FORMAT parquet, COMPRESSION zstd)
// Usage: node bench/duck.mjs DIR OUT THREADS
// Prints one JSON line: {ms (the COPY alone), rows, base_rss_kib (Node before
// DuckDB), hwm_kib (the process's peak RSS), out_bytes}.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'tests', 'e2e', 'package.json'));
const { DuckDBInstance } = await import(pathToFileURL(require.resolve('@duckdb/node-api')).href);

const kib = (field) => {
  const m = fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'));
  return m ? Number(m[1]) : 0;
};
const [dir, out, threads = '2'] = process.argv.slice(2);
if (!dir || !out) {
  console.error('usage: node bench/duck.mjs DIR OUT THREADS');
  process.exit(2);
}
const base = kib('VmRSS');
const db = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const c = await db.connect();
const t0 = performance.now();
await c.run(
  `COPY (SELECT * FROM read_json_auto('${dir}/*.jsonl')) TO '${out}' (FORMAT parquet, COMPRESSION zstd)`
);
const ms = performance.now() - t0;
const r = await c.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM read_parquet('${out}')`);
const rows = Number(r.getRowObjects()[0].n);
console.log(JSON.stringify({ ms, rows, base_rss_kib: base, hwm_kib: kib('VmHWM'), out_bytes: fs.statSync(out).size }));
