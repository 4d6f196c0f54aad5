// The verifier must be able to fail: a table with a duplicated or a
// missing data file is rejected (a test that cannot fail is a defect).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { gen, run, verify, workspace } from './lib/daemon.mjs';

function commit(table, version, actions) {
  const name = path.join(table, '_delta_log', String(version).padStart(20, '0') + '.json');
  fs.writeFileSync(name, actions.map((a) => JSON.stringify(a)).join('\n') + '\n');
}

test('the verifier rejects duplicated and missing rows', () => {
  const ws = workspace('verify', { transform: 1, writer: 1 });
  gen(['--out', ws.input, '--files', '2', '--rows', '300', '--seed', '31']);
  const r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr);
  const table = path.join(ws.tables, 'raw_events');
  assert.equal(verify(table, ws.input, 'raw').code, 0);

  const log = fs.readdirSync(path.join(table, '_delta_log')).filter((f) => f.endsWith('.json')).sort();
  const last = Number(log[log.length - 1].slice(0, 20));
  const data = fs.readdirSync(table).filter((f) => f.endsWith('.parquet')).sort();
  // a copy of a data file committed again: every row of it twice
  fs.copyFileSync(path.join(table, data[0]), path.join(table, 'dup-' + data[0]));
  commit(table, last + 1, [{ add: { path: 'dup-' + data[0], partitionValues: {}, size: 1, modificationTime: 0, dataChange: true } }]);
  const dup = verify(table, ws.input, 'raw');
  assert.equal(dup.code, 1, dup.out);
  assert.match(dup.out, /appears 2 times/);
  // the duplicate and an original removed: rows missing
  commit(table, last + 2, [{ remove: { path: 'dup-' + data[0], dataChange: true } }, { remove: { path: data[0], dataChange: true } }]);
  const miss = verify(table, ws.input, 'raw');
  assert.equal(miss.code, 1, miss.out);
  assert.match(miss.out, /is missing/);
  // a gap in the log is refused
  fs.renameSync(path.join(table, '_delta_log', String(last + 2).padStart(20, '0') + '.json'),
    path.join(table, '_delta_log', String(last + 3).padStart(20, '0') + '.json'));
  const gap = spawnSync(process.execPath, [path.join(path.dirname(new URL(import.meta.url).pathname), 'verify.mjs'), '--table', table], { encoding: 'utf8' });
  assert.notEqual(gap.status, 0);
  assert.match(gap.stderr, /not contiguous/);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});
