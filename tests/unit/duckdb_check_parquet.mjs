// duckdb_check_parquet.mjs — independent check of Parquet files written by
// lakesupd: DuckDB reads the file and this prints, as one JSON object, its
// column types (DESCRIBE), its rows, and per column chunk the codec and
// statistics from parquet_metadata().
// Usage: node tests/unit/duckdb_check_parquet.mjs FILE.parquet [max_rows]
// Needs @duckdb/node-api installed in $DUCKDB_NODE_DIR (default /tmp/duckdb-pq):
//   mkdir -p /tmp/duckdb-pq && cd /tmp/duckdb-pq && npm install @duckdb/node-api
import { createRequire } from 'node:module';

const dir = process.env.DUCKDB_NODE_DIR || '/tmp/duckdb-pq';
const require = createRequire(`${dir}/package.json`);
const { DuckDBInstance } = require('@duckdb/node-api');

const path = process.argv[2];
const maxRows = Number(process.argv[3] || 20);
if (!path) {
  console.error('usage: duckdb_check_parquet.mjs FILE.parquet [max_rows]');
  process.exit(2);
}
const lit = `'${path.replaceAll("'", "''")}'`;
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const q = async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJson();
const out = {
  schema: await q(`DESCRIBE SELECT * FROM read_parquet(${lit})`),
  count: (await q(`SELECT count(*) AS n FROM read_parquet(${lit})`))[0].n,
  rows: await q(`SELECT * FROM read_parquet(${lit}) LIMIT ${maxRows}`),
  metadata: await q(`SELECT row_group_id, path_in_schema, type, compression, num_values,
      stats_min_value, stats_max_value, stats_null_count, encodings
      FROM parquet_metadata(${lit}) ORDER BY row_group_id, column_id`),
  created_by: (await q(`SELECT created_by FROM parquet_file_metadata(${lit})`))[0].created_by,
  parquet_schema: await q(`SELECT name, type, converted_type, logical_type, repetition_type
      FROM parquet_schema(${lit})`),
};
console.log(JSON.stringify(out, null, 1));
