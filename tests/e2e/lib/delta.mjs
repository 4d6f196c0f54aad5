// delta.mjs — an independent Delta Lake log replay in JavaScript (shares no code with lake/).
//
// replay(tablePath, {version}) lists _delta_log, picks the newest complete checkpoint at or
// below the wanted version (from _last_checkpoint, or by listing when that file is missing or
// corrupt), reads it with DuckDB read_parquet, then applies the JSON commits in order. Versions
// must be contiguous. Returns {version, files:[{path, fullPath, size, stats, partitionValues}],
// schemaString, metaData, protocol, txns:{appId: version}, commitInfos:[...]}.
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

let sharedConn = null;
export async function duck() {
  if (!sharedConn) {
    const inst = await DuckDBInstance.create(':memory:');
    sharedConn = await inst.connect();
    // TIMESTAMPTZ values print in the session's zone: UTC, whatever the machine's (a Debian
    // install usually is not), so that tests compare them with ...Z strings
    await sharedConn.run("SET TimeZone = 'UTC'");
  }
  return sharedConn;
}

/** The rows of a DuckDB query, as objects of plain JS values. */
export async function query(sql) {
  return (await (await duck()).runAndReadAll(sql)).getRowObjectsJS();
}

/** query() over the live rows of the table at tablePath (replayed here): $T in sql stands for them; [] when no file is live. */
export async function queryTable(tablePath, sql) {
  const from = await readTableSql(await replay(tablePath));
  return from ? query(sql.replaceAll('$T', from)) : [];
}

export function sqlStr(s) {
  return "'" + String(s).replaceAll("'", "''") + "'";
}

const COMMIT_RE = /^(\d{20})\.json$/;
const CKPT_RE = /^(\d{20})\.checkpoint(?:\.(\d{10})\.(\d{10}))?\.parquet$/;

function listLog(logDir) {
  if (!fs.existsSync(logDir)) throw new Error(`no _delta_log folder: ${logDir}`);
  const commits = new Map();
  const ckpts = new Map(); // version -> {parts, files:Set}
  for (const name of fs.readdirSync(logDir)) {
    let m = COMMIT_RE.exec(name);
    if (m) { commits.set(Number(m[1]), path.join(logDir, name)); continue; }
    m = CKPT_RE.exec(name);
    if (m) {
      const v = Number(m[1]);
      const parts = m[2] ? Number(m[3]) : 1;
      const key = `${v}/${parts}`;
      if (!ckpts.has(key)) ckpts.set(key, { version: v, parts, files: [] });
      ckpts.get(key).files.push(path.join(logDir, name));
    }
  }
  const complete = [...ckpts.values()].filter((c) => c.files.length === c.parts);
  for (const c of complete) c.files.sort();
  return { commits, checkpoints: complete };
}

function readLastCheckpoint(logDir) {
  try {
    const j = JSON.parse(fs.readFileSync(path.join(logDir, '_last_checkpoint'), 'utf8'));
    return Number.isInteger(j.version) ? j : null;
  } catch {
    return null; // missing or corrupt: fall back to listing
  }
}

export function resolveDataPath(tablePath, p) {
  const decoded = decodeURIComponent(p);
  if (/^file:/.test(decoded)) return decoded.replace(/^file:(\/\/)?/, '').replace(/^\/+/, '/');
  if (decoded.startsWith('/')) return decoded;
  return path.join(tablePath, decoded);
}

async function readCheckpoint(files) {
  const conn = await duck();
  const list = '[' + files.map(sqlStr).join(',') + ']';
  const r = await conn.runAndReadAll(
    `SELECT to_json(t) AS j FROM read_parquet(${list}, union_by_name=true) t`);
  return r.getRowObjectsJS().map((row) => JSON.parse(row.j));
}

export async function replay(tablePath, opts = {}) {
  const logDir = path.join(tablePath, '_delta_log');
  const { commits, checkpoints } = listLog(logDir);
  const allVersions = [...commits.keys(), ...checkpoints.map((c) => c.version)];
  if (allVersions.length === 0) throw new Error(`empty _delta_log: ${logDir}`);
  const latest = Math.max(...allVersions);
  const target = opts.version ?? latest;
  if (target > latest || target < 0) throw new Error(`version ${target} not in table (latest ${latest})`);

  // Newest usable checkpoint <= target: _last_checkpoint's if it exists and is complete.
  let ckpt = null;
  const last = readLastCheckpoint(logDir);
  if (last && last.version <= target) {
    ckpt = checkpoints.find((c) => c.version === last.version) ?? null;
  }
  if (!ckpt) {
    const usable = checkpoints.filter((c) => c.version <= target).sort((a, b) => b.version - a.version);
    ckpt = usable[0] ?? null;
  }

  const state = {
    files: new Map(), metaData: null, protocol: null, txns: {}, commitInfos: [],
  };
  const apply = (a, version) => {
    if (a.add) {
      const p = decodeURIComponent(a.add.path);
      state.files.set(p, a.add);
    } else if (a.remove) {
      state.files.delete(decodeURIComponent(a.remove.path));
    } else if (a.metaData) {
      state.metaData = a.metaData;
    } else if (a.protocol) {
      state.protocol = a.protocol;
    } else if (a.txn) {
      state.txns[a.txn.appId] = Number(a.txn.version);
    } else if (a.commitInfo) {
      state.commitInfos.push({ version, ...a.commitInfo });
    }
  };

  let from = 0;
  if (ckpt) {
    const rows = await readCheckpoint(ckpt.files);
    // Checkpoint rows hold one non-null action each; removes there are tombstones only.
    for (const r of rows) {
      for (const k of ['protocol', 'metaData', 'txn', 'add']) {
        if (r[k] != null && (k !== 'add' || r[k].path != null)) apply({ [k]: r[k] }, ckpt.version);
      }
    }
    from = ckpt.version + 1;
  }
  for (let v = from; v <= target; v++) {
    const f = commits.get(v);
    if (!f) throw new Error(`versions not contiguous: missing commit ${v} in ${logDir}`);
    const text = fs.readFileSync(f, 'utf8');
    let lineNo = 0;
    for (const line of text.split('\n')) {
      lineNo++;
      if (!line.trim()) continue;
      let a;
      try { a = JSON.parse(line); } catch (e) {
        throw new Error(`${f}:${lineNo}: bad JSON: ${e.message}`);
      }
      apply(a, v);
    }
  }
  if (!state.metaData) throw new Error(`no metaData action in ${logDir} up to version ${target}`);
  if (!state.protocol) throw new Error(`no protocol action in ${logDir} up to version ${target}`);

  const files = [...state.files.entries()].map(([p, a]) => ({
    path: p,
    fullPath: resolveDataPath(tablePath, a.path),
    size: a.size == null ? null : Number(a.size),
    partitionValues: a.partitionValues ?? {},
    stats: typeof a.stats === 'string' && a.stats ? JSON.parse(a.stats) : (a.stats ?? null),
  }));
  files.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  return {
    version: target,
    checkpointVersion: ckpt ? ckpt.version : null,
    files,
    schemaString: state.metaData.schemaString,
    metaData: state.metaData,
    protocol: state.protocol,
    txns: state.txns,
    commitInfos: state.commitInfos,
  };
}

// Rows of the live files. For a partitioned table the partition columns come from each add
// action's partitionValues (not from the directory names), cast to the schema's type.
const DUCK_TYPES = {
  string: 'VARCHAR', long: 'BIGINT', integer: 'INTEGER', short: 'SMALLINT', byte: 'TINYINT',
  double: 'DOUBLE', float: 'FLOAT', boolean: 'BOOLEAN', date: 'DATE', timestamp: 'TIMESTAMPTZ',
  timestamp_ntz: 'TIMESTAMP',
};
export async function readTableSql(snapshot) {
  if (snapshot.files.length === 0) return null;
  const pcols = snapshot.metaData?.partitionColumns ?? [];
  if (!pcols.length)
    return `read_parquet([${snapshot.files.map((f) => sqlStr(f.fullPath)).join(',')}], union_by_name=true, hive_partitioning=false)`;
  const types = new Map(JSON.parse(snapshot.schemaString).fields.map((f) => [f.name, f.type]));
  const groups = new Map();
  for (const f of snapshot.files) {
    const key = JSON.stringify(pcols.map((c) => f.partitionValues[c] ?? null));
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(f.fullPath);
  }
  const parts = [...groups.entries()].map(([key, paths]) => {
    const vals = JSON.parse(key).map((v, i) => {
      const t = DUCK_TYPES[types.get(pcols[i])] ?? 'VARCHAR';
      return `CAST(${v === null ? 'NULL' : sqlStr(v)} AS ${t}) AS "${pcols[i]}"`;
    });
    return `SELECT *, ${vals.join(', ')} FROM read_parquet([${paths.map(sqlStr).join(',')}], union_by_name=true, hive_partitioning=false)`;
  });
  return `(${parts.join(' UNION ALL BY NAME ')})`;
}
