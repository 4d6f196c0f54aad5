#!/usr/bin/env node
// verify.mjs — CLI: summarize a Delta table, or check it against lk_gen input.
//   node tests/e2e/verify.mjs --table DIR [--version V]
//   node tests/e2e/verify.mjs --table DIR --input DIR --kind raw|processed
// Prints one JSON object; exit 0 when the checks pass, 1 on problems, 2 on usage/read errors.
import { parseArgs } from 'node:util';
import { summarize, verify } from './lib/verify.mjs';

let args;
try {
  args = parseArgs({ options: {
    table: { type: 'string' }, input: { type: 'string' }, kind: { type: 'string', default: 'raw' },
    version: { type: 'string' },
  } }).values;
} catch (e) { console.error(`verify: ${e.message}`); process.exit(2); }
if (!args.table) {
  console.error('usage: verify.mjs --table DIR [--version V] [--input DIR --kind raw|processed]');
  process.exit(2);
}
try {
  if (!args.input) {
    const s = await summarize(args.table, args.version != null ? { version: Number(args.version) } : {});
    delete s.snapshot;
    console.log(JSON.stringify(s, null, 1));
    process.exit(0);
  }
  const res = await verify({ table: args.table, input: args.input, kind: args.kind });
  console.log(JSON.stringify({ ok: res.ok, ...res.summary, problemCount: res.problemCount }, null, 1));
  if (!res.ok) {
    console.error(`verify: FAILED with ${res.problemCount} problem(s); first ${res.problems.length}:`);
    for (const p of res.problems) console.error(`  - ${p}`);
    process.exit(1);
  }
} catch (e) {
  console.error(`verify: ${e.message}`);
  process.exit(2);
}
