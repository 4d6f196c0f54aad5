// The hostile corpus (issue 17): input of every shape a producer can send, mixed with good rows,
// deterministic by seed. Used by tests/e2e/hostile.test.mjs (through the whole pipeline), by the
// fuzz targets as seeds (tests/fuzz/run.sh --hostile) and by hand:
//
//   node tests/hostile/gen.mjs --out DIR --manifest FILE [--seed S] [--format json|csv] [--huge]
//   node tests/hostile/gen.mjs --seeds DIR --target json|csv|source [--seed S]
//
// --out writes the corpus files into DIR (a source_path) and a manifest (JSON) to FILE that says,
// for every file, what must become of it and of each of its lines:
//   files[i] = { name (hex of the name's bytes), display, lines: [{offset, class, expect}],
//                expect: 'rows' | 'rows-or-skipped' | 'ignored' }
//   expect of a line: 'good' (a good row: in both tables exactly once, by event_id), 'corrupt'
//   (one raw_events row with _corrupt_record at that offset), 'row' (one raw_events row that is
//   not corrupt: odd but valid JSON, with whatever does not fit in _rescued_data), 'any' (one
//   row, corrupt or not), 'none' (an empty line: no row), 'maybe' (may or may not be read: the
//   tail of a damaged compressed file).
// A file 'ignored' is not a source file (a FIFO, a directory named x.jsonl, a symlink loop): no
// row, and discovery must not stop on it. 'rows-or-skipped': read (its lines as listed) or
// skipped with its reason in `lakesupd source list`. --huge adds the long-run classes (a 300 MB
// line, a file of 10 million tiny lines); without them CI runs a 10 MB string over a 1 MiB
// max_record_bytes (the same path: a head kept, the rest skipped as it streams) and 200,000
// tiny lines (20,000 in the ASan run).
// The test decides the run-time classes (a file truncated, deleted or grown while being read).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { prng } from '../e2e/lib/prng.mjs';

export const GOOD_PREFIX = 'good-';
/** A good row: the generator's event shape, with a unique id (a number: good-N; or a string as it is). */
export function goodLine(id) {
  return JSON.stringify({ event_id: typeof id === 'string' ? id : `${GOOD_PREFIX}${id}`, user_id: id, event_type: 'click', ts: '2026-11-24T09:30:00.000Z',
    amount: 1.5, country: 'FR', device: { os: 'linux', version: '1' }, message: `good row ${id}` });
}

const nest = (n, open, close, leaf = '1') => open.repeat(n) + leaf + close.repeat(n);
const B = (x) => (Buffer.isBuffer(x) ? x : Buffer.from(x, typeof x === 'string' ? 'utf8' : undefined));

/** The hostile JSON lines: [class, bytes (no line end), expect]. */
export function hostileJsonLines(rand, { huge = false, maxRecord = 1 << 20 } = {}) {
  const bin = (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)).map((b) => (b === 10 ? 11 : b)));
  const L = [];
  const add = (cls, bytes, expect) => L.push([cls, B(bytes), expect]);
  // bytes
  add('binary', bin(200), 'corrupt');
  add('binary-short', bin(7), 'corrupt');
  add('nul-in-line', Buffer.concat([B('{"event_id":"h-nul1"'), Buffer.from([0]), B(',"a":1}')]), 'corrupt');
  add('nul-escaped-in-string', '{"event_id":"h-nul2","message":"z\\u0000w"}', 'row');
  add('nul-raw-in-string', Buffer.concat([B('{"event_id":"h-nul3","message":"z'), Buffer.from([0]), B('w"}')]), 'corrupt');
  const invalid = {
    'utf8-lone-continuation': [0x80], 'utf8-lone-continuation-bf': [0xbf], 'utf8-overlong-2': [0xc0, 0xaf],
    'utf8-overlong-3': [0xe0, 0x80, 0xaf], 'utf8-overlong-4': [0xf0, 0x80, 0x80, 0xaf], 'utf8-surrogate': [0xed, 0xa0, 0x80],
    'utf8-above-10ffff': [0xf4, 0x90, 0x80, 0x80], 'utf8-truncated-3': [0xe2, 0x82], 'utf8-truncated-4': [0xf0, 0x9f, 0x98],
    'utf8-fe': [0xfe], 'utf8-ff': [0xff], 'utf8-c1': [0xc1, 0xbf], 'utf8-f5': [0xf5, 0x80, 0x80, 0x80],
    'latin1': [0x63, 0x61, 0x66, 0xe9],
  };
  for (const [cls, bytes] of Object.entries(invalid)) {
    add(`${cls}-in-string`, Buffer.concat([B('{"event_id":"h-u8","message":"a'), Buffer.from(bytes), B('b"}')]), 'corrupt');
    add(`${cls}-in-key`, Buffer.concat([B('{"event_id":"h-u8k","k'), Buffer.from(bytes), B('":1}')]), 'corrupt');
  }
  add('lone-high-surrogate-escape', '{"event_id":"h-sur1","message":"\\ud800"}', 'any');
  add('lone-low-surrogate-escape', '{"event_id":"h-sur2","message":"\\udc00x"}', 'any');
  add('reversed-surrogates-escape', '{"event_id":"h-sur3","message":"\\udc00\\ud800"}', 'any');
  add('bom-mid-file', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), B('{"event_id":"h-bom","a":1}')]), 'any');
  add('cr-only-line-ends', '{"event_id":"h-cr1","a":1}\r{"event_id":"h-cr2","a":2}\r{"event_id":"h-cr3"}', 'corrupt');
  add('crlf', '{"event_id":"h-crlf","a":1}\r', 'row');
  add('control-chars-raw', '{"event_id":"h-ctl","message":"a\u0001\u001fb"}', 'corrupt');
  // sizes
  add('empty-line', '', 'none');
  add('blank-line', ' \t ', 'none');
  add('line-over-max-record', `{"event_id":"h-big","message":"${'x'.repeat(maxRecord + 100)}"}`, 'corrupt');
  add('string-10MB', `{"event_id":"h-10mb","message":"${'y'.repeat(10 * 1000 * 1000)}"}`,
    10 * 1000 * 1000 + 100 >= maxRecord ? 'corrupt' : 'row');
  add('keys-100k', `{${Array.from({ length: 100000 }, (_, i) => `"k${i}":${i}`).join(',')}}`, 'any');
  if (huge) add('line-300MB', `{"message":"${'z'.repeat(300 * 1000 * 1000)}"}`, 'corrupt');
  // JSON
  for (const n of [10, 100, 1000, 100000]) {
    const deep = n > 64 ? 'corrupt' : 'row';
    add(`nest-${n}-arrays`, `{"event_id":"h-n","d":${nest(n, '[', ']')}}`, deep);
    add(`nest-${n}-objects`, `{"event_id":"h-n","d":${nest(n, '{"a":', '}')}}`, deep);
    add(`nest-${n}-alternating`, `{"event_id":"h-n","d":${nest(Math.ceil(n / 2), '{"a":[', ']}')}}`, deep);
  }
  add('duplicate-keys', '{"event_id":"h-dup","a":1,"a":2,"event_id":"h-dup2"}', 'row');
  add('empty-key', '{"event_id":"h-empty","":1}', 'row');
  add('keys-differing-in-case', '{"event_id":"h-case","Event_ID":"x","EVENT_ID":"y","amount":1,"Amount":"2"}', 'row');
  add('int-beyond-int64', '{"event_id":"h-big1","user_id":123456789012345678901234567890}', 'row');
  add('number-beyond-double', '{"event_id":"h-big2","amount":1e400,"x":-1e400}', 'any');
  add('number-subnormal', '{"event_id":"h-big3","amount":4.9e-325}', 'any');
  add('nan', '{"event_id":"h-nan","amount":NaN}', 'corrupt');
  add('infinity', '{"event_id":"h-inf","amount":Infinity,"b":-Infinity}', 'corrupt');
  add('leading-zeros', '{"event_id":"h-lz","user_id":007}', 'corrupt');
  add('trailing-comma-object', '{"event_id":"h-tc","a":1,}', 'corrupt');
  add('trailing-comma-array', '{"event_id":"h-tc2","a":[1,2,]}', 'corrupt');
  add('top-level-array', '[{"event_id":"h-arr"}]', 'corrupt');
  add('top-level-scalar-number', '42', 'corrupt');
  add('top-level-scalar-string', '"just a string"', 'corrupt');
  add('top-level-null', 'null', 'corrupt');
  add('two-objects-on-a-line', '{"event_id":"h-two1"}{"event_id":"h-two2"}', 'corrupt');
  add('unterminated-object', '{"event_id":"h-open","a":[1,2', 'corrupt');
  add('unterminated-string', '{"event_id":"h-open2","a":"abc', 'corrupt');
  add('single-quotes', "{'event_id':'h-sq'}", 'corrupt');
  add('comments', '{"event_id":"h-cm" /* c */}', 'corrupt');
  add('reserved-keys', '{"event_id":"h-res","_corrupt_record":"x","_rescued_data":{"a":1},"_metadata":{"file_path":"/etc/passwd"}}', 'row');
  add('type-mismatch', '{"event_id":"h-tm","user_id":"not a number","amount":"x","device":"str","ts":12}', 'row');
  return L;
}

/** Lines as a file: good rows between hostile lines; returns {buf, lines:[{offset, class, expect, id}]}. */
function weave(hostile, goodIds, { eol = '\n' } = {}) {
  const parts = [], lines = [];
  let off = 0;
  const push = (cls, bytes, expect, id) => {
    lines.push({ offset: off, class: cls, expect, ...(id ? { id } : {}) });
    const b = Buffer.concat([bytes, Buffer.from(eol)]);
    parts.push(b);
    off += b.length;
  };
  let g = 0;
  for (const [cls, bytes, expect] of hostile) {
    if (g < goodIds.length) push('good', B(goodLine(goodIds[g])), 'good', `${GOOD_PREFIX}${goodIds[g++]}`);
    push(cls, bytes, expect);
  }
  while (g < goodIds.length) push('good', B(goodLine(goodIds[g])), 'good', `${GOOD_PREFIX}${goodIds[g++]}`);
  return { buf: Buffer.concat(parts), lines };
}

function tool(cmd, args, input) {
  const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * Writes the corpus into dir; returns the manifest. goodStart: the first good id.
 * maxRecord: the pipeline's source.max_record_bytes (the test sets it).
 */
export function generate(dir, { seed = 1, format = 'json', huge = false, maxRecord = 1 << 20, goodStart = 0, tinyLines = 200_000 } = {}) {
  const rand = prng(seed);
  fs.mkdirSync(dir, { recursive: true });
  const files = [];
  let nextGood = goodStart;
  const goods = (n) => Array.from({ length: n }, () => nextGood++);
  const write = (nameBytes, buf, lines, expect = 'rows') => {
    const name = B(nameBytes);
    fs.writeFileSync(Buffer.concat([B(dir), B('/'), name]), buf);
    files.push({ name: name.toString('hex'), display: name.toString('latin1'), size: buf.length, lines, expect });
  };
  if (format === 'csv') {
    const c = (name, text, lines, expect = 'rows') => write(name, B(text), lines, expect);
    // header: event_id,user_id,message ; each file its own shape
    const header = 'event_id,user_id,message\n';
    const g = goods(6).map((i) => `${GOOD_PREFIX}${i},${i},good row ${i}`);
    let t = header, off = header.length;
    const lines = [];
    const row = (text, cls, expect, id) => {
      lines.push({ offset: off, class: cls, expect, ...(id ? { id } : {}) });
      t += text + '\n';
      off += Buffer.byteLength(text) + 1;
    };
    row(g[0], 'good', 'good', g[0].split(',')[0]);
    row('h-rag1,1', 'ragged-short', 'any');
    row(g[1], 'good', 'good', g[1].split(',')[0]);
    row('h-rag2,2,msg,extra,more', 'ragged-long', 'any');
    row(g[2], 'good', 'good', g[2].split(',')[0]);
    row('"h-q1,3,unbalanced', 'unbalanced-quote', 'corrupt');
    c('ragged.csv', t, lines);
    let t2 = header, off2 = header.length;
    const lines2 = [];
    for (const k of [3, 4, 5]) {
      lines2.push({ offset: off2, class: 'good', expect: 'good', id: `${GOOD_PREFIX}${nextGood - 6 + k}` });
      t2 += g[k] + '\n';
      off2 += Buffer.byteLength(g[k]) + 1;
    }
    lines2.push({ offset: off2, class: 'quote-then-garbage', expect: 'corrupt' });
    t2 += '"h-q2"x,5,y\n';
    c('quotes.csv', t2, lines2);
    c('header-only.csv', header, []);
    c('dup-header.csv', 'event_id,event_id,\nh-d1,h-d2,x\n', [{ offset: 19, class: 'duplicate-and-empty-header', expect: 'any' }]);
    c('empty.csv', '', []);
    return { seed, format, files };
  }
  // JSON lines: the hostile lines in three files, good rows between them
  const hostile = hostileJsonLines(rand, { huge, maxRecord });
  const third = Math.ceil(hostile.length / 3);
  for (let k = 0; k < 3; k++) {
    const part = hostile.slice(k * third, (k + 1) * third);
    const { buf, lines } = weave(part, goods(part.length + 1));
    write(`hostile-${k}.jsonl`, buf, lines);
  }
  // CR-only line ends for a whole file: one record, not JSON: one corrupt row
  write('cr-only.jsonl', Buffer.from([1, 2, 3].map((i) => goodLine(`cr-${i}`)).join('\r') + '\r'),
    [{ offset: 0, class: 'cr-only-file', expect: 'corrupt' }]);
  // sizes
  write('empty.jsonl', Buffer.alloc(0), []);
  write('only-newlines.jsonl', Buffer.from('\n\n\r\n\n'), []);
  {
    const n = huge ? 10_000_000 : tinyLines;
    const id0 = nextGood;
    nextGood += n;
    const parts = [];
    for (let i = 0; i < n; i++) parts.push(`{"event_id":"${GOOD_PREFIX}${id0 + i}"}\n`);
    const buf = Buffer.from(parts.join(''));
    write(`tiny-lines-${n}.jsonl`, buf, [{ offset: 0, class: 'tiny-lines', expect: 'good-range', first: id0, count: n }]);
  }
  {
    // a line larger than chunk_bytes (2 MiB default) but within max_record_bytes
    const big = goodLine('h-over-chunk').replace('"message":"', `"message":"${'m'.repeat(Math.min(3 << 20, maxRecord - 1000))}`);
    const { buf, lines } = weave([['over-chunk-bytes', B(big), 'row']], goods(2));
    write('big-line.jsonl', buf, lines);
  }
  // compressed, damaged: what can be decompressed is read (each row at most once), the rest is
  // lost to the producer's damage, never to us; 'maybe-' ids, at most once each
  {
    const maybe = (tag, n) => Buffer.from(Array.from({ length: n }, (_, i) => goodLine(`maybe-${tag}-${i}`) + '\n').join(''));
    const gz = zlib.gzipSync(maybe('gz', 400));
    write('truncated.jsonl.gz', gz.subarray(0, Math.floor(gz.length / 2)), [{ offset: 0, class: 'truncated-gz', expect: 'maybe' }]);
    write('not-gzip.jsonl.gz', B('{"event_id":"maybe-notgz-0"}\nplain text, not gzip\n'),
      [{ offset: 0, class: 'not-gzip', expect: 'maybe' }], 'rows-or-skipped');
    const zst = tool('zstd', ['-q', '-c'], maybe('zst', 300));
    write('truncated.jsonl.zst', zst.subarray(0, Math.floor(zst.length / 2)), [{ offset: 0, class: 'truncated-zst', expect: 'maybe' }], 'rows-or-skipped');
    const bz = tool('bzip2', ['-c'], maybe('bz2', 300));
    write('truncated.jsonl.bz2', bz.subarray(0, Math.floor(bz.length / 2)), [{ offset: 0, class: 'truncated-bz2', expect: 'maybe' }], 'rows-or-skipped');
    write('random.jsonl.gz', Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.from(Array.from({ length: 300 }, () => Math.floor(rand() * 256)))]),
      [{ offset: 0, class: 'gzip-header-then-garbage', expect: 'maybe' }], 'rows-or-skipped');
  }
  // names
  for (const [cls, name] of [['name-spaces', 'with spaces in it.jsonl'], ['name-newline', 'new\nline.jsonl'],
    ['name-quotes', 'quo"te\'s.jsonl'], ['name-percent', '100%25%.jsonl'], ['name-latin1', Buffer.from('caf\xe9.jsonl', 'latin1')],
    ['name-invalid-utf8', Buffer.from([0x78, 0xff, 0xfe, 0x80, 0x2e, 0x6a, 0x73, 0x6f, 0x6e, 0x6c])],
    ['name-backslash', 'back\\slash.jsonl'], ['name-dash-start', '-rf.jsonl'], ['name-unicode', 'данные-日本.jsonl']]) {
    const { buf, lines } = weave([], goods(2));
    lines.forEach((l) => (l.nameClass = cls));
    write(name, buf, lines);
  }
  // not source files: discovery must go on past them
  const special = [];
  fs.mkdirSync(path.join(dir, 'a-directory.jsonl'));
  special.push({ name: B('a-directory.jsonl').toString('hex'), display: 'a-directory.jsonl', class: 'directory-named-jsonl', expect: 'ignored' });
  spawnSync('mkfifo', [path.join(dir, 'fifo.jsonl')]);
  special.push({ name: B('fifo.jsonl').toString('hex'), display: 'fifo.jsonl', class: 'fifo', expect: 'ignored' });
  fs.symlinkSync('loop-b.jsonl', path.join(dir, 'loop-a.jsonl'));
  fs.symlinkSync('loop-a.jsonl', path.join(dir, 'loop-b.jsonl'));
  special.push({ name: B('loop-a.jsonl').toString('hex'), display: 'loop-a.jsonl', class: 'symlink-loop', expect: 'ignored' });
  special.push({ name: B('loop-b.jsonl').toString('hex'), display: 'loop-b.jsonl', class: 'symlink-loop', expect: 'ignored' });
  fs.symlinkSync('/nonexistent/target.jsonl', path.join(dir, 'dangling.jsonl'));
  special.push({ name: B('dangling.jsonl').toString('hex'), display: 'dangling.jsonl', class: 'dangling-symlink', expect: 'ignored' });
  {
    const { buf, lines } = weave([], goods(2));
    const f = path.join(dir, 'no-permission.jsonl');
    fs.writeFileSync(f, buf);
    fs.chmodSync(f, 0);
    // root reads it anyway (CI runs as root): rows; anyone else: skipped with its reason
    files.push({ name: B('no-permission.jsonl').toString('hex'), display: 'no-permission.jsonl', size: buf.length, lines,
      expect: process.getuid && process.getuid() === 0 ? 'rows' : 'rows-or-skipped' });
  }
  return { seed, format, files: [...files, ...special], nextGood };
}

/** Fuzz seeds from the corpus: each hostile line (and small files) as a seed of target. */
export function seeds(dir, target, seed = 1) {
  fs.mkdirSync(dir, { recursive: true });
  const rand = prng(seed);
  const lines = hostileJsonLines(rand, { maxRecord: 4096 }).filter(([, b]) => b.length <= 65536);
  let n = 0;
  const put = (bytes) => fs.writeFileSync(path.join(dir, `hostile-${String(n++).padStart(3, '0')}`), bytes);
  if (target === 'json') {
    // first byte: options (tests/fuzz/fuzz_json.c): inferred schema (8) and the fixed one (0)
    for (const [, b] of lines) {
      const body = Buffer.concat([B(goodLine(1)), B('\n'), b, B('\n')]);
      put(Buffer.concat([Buffer.from([8]), body]));
      put(Buffer.concat([Buffer.from([0]), body]));
    }
  } else if (target === 'source') {
    // first byte: codec (& 3) and format; plain, gzip
    const all = Buffer.concat(lines.slice(0, 40).map(([, b]) => Buffer.concat([b, B('\n')])));
    put(Buffer.concat([Buffer.from([0]), all]));
    put(Buffer.concat([Buffer.from([1]), zlib.gzipSync(all)]));
    put(Buffer.concat([Buffer.from([1]), zlib.gzipSync(all).subarray(0, 100)]));
    for (const [, b] of lines.slice(0, 60)) put(Buffer.concat([Buffer.from([8]), b, B('\n')]));
  } else if (target === 'csv') {
    const csvs = ['a,b,c\n1,2\n3,4,5,6\n"x,1,2\n', 'a,a,\n1,2,3\n', 'a,b,c\n', '"a""b",c\r\n"\n",x\n', 'a,b\n"q"z,1\n'];
    for (const t of csvs) {
      put(Buffer.concat([Buffer.from([1]), B(t)]));
      put(Buffer.concat([Buffer.from([0x71]), B(t)]));
    }
    for (const [, b] of lines.slice(0, 30)) put(Buffer.concat([Buffer.from([1]), B('a,b,c\n'), b, B('\n')]));
  }
  return n;
}

// command line
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const a = process.argv.slice(2);
  const o = (k, d) => (a.indexOf(`--${k}`) >= 0 ? a[a.indexOf(`--${k}`) + 1] : d);
  const seed = Number(o('seed', 1));
  if (o('seeds')) {
    const n = seeds(o('seeds'), o('target', 'json'), seed);
    console.log(`${n} seeds for ${o('target', 'json')} in ${o('seeds')}`);
  } else if (o('out')) {
    const m = generate(o('out'), { seed, format: o('format', 'json'), huge: a.includes('--huge'),
      maxRecord: Number(o('max-record-bytes', 1 << 20)) });
    if (o('manifest')) fs.writeFileSync(o('manifest'), JSON.stringify(m, null, 1));
    console.log(`${m.files.length} files in ${o('out')}`);
  } else {
    console.error('usage: gen.mjs --out DIR --manifest FILE [--seed S] [--format json|csv] [--huge] [--max-record-bytes N]\n' +
      '       gen.mjs --seeds DIR --target json|csv|source [--seed S]');
    process.exit(2);
  }
}
