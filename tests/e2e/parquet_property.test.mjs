// Property test, DuckDB side (issue 4): random schemas × random rows written by our Parquet writer
// (tests/unit/test_parquet_property.c with LK_PROPERTY_KEEP, types limited to those whose JSON
// DuckDB renders alike) are read by DuckDB, and every row must equal what was written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { LAKESUPD, QUICK, tmpDir } from './lib/daemon.mjs';
import { duck } from './lib/delta.mjs';

const BIN = path.join(path.dirname(LAKESUPD), 'test_parquet_property');

// "2026-11-24 09:30:00.12+00" (DuckDB) and "2026-11-24T09:30:00.120000Z" (ours) -> one form
function normTs(s) {
  const m = /^(\d{4,}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|\+00(?::00)?)?$/.exec(s);
  if (!m) return s;
  return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(6, '0')}${m[4] ? 'Z' : ''}`;
}

function norm(v) {
  if (typeof v === 'string') return normTs(v);
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = norm(v[k]);
    return o;
  }
  return v;
}

test('DuckDB reads every random-schema file we write with the rows we wrote', { skip: !fs.existsSync(BIN) && `no ${BIN}` }, async () => {
  const dir = tmpDir('pq-prop');
  const rounds = QUICK ? 40 : 120;
  const seed = Number(process.env.LK_PROPERTY_SEED || 4242);
  const r = spawnSync(BIN, [], {
    encoding: 'utf8',
    env: { ...process.env, CK_FORK: 'no', LK_PROPERTY_KEEP: dir, LK_PROPERTY_DUCK: '1',
           LK_PROPERTY_ROUNDS: String(rounds), LK_PROPERTY_SEED: String(seed) },
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const conn = await duck();
  await conn.run('SET threads=1');
  let rows = 0;
  for (let i = 0; i < rounds; i++) {
    const file = path.join(dir, `r${i}.parquet`);
    const want = fs.readFileSync(path.join(dir, `r${i}.jsonl`), 'utf8').trim().split('\n').map((l) => norm(JSON.parse(l)));
    const got = (await conn.runAndReadAll(`SELECT to_json(t) AS j FROM read_parquet('${file}') t`))
      .getRowsJS().map((x) => norm(JSON.parse(x[0])));
    assert.equal(got.length, want.length, `${file}: row count`);
    for (let k = 0; k < want.length; k++)
      assert.deepEqual(got[k], want[k], `${file} (seed ${seed}, round ${i}) row ${k}`);
    rows += want.length;
  }
  console.log(`DuckDB read ${rounds} random-schema files, ${rows} rows, all equal`);
  fs.rmSync(dir, { recursive: true, force: true });
});
