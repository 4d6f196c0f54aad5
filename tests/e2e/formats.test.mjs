// formats.test.mjs — compressed input (.gz with concatenated members, .zst, .bz2), CSV
// (header, quoted newlines, ragged rows), text, and a transform killed mid-batch on
// compressed input, through the real daemon; the tables are read with DuckDB through an
// independent Delta replay, and _metadata.file_offset is checked against offsets computed
// here from the decompressed input.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { gen, run, runningWorker, startDaemon, until, waitAllRunning, waitLog, workspace } from './lib/daemon.mjs';
import { queryTable as rows } from './lib/delta.mjs';
import { bzip2, zstd } from './lib/tools.mjs';

/** [{offset, line}] of the non-empty lines of text (a Buffer: byte offsets). */
function lineOffsets(buf) {
  const out = [];
  let at = 0;
  while (at < buf.length) {
    let nl = buf.indexOf(10, at);
    if (nl < 0) nl = buf.length;
    const line = buf.subarray(at, nl).toString('utf8').replace(/\r$/, '');
    if (line.trim()) out.push({ offset: at, line });
    at = nl + 1;
  }
  return out;
}

function availableNow(ws) {
  const r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
  assert.equal(r.code, 0, `available-now failed:\n${r.stdout}${r.stderr}`);
  return r.stdout + r.stderr;
}

test('gz (two members), zst and bz2 JSON lines: every line once, file_offset = decompressed offset', async () => {
  const ws = workspace('fmt-compressed', { transform: 2, writer: 1, extra: 'source:\n  chunk_bytes: 65536\n' });
  const staging = path.join(ws.dir, 'staging');
  gen(['--out', staging, '--files', '3', '--rows', '3000', '--seed', '501', '--corrupt-every', '500']);
  const names = fs.readdirSync(staging).sort();
  const expect = new Map(); // file name -> [{offset, line}]
  names.forEach((n, i) => {
    const raw = fs.readFileSync(path.join(staging, n));
    let data, name;
    if (i === 0) {
      const half = raw.indexOf(10, raw.length >> 1) + 1;
      data = Buffer.concat([zlib.gzipSync(raw.subarray(0, half)), zlib.gzipSync(raw.subarray(half))]);
      name = n + '.gz';
    } else if (i === 1) {
      data = zstd(raw);
      name = n + '.zst';
    } else {
      data = bzip2(raw);
      name = n + '.bz2';
    }
    fs.writeFileSync(path.join(ws.input, name), data);
    expect.set(name, lineOffsets(raw));
  });
  // a file of another format is not taken
  fs.writeFileSync(path.join(ws.input, 'ignored.csv.gz'), zlib.gzipSync('a,b\n1,2\n'));
  availableNow(ws);
  const got = await rows(path.join(ws.tables, 'raw_events'),
    `SELECT _metadata.file_name AS f, _metadata.file_offset AS o, event_id, _corrupt_record AS c FROM $T ORDER BY f, o`);
  const want = [...expect.entries()].sort().flatMap(([f, ls]) => ls.map((l) => ({ f, o: l.offset, line: l.line })));
  assert.equal(got.length, want.length);
  let corrupt = 0;
  for (let i = 0; i < want.length; i++) {
    assert.equal(got[i].f, want[i].f);
    assert.equal(Number(got[i].o), want[i].o, `offset of row ${i} of ${want[i].f}`);
    let ev = null;
    try { ev = JSON.parse(want[i].line).event_id ?? null; } catch { /* corrupt */ }
    if (ev === null) {
      corrupt++;
      assert.equal(got[i].c, want[i].line);
    } else {
      assert.equal(got[i].event_id, ev);
    }
  }
  assert.ok(corrupt >= 3, `corrupt lines kept (${corrupt})`);
  const proc = await rows(path.join(ws.tables, 'processed_events'), `SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM $T`);
  assert.equal(Number(proc[0].n), want.length - corrupt);
  assert.equal(Number(proc[0].d), want.length - corrupt);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('a truncated .gz: the lines before the damage are kept, the error names file and offset, other files go on', async () => {
  const ws = workspace('fmt-truncated', { transform: 1, writer: 1 });
  const staging = path.join(ws.dir, 'staging');
  gen(['--out', staging, '--files', '2', '--rows', '20000', '--seed', '502']);
  const [a, b] = fs.readdirSync(staging).sort();
  const gz = zlib.gzipSync(fs.readFileSync(path.join(staging, a)));
  fs.writeFileSync(path.join(ws.input, a + '.gz'), gz.subarray(0, gz.length >> 1));
  fs.copyFileSync(path.join(staging, b), path.join(ws.input, b));
  const logs = availableNow(ws);
  assert.match(logs, new RegExp(`damaged compressed stream file=\\S*${a}\\.gz offset=\\d+ .*truncated`));
  const got = await rows(path.join(ws.tables, 'raw_events'),
    `SELECT _metadata.file_name AS f, count(*) AS n, count(_corrupt_record) AS c FROM $T GROUP BY f ORDER BY f`);
  assert.equal(got.length, 2);
  assert.equal(got[0].f, a + '.gz');
  assert.ok(Number(got[0].n) > 5000 && Number(got[0].n) < 20000, `part of the truncated file: ${got[0].n}`);
  assert.ok(Number(got[0].c) <= 1, 'at most the cut line is corrupt');
  assert.equal(got[1].f, b);
  assert.equal(Number(got[1].n), 20000);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('CSV with a header, quoted newlines, a BOM, CRLF, comments, ragged rows and .csv.gz', async () => {
  const ws = workspace('fmt-csv', {
    transform: 2, writer: 1,
    extra: 'source:\n  format: csv\n  header: true\n  comment: "#"\n  chunk_bytes: 65536\n',
  });
  const head = 'id,name,amount,ok,at,note\r\n';
  const at = (i) => new Date(Date.UTC(2026, 10, 24, 9, 30, 0) + i * 1500).toISOString();
  let body = '';
  const want = [];
  for (let i = 0; i < 5000; i++) {
    if (i % 1000 === 7) {
      body += `# comment ${i} with a "quote\n`;
    }
    if (i % 700 === 3) {
      const rec = `${i},ragged`;
      want.push({ corrupt: rec, offset: Buffer.byteLength(head + body) });
      body += rec + '\n';
      continue;
    }
    const note = i % 3 === 0 ? `"line one\nline ""two"", ${i}"` : i % 3 === 1 ? '' : `plain ${i}`;
    const rec = `${i},name ${i},${(i * 1.25).toFixed(2)},${i % 2 === 0 ? 'true' : 'false'},${at(i)},${note}`;
    want.push({
      id: i, name: `name ${i}`, amount: i * 1.25, ok: i % 2 === 0, at: Date.parse(at(i)),
      note: i % 3 === 0 ? `line one\nline "two", ${i}` : i % 3 === 1 ? null : `plain ${i}`,
      offset: Buffer.byteLength(head + body),
    });
    body += rec + (i % 2 ? '\r\n' : '\n');
  }
  const text = Buffer.from('\ufeff' + head + body);
  fs.writeFileSync(path.join(ws.input, 'a.csv'), text);
  fs.writeFileSync(path.join(ws.input, 'b.csv.gz'), zlib.gzipSync(text));
  availableNow(ws);
  const got = await rows(path.join(ws.tables, 'raw_events'),
    `SELECT _metadata.file_name AS f, _metadata.file_offset AS o, id, name, amount, ok, note, _corrupt_record AS c,
            epoch_ms("at") AS at_ms, typeof("at") AS at_type, typeof(id) AS id_type, typeof(amount) AS amount_type
     FROM $T ORDER BY f, o`);
  // inferred: id BIGINT, amount DOUBLE, at a timestamp (every sampled value parses)
  assert.deepEqual([got[0].id_type, got[0].amount_type, got[0].at_type], ['BIGINT', 'DOUBLE', 'TIMESTAMP WITH TIME ZONE']);
  assert.equal(got.length, 2 * want.length);
  for (const [k, f] of ['a.csv', 'b.csv.gz'].entries()) {
    for (let i = 0; i < want.length; i++) {
      const g = got[k * want.length + i], w = want[i];
      assert.equal(g.f, f);
      assert.equal(Number(g.o), w.offset + 3, `offset of record ${i} of ${f} (the BOM counts)`);
      if (w.corrupt) {
        assert.equal(g.c, w.corrupt);
        assert.equal(g.id, null);
        continue;
      }
      assert.equal(g.c, null);
      assert.equal(Number(g.id), w.id);
      assert.equal(g.name, w.name);
      assert.equal(g.amount, w.amount);
      assert.equal(g.ok, w.ok);
      assert.equal(Number(g.at_ms), w.at);
      assert.equal(g.note, w.note);
    }
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('CSV columns by header name: reordered, missing and new columns across files and chunks (add_new_columns, rescue, fail_on_new_columns)', async () => {
  for (const mode of ['add_new_columns', 'rescue', 'fail_on_new_columns']) {
    const ws = workspace(`fmt-csv-names-${mode}`, {
      transform: 2, writer: 1,
      extra: `source:\n  format: csv\n  header: true\n  chunk_bytes: 65536\n  max_files_per_trigger: 1\n` +
        `  schema_evolution_mode: ${mode}\n`,
    });
    // a.csv (first batch: the inferred schema id, name, amount), b.csv reorders the columns
    // over several chunks, c.csv lacks amount and adds color
    const files = [
      ['a.csv', ['id', 'name', 'amount'], 0, 50],
      ['b.csv', ['amount', 'name', 'id'], 1000, 6000],
      ['c.csv', ['color', 'id', 'name'], 10000, 40],
    ];
    const want = new Map();
    const t0 = Date.now() / 1000 - 3600;
    for (const [k, [f, cols, from, n]] of files.entries()) {
      let text = cols.join(',') + '\n';
      for (let i = from; i < from + n; i++) {
        const v = { id: String(i), name: `n${i}`, amount: (i * 0.5).toFixed(1), color: `c${i % 7}` };
        text += cols.map((c) => v[c]).join(',') + '\n';
        want.set(i, { name: `n${i}`, amount: cols.includes('amount') ? i * 0.5 : null,
          color: cols.includes('color') ? `c${i % 7}` : null });
      }
      const p = path.join(ws.input, f);
      fs.writeFileSync(p, text);
      fs.utimesSync(p, t0 + k * 10, t0 + k * 10); // planned in this order, one file a batch
    }
    if (mode === 'fail_on_new_columns') {
      // stops at c.csv's header naming file, line and column; nothing of c.csv is committed
      const r = run(['start', '-c', ws.config, '--trigger', 'available-now']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /new column 'color' at file=\S*c\.csv line=1 \(schema_evolution_mode: fail_on_new_columns/);
      if (fs.existsSync(path.join(ws.tables, 'raw_events', '_delta_log'))) {
        const got = await rows(path.join(ws.tables, 'raw_events'), `SELECT count(*) FILTER (WHERE _metadata.file_name = 'c.csv') AS n FROM $T`);
        assert.equal(Number(got[0].n), 0);
      }
      // the user adds the column as a hint: the pipeline resumes from the same batch
      fs.appendFileSync(ws.config, '  schema_hints: "color STRING"\n');
      availableNow(ws);
      const got = await rows(path.join(ws.tables, 'raw_events'),
        `SELECT count(*) AS n, count(DISTINCT id) AS d, count(color) AS c, count(amount) AS a FROM $T`);
      assert.deepEqual([Number(got[0].n), Number(got[0].d), Number(got[0].c), Number(got[0].a)], [6090, 6090, 40, 6050]);
      fs.rmSync(ws.dir, { recursive: true, force: true });
      continue;
    }
    const log = availableNow(ws);
    const cols = (await rows(path.join(ws.tables, 'raw_events'),
      `SELECT column_name AS c FROM (DESCRIBE SELECT * FROM $T)`)).map((r) => r.c);
    const got = await rows(path.join(ws.tables, 'raw_events'),
      `SELECT id, name, amount, ${mode === 'rescue' ? 'NULL AS color' : 'color'}, _rescued_data AS r,
              _corrupt_record AS c, _metadata.file_name AS f FROM $T ORDER BY id`);
    assert.equal(got.length, want.size);
    for (const g of got) {
      const w = want.get(Number(g.id));
      assert.ok(w, `row id=${g.id}`);
      assert.equal(g.c, null);
      assert.equal(g.name, w.name, `name of id=${g.id} (${g.f})`);
      assert.equal(g.amount, w.amount, `amount of id=${g.id} (${g.f})`);
      if (mode === 'add_new_columns') {
        assert.equal(g.color, w.color, `color of id=${g.id} (${g.f})`);
        assert.equal(g.r, null);
      } else if (g.f === 'c.csv') {
        assert.deepEqual(JSON.parse(g.r), { color: w.color, _file_path: path.join(ws.input, 'c.csv') });
      } else {
        assert.equal(g.r, null);
      }
    }
    if (mode === 'add_new_columns') {
      assert.ok(cols.includes('color'), `raw_events columns: ${cols}`);
      assert.match(log, /schema change: raw_events version=2 adds color string \(first seen in file=\S*c\.csv/);
      const proc = await rows(path.join(ws.tables, 'processed_events'),
        `SELECT count(*) AS n, count(color) AS colored FROM $T`);
      assert.deepEqual([Number(proc[0].n), Number(proc[0].colored)], [want.size, 40]);
    } else {
      assert.ok(!cols.includes('color'), `raw_events columns: ${cols}`);
    }
    fs.rmSync(ws.dir, { recursive: true, force: true });
  }
});

test('text: one value per line, empty lines kept, CRLF, a last line without newline, long lines corrupt', async () => {
  const ws = workspace('fmt-text', {
    transform: 1, writer: 1, extra: 'source:\n  format: text\n  max_record_size: 1000\n',
  });
  const lines = ['first', '', 'caf\u00e9 \u2603', 'x'.repeat(5000), 'after long', 'last no newline'];
  const text = lines.slice(0, -1).map((l, i) => l + (i === 0 ? '\r\n' : '\n')).join('') + lines.at(-1);
  fs.writeFileSync(path.join(ws.input, 'a.txt'), text);
  fs.writeFileSync(path.join(ws.input, 'b.log.zst'), zstd(Buffer.from(text)));
  const logs = availableNow(ws);
  assert.match(logs, /record longer than max_record_size=1000 file=\S*a\.txt offset=\d+ length=5001/);
  const got = await rows(path.join(ws.tables, 'raw_events'),
    `SELECT _metadata.file_name AS f, _metadata.file_offset AS o, value, length(_corrupt_record) AS c FROM $T ORDER BY f, o`);
  assert.equal(got.length, 12);
  let off = 0;
  const offs = lines.map((l, i) => { const o = off; off += Buffer.byteLength(l) + (i === 0 ? 2 : 1); return o; });
  for (const k of [0, 1]) {
    for (let i = 0; i < lines.length; i++) {
      const g = got[k * lines.length + i];
      assert.equal(Number(g.o), offs[i]);
      if (i === 3) {
        assert.equal(g.value, null);
        assert.equal(Number(g.c), 1000);
      } else {
        assert.equal(g.value, lines[i]);
      }
    }
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('JSON lines: a line over max_record_size is one corrupt record (its head), the next lines go on', async () => {
  const ws = workspace('fmt-maxrec', { transform: 1, writer: 1, extra: 'source:\n  max_record_size: 1000\n' });
  const long = JSON.stringify({ event_id: 'big', pad: 'p'.repeat(5000) });
  fs.writeFileSync(path.join(ws.input, 'a.jsonl'), `{"event_id":"e1"}\n${long}\n{"event_id":"e2"}\n`);
  const logs = availableNow(ws);
  assert.match(logs, new RegExp(`record longer than max_record_size=1000 file=\\S*a\\.jsonl offset=18 length=${long.length + 1}:`));
  const got = await rows(path.join(ws.tables, 'raw_events'),
    `SELECT _metadata.file_offset AS o, event_id, _corrupt_record AS c FROM $T ORDER BY o`);
  assert.deepEqual(got.map((g) => [Number(g.o), g.event_id, g.c]), [
    [0, 'e1', null],
    [18, null, long.slice(0, 1000)],
    [18 + long.length + 1, 'e2', null],
  ]);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('multi_line JSON: a document per file or a top-level array of objects', async () => {
  const ws = workspace('fmt-multiline', { transform: 1, writer: 1, extra: 'source:\n  multi_line: true\n' });
  fs.writeFileSync(path.join(ws.input, 'a.json'), '{\n  "event_id": "a1",\n  "n": 1\n}\n');
  fs.writeFileSync(path.join(ws.input, 'b.json.gz'),
    zlib.gzipSync('[\n {"event_id": "b1", "n": 2},\n {"event_id": "b2",\n  "n": 3},\n 42\n]\n'));
  availableNow(ws);
  const got = await rows(path.join(ws.tables, 'raw_events'),
    `SELECT _metadata.file_name AS f, _metadata.file_offset AS o, event_id, n, _corrupt_record AS c FROM $T ORDER BY f, o`);
  assert.deepEqual(got.map((g) => [g.f, Number(g.o), g.event_id, g.n === null ? null : Number(g.n), g.c]), [
    ['a.json', 0, 'a1', 1, null],
    ['b.json.gz', 3, 'b1', 2, null],
    ['b.json.gz', 32, 'b2', 3, null],
    ['b.json.gz', 63, null, null, '42'],
  ]);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('a transform killed mid-batch on .gz input: every line exactly once', async () => {
  const ws = workspace('fmt-kill', { transform: 2, writer: 1, extra: 'source:\n  chunk_bytes: 65536\n' });
  const staging = path.join(ws.dir, 'staging');
  gen(['--out', staging, '--files', '2', '--rows', '60000', '--seed', '503']);
  let total = 0;
  // commits wait (injected EACCES) while the gate exists: batch 0 cannot be committed before the kill
  // is seen, so its replay is certain however fast the machine is
  const gate = path.join(ws.dir, 'no-commit');
  fs.writeFileSync(gate, '');
  const d = startDaemon(['-c', ws.config], { LAKESUP_FAULT: `committer.commit=EACCES@while:${gate}` });
  try {
    await waitAllRunning(ws.config);
    for (const n of fs.readdirSync(staging).sort()) {
      const raw = fs.readFileSync(path.join(staging, n));
      total += lineOffsets(raw).length;
      fs.writeFileSync(path.join(ws.dir, n + '.gz'), zlib.gzipSync(raw));
      fs.renameSync(path.join(ws.dir, n + '.gz'), path.join(ws.input, n + '.gz'));
    }
    await until(() => /planned batch=0 /.test(d.logs()), 10000, 'batch 0 planned');
    const t = await runningWorker(ws.config, 'transform');
    process.kill(t.pid, 'SIGKILL');
    await until(() => /role=transform index=\d+ pid=\d+ exited unexpectedly/.test(d.logs()), 10000, 'the kill seen');
    await waitLog(d, /replayed batch=0 /, 30000);
    fs.rmSync(gate);
    await until(async () => {
      const r = await rows(path.join(ws.tables, 'processed_events'), 'SELECT count(*) AS n FROM $T');
      return r.length && Number(r[0].n) === total;
    }, 60000, `${total} rows`);
    await waitLog(d, /replay requested/);
    await waitLog(d, /replayed batch=0 /);
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0);
    const r = await rows(path.join(ws.tables, 'raw_events'),
      'SELECT count(*) AS n, count(DISTINCT event_id) AS d, count(DISTINCT (_metadata.file_name, _metadata.file_offset)) AS o FROM $T');
    assert.equal(Number(r[0].n), total);
    assert.equal(Number(r[0].d), total);
    assert.equal(Number(r[0].o), total);
  } finally {
    d.child.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});
