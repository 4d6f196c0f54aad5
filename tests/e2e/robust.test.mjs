// Bad input that once stopped the pipeline or broke a table (issue 17): each
// test here failed before its fix. Values and names that come from data —
// partition values, source file names, nesting, NUL bytes — must never stop
// the stream, escape the table folder or make the Delta log invalid.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { assertVerified, countInput, gen, run, startDaemon, until, waitAllRunning, workspace } from './lib/daemon.mjs';
import { queryTable, replay } from './lib/delta.mjs';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Every commit of a table's log as bytes; asserts each is valid UTF-8 JSON lines. */
function assertLogValid(table) {
  const log = path.join(table, '_delta_log');
  const commits = fs.readdirSync(log).filter((n) => /^\d{20}\.json$/.test(n));
  assert.ok(commits.length > 0, `no commit in ${log}`);
  const actions = [];
  for (const n of commits) {
    const bytes = fs.readFileSync(path.join(log, n));
    let text;
    try {
      text = utf8.decode(bytes);
    } catch (e) {
      assert.fail(`${log}/${n} is not valid UTF-8: ${e.message}`);
    }
    for (const line of text.split('\n').filter(Boolean)) actions.push(JSON.parse(line));
  }
  return actions;
}

/** Every file and folder below dir (relative), following no symlink. */
function walk(dir, rel = '') {
  const out = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    out.push(r);
    if (e.isDirectory()) out.push(...walk(dir, r));
  }
  return out;
}

/** A generated event (lk_gen's shape) with some fields replaced. */
function event(id, over = {}) {
  return JSON.stringify({ event_id: `evt-h-${id}`, user_id: id, event_type: 'click', ts: '2026-11-24T09:30:00.000Z',
    amount: 1.5, country: 'FR', device: { os: 'linux', version: '1' }, message: 'm', ...over });
}

test('hostile partition values stay inside the table folder, escaped as Spark does, and never stop the pipeline', () => {
  const ws = workspace('partvals', { extra: 'tables:\n  processed_events:\n    partition_by: [country]\n' });
  // the values: path traversal, separators, an escape that looks escaped, empty, NUL and control
  // characters, dots, a 300- and a 10,000-character value (longer than a file name may be), multi-byte
  // characters past the limit, and null
  const values = ['../../etc', '../x', 'a/b', '%2F', '', 'z\u0000w', 'tab\there', '.', '..', 'x'.repeat(300),
    'y'.repeat(10000), 'é'.repeat(200), '日本'.repeat(100), 'a b:c=d?e#f', 'FR', null];
  const lines = values.map((v, i) => event(i, { country: v }));
  fs.writeFileSync(path.join(ws.input, 'p.jsonl'), lines.join('\n') + '\n');
  const r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const table = path.join(ws.tables, 'processed_events');
  // nothing outside the table folder: the lakehouse holds the two tables and nothing else
  assert.deepEqual(fs.readdirSync(ws.tables).sort(), ['processed_events', 'raw_events']);
  assert.ok(!fs.existsSync(path.join(ws.dir, 'etc')) && !fs.existsSync(path.join(ws.dir, 'lakehouse', 'x')));
  const adds = assertLogValid(table).filter((a) => a.add).map((a) => a.add);
  const got = new Map(adds.map((a) => [a.partitionValues.country, a]));
  for (const v of values) {
    // the log keeps the value exactly (an empty string too); its folder is Spark's
    const key = v;
    const a = got.get(key);
    assert.ok(a, `no add for ${JSON.stringify(v)?.slice(0, 40)}: ${[...got.keys()].map((k) => JSON.stringify(k)?.slice(0, 20))}`);
    const dir = decodeURIComponent(a.path).split('/')[0];
    assert.ok(Buffer.byteLength(dir) <= 255, `a directory name of ${Buffer.byteLength(dir)} bytes`);
    assert.ok(!dir.includes('/') && dir !== '.' && dir !== '..' && dir.startsWith('country='), dir);
    assert.ok(fs.existsSync(path.join(table, decodeURIComponent(a.path))), a.path);
    if (!key) assert.equal(dir, 'country=__HIVE_DEFAULT_PARTITION__');
  }
  assert.equal(got.get('../x').path.split('/')[0], 'country=..%252Fx');
  assert.equal(decodeURIComponent(got.get('z\u0000w').path).split('/')[0], 'country=z%00w');
  // an over-long value: a stable shortened form (a prefix and a hash), distinct per value
  const long = decodeURIComponent(got.get('x'.repeat(300)).path).split('/')[0];
  assert.match(long, /^country=x{100,}~[0-9a-f]{16}$/);
  assert.notEqual(long, decodeURIComponent(got.get('y'.repeat(10000)).path).split('/')[0]);
  // every file of the table is below it and is a data file of the log or the log itself
  for (const f of walk(table)) assert.ok(!f.split(path.sep).includes('..'), f);
  assertVerified(ws, 'processed');
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('a source file whose name is not UTF-8: the log stays valid UTF-8, _metadata.file_path is absolute and percent-encodes the name', async () => {
  const ws = workspace('nonutf8');
  // names as bytes: Latin-1 é, a lone continuation byte, a space, a newline, a quote and a percent sign
  const names = [Buffer.from('caf\xe9.jsonl', 'latin1'), Buffer.from([0x62, 0x80, 0xff, 0x2e, 0x6a, 0x73, 0x6f, 0x6e, 0x6c]),
    Buffer.from('with space "q" 50%.jsonl'), Buffer.from('new\nline.jsonl')];
  const inputBuf = Buffer.from(ws.input);
  names.forEach((n, i) => fs.writeFileSync(Buffer.concat([inputBuf, Buffer.from('/'), n]), event(i) + '\n'));
  // started from the workspace with a relative source_path: the recorded path is still absolute
  fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace(/^source_path: .*$/m, 'source_path: ./incoming'));
  const r = run(['start', '-c', ws.config, '--trigger', 'available-now'], { cwd: ws.dir });
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  for (const t of ['raw_events', 'processed_events']) assertLogValid(path.join(ws.tables, t));
  const rows = await queryTable(path.join(ws.tables, 'raw_events'),
    'SELECT _metadata.file_path AS p, _metadata.file_name AS n FROM $T ORDER BY p');
  assert.equal(rows.length, names.length);
  // percent-decoding (of the bytes: %XX is one byte, anything else its UTF-8)
  const decode = (s) => Buffer.concat(s.split(/(%[0-9A-F]{2})/).map((p) =>
    /^%[0-9A-F]{2}$/.test(p) ? Buffer.from([parseInt(p.slice(1), 16)]) : Buffer.from(p)));
  const recovered = rows.map((x) => {
    assert.ok(x.p.startsWith(`${ws.input}/`), `absolute: ${x.p}`);
    assert.equal(x.n, x.p.slice(x.p.lastIndexOf('/') + 1));
    return decode(x.n);
  });
  for (const n of names)
    assert.ok(recovered.some((b) => b.equals(n)), `the name ${n.toString('hex')} is recoverable from ${rows.map((x) => x.n)}`);
  assert.ok(rows.some((x) => x.n === 'caf%E9.jsonl'), rows.map((x) => x.n).join(' | '));
  assert.ok(rows.some((x) => x.n === 'with space "q" 50%25.jsonl'), rows.map((x) => x.n).join(' | '));
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('JSON nested deeper than the schema allows is a corrupt record, never a stop (arrays, objects, alternating, up to 100,000 deep)', async () => {
  const nest = (n, open, close, leaf = '1') => open.repeat(n) + leaf + close.repeat(n);
  const bad = [];
  for (const n of [10, 40, 70, 100, 1000, 100000]) {
    bad.push(`{"event_id":"x","d":${nest(Math.ceil(n / 2), '{"a":[', ']}')}}`);
    bad.push(`{"event_id":"x","d":${nest(n, '{"a":', '}')}}`);
    bad.push(`{"event_id":"x","d":${nest(n, '[', ']')}}`);
  }
  // the schema holds a deep struct: inferred (10 levels at most), and given as deep as a record
  // batch carries (14 levels: d STRUCT<a: ARRAY<STRUCT<a: ...>>>)
  const hints = `d ${nest(6, 'STRUCT<a: ARRAY<', '>>', 'STRUCT<a: LONG>')}`;
  for (const extra of ['', `source:\n  schema_hints: "${hints}"\n`]) {
    const ws = workspace('deep', { extra });
    const deepOk = (i) => `{"event_id":"evt-d-${i}","d":${nest(4, '{"a":[', ']}')}}`;
    fs.writeFileSync(path.join(ws.input, 'a.jsonl'), [deepOk(0), event(1)].join('\n') + '\n');
    let r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    fs.writeFileSync(path.join(ws.input, 'b.jsonl'), [...bad, deepOk(2), event(3)].join('\n') + '\n');
    r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const rows = await queryTable(path.join(ws.tables, 'raw_events'),
      'SELECT event_id, _corrupt_record IS NOT NULL AS corrupt, length(_corrupt_record) AS len FROM $T');
    // every line is one row: the good ones with their id, the deep ones kept
    assert.equal(rows.length, 4 + bad.length);
    for (const id of ['evt-d-0', 'evt-h-1', 'evt-d-2', 'evt-h-3'])
      assert.equal(rows.filter((x) => x.event_id === id && !x.corrupt).length, 1, id);
    // 64 levels is the reader's bound: the 9 lines nested 70 levels or more are corrupt, whole
    const corrupt = rows.filter((x) => x.corrupt);
    assert.ok(corrupt.length >= 9, `corrupt: ${corrupt.length}`);
    assert.ok(corrupt.some((x) => Number(x.len) > 200000), 'the 100,000-deep line is kept whole');
    fs.rmSync(ws.dir, { recursive: true, force: true });
  }
  // a schema deeper than a record batch carries is refused at start, by key (it made every
  // record batch undecodable: the writers stopped the pipeline)
  const ws = workspace('deep15', { extra: `source:\n  schema_hints: "d ${nest(13, 'STRUCT<a: ', '>', 'ARRAY<LONG>')}"\n` });
  fs.writeFileSync(path.join(ws.input, 'a.jsonl'), event(1) + '\n');
  const r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 100, r.stderr.slice(-3000));
  assert.match(r.stderr, /source\.schema_hints.*column 'd' nests 15 levels of types, more than the 14 a record batch carries/);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('table read prints strings with NUL bytes whole, as JSON lines and as CSV', () => {
  const ws = workspace('nul');
  fs.writeFileSync(path.join(ws.input, 'n.jsonl'), event(1, { message: 'z\u0000w', country: 'a\u0000' }) + '\n');
  const r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const out = run(['table', 'read', 'raw_events', '-c', ws.config, '--columns', 'message,country']);
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(JSON.parse(out.stdout.trim()), { message: 'z\u0000w', country: 'a\u0000' });
  const csv = run(['table', 'read', 'raw_events', '-c', ws.config, '--columns', 'message,country', '--format', 'csv']);
  assert.equal(csv.code, 0, csv.stderr);
  assert.equal(csv.stdout, 'message,country\nz\u0000w,a\u0000\n');
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('fsck --repair is refused while the pipeline runs (exit 111), and state.db is left alone', async () => {
  const ws = workspace('fsckrun');
  gen(['--out', ws.input, '--files', '2', '--rows', '200', '--seed', '1701']);
  const d = startDaemon(['-c', ws.config]);
  try {
    await waitAllRunning(ws.config);
    const db = path.join(ws.dir, 'checkpoints', 'state.db');
    const before = fs.statSync(db).ino;
    const r = run(['fsck', '-c', ws.config, '--repair']);
    assert.equal(r.code, 111, r.stdout + r.stderr); // LK_EXIT_TEMPFAIL: try again later
    assert.match(r.stderr, /lakesupd fsck: the pipeline is running \(supervisor pid \d+\): stop it before --repair/);
    assert.doesNotMatch(r.stdout, /REPAIRED/);
    assert.equal(fs.statSync(db).ino, before);
    assert.ok(!fs.readdirSync(path.join(ws.dir, 'checkpoints')).some((n) => n.startsWith('state.db.corrupt')));
    // fsck without --repair still reports, and says the pipeline runs
    const f = run(['fsck', '-c', ws.config]);
    assert.match(f.stdout, /the pipeline is running \(supervisor pid \d+\)/);
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0);
  } finally {
    d.child.kill('SIGKILL');
  }
  assert.equal(countInput(ws.input).events, 400);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('a RECORDS message that does not decode (fault transform.records=corrupt): the writer stops the pipeline loudly, nothing is committed twice or lost after a restart', () => {
  const ws = workspace('corruptrec');
  gen(['--out', ws.input, '--files', '3', '--rows', '300', '--seed', '1702']);
  // the 2nd message a transform sends is cut to half its length
  let r = run(['start', '-c', ws.config, '--trigger', 'available-now'],
    { env: { LAKESUP_FAULT: 'transform.records=corrupt@2' } });
  assert.notEqual(r.code, 0, 'the pipeline stops: a message of our own that does not decode is a bug, not data');
  assert.match(r.stderr, /fault injected point=transform\.records/);
  assert.match(r.stderr, /writer\[\d\] \d+: a records message \(\d+ bytes\) does not decode: /);
  assert.match(r.stderr, /worker role=writer index=\d reports a fatal error: a records message/);
  // started again without the fault: the uncommitted batches are replayed, every row once
  r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  assertVerified(ws, 'raw');
  assertVerified(ws, 'processed');
  fs.rmSync(ws.dir, { recursive: true, force: true });
});
