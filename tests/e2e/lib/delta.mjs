// An independent Delta log replay (PROTOCOL.md), written for the tests so
// that lakesupd's tables are checked by code that shares nothing with it.
import fs from 'node:fs';
import path from 'node:path';

/** Replays table/_delta_log up to `version` (latest by default). */
export async function replay(table, { version = Infinity, duck = null } = {}) {
  const log = path.join(table, '_delta_log');
  const names = fs.readdirSync(log);
  const versions = names.filter((n) => /^\d{20}\.json$/.test(n)).map((n) => Number(n.slice(0, 20))).sort((a, b) => a - b);
  const files = new Map();
  const txns = new Map();
  let metaData = null, protocol = null, start = 0, last = -1;
  const cps = names.filter((n) => /^\d{20}\.checkpoint\.parquet$/.test(n)).map((n) => Number(n.slice(0, 20)))
    .filter((v) => v <= version).sort((a, b) => a - b);
  if (cps.length && duck) {
    const cp = cps[cps.length - 1];
    const reader = await duck.runAndReadAll(
      `SELECT add.path AS ap, add.size AS asz, remove.path AS rp, txn.appId AS app, txn.version AS tv,
              metaData.schemaString AS ss FROM read_parquet('${path.join(log, String(cp).padStart(20, '0') + '.checkpoint.parquet')}')`);
    for (const r of reader.getRowObjects()) {
      if (r.ap) files.set(decodeURIComponent(r.ap), { size: Number(r.asz) });
      if (r.app) txns.set(r.app, Number(r.tv));
      if (r.ss) metaData = { schemaString: r.ss };
    }
    start = cp + 1;
    last = cp;
  }
  const todo = versions.filter((v) => v >= start && v <= version);
  for (let i = 0; i < todo.length; i++) {
    if (todo[i] !== (i === 0 ? start : todo[i - 1] + 1))
      throw new Error(`${log}: versions not contiguous at ${todo[i]}`);
    const text = fs.readFileSync(path.join(log, String(todo[i]).padStart(20, '0') + '.json'), 'utf8');
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const a = JSON.parse(line);
      if (a.add) files.set(decodeURIComponent(a.add.path), { size: a.add.size, stats: a.add.stats ? JSON.parse(a.add.stats) : null });
      else if (a.remove) files.delete(decodeURIComponent(a.remove.path));
      else if (a.metaData) metaData = a.metaData;
      else if (a.protocol) protocol = a.protocol;
      else if (a.txn) txns.set(a.txn.appId, a.txn.version);
    }
    last = todo[i];
  }
  return { version: last, files, metaData, protocol, txns, schema: metaData ? JSON.parse(metaData.schemaString) : null };
}
