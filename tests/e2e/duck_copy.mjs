// DuckDB doing the closest equivalent job (bench reference): JSON lines → one
// ZSTD Parquet file. Prints the wall time in ms.
import { DuckDBInstance } from '@duckdb/node-api';
const [dir, out, threads = '2'] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:', { threads });
const c = await db.connect();
const t0 = performance.now();
await c.run(`COPY (SELECT * FROM read_json_auto('${dir}/*.jsonl')) TO '${out}' (FORMAT parquet, COMPRESSION zstd)`);
console.log(Math.round(performance.now() - t0));
