// Kafka source (issue 5, format: kafka) against librdkafka's mock cluster, run by
// build/lk_kafka_mock in its own process (real client protocol, no broker to install).
// The real daemon ingests it; a transform is killed mid-batch and more messages arrive while
// it runs; DuckDB then checks both tables against the mock's delivery report: every message
// exactly once (count, distinct (partition, offset)), with its key, topic, timestamp and value.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { LAKESUPD, rowsOf, run as runCli, runningWorker, startDaemon, tmpDir, until, workspace } from './lib/daemon.mjs';
import { queryTable } from './lib/delta.mjs';
import { getJson, monitorUrl, scrape } from './lib/monitoring.mjs';
import { readReport, startMock } from './lib/kafka.mjs';

function kafkaWorkspace(name, bootstrap, extra = '', subscription = '  subscribe: [events]\n') {
  return workspace(name, {
    extra: 'source:\n  format: kafka\n' +
      `  bootstrap_servers: "${bootstrap}"\n${subscription}` +
      '  max_offsets_per_trigger: 600\n  chunk_bytes: 65536\n' + extra,
  });
}

const tableRows = (dir, cols) => queryTable(dir, `SELECT ${cols} FROM $T`);

test('Kafka: a transform killed mid-batch, messages arriving while running; every message exactly once in both tables', async () => {
  const reportDir = tmpDir('kafka-rep');
  const report = path.join(reportDir, 'delivered.jsonl');
  const mock = startMock(['--topic', 'events', '--partitions', '3', '--messages', '3000',
    '--corrupt-every', '97', '--report', report]);
  let d;
  try {
    await until(() => mock.produced().total === 3000, 30000, 'the mock produced 3000');
    const ws = kafkaWorkspace('kafka', mock.bootstrap(), 'monitor:\n  http: "127.0.0.1:0"\n');
    d = startDaemon(['-c', ws.config]);
    const base = await monitorUrl(d);
    await until(() => rowsOf(ws.config, 'raw_events') > 0, 30000, 'a first batch committed');
    // kill a transform while batches are in flight, then produce more
    const victim = await runningWorker(ws.config, 'transform', 0);
    process.kill(victim.pid, 'SIGKILL');
    mock.send('produce 2000');
    await until(() => mock.produced().total === 5000, 30000, 'the mock produced 5000');
    assert.equal(mock.produced().failed, 0);
    await until(() => rowsOf(ws.config, 'raw_events') === 5000, 90000, 'raw_events has 5000 rows');
    // the monitor: each partition's lag (0 once every offset is committed), Kafka offsets in the records
    const lags = await until(async () => {
      const { samples } = await scrape(base);
      const l = [0, 1, 2].map((p) => samples.get(`lakesup_kafka_lag_records{topic="events",partition="${p}"}`));
      return l.every((x) => x === 0) ? l : null;
    }, 20000, 'a Kafka lag of 0 on each partition');
    assert.equal(lags.length, 3);
    const recs = await getJson(`${base}/progress?last=1000`);
    assert.equal(recs.reduce((n, r) => n + r.numInputRows, 0), 5000);
    const src = recs[recs.length - 1].sources[0];
    assert.match(src.description, /^KafkaV2\[/);
    assert.deepEqual(Object.keys(src.endOffset), ['events']);
    assert.equal(src.metrics.maxOffsetsBehindLatest, '0');
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0, d.logs());
    const logs = d.logs();
    assert.match(logs, /replay requested/);
    assert.match(logs, /Kafka subscription has 3 partition\(s\)/);

    const delivered = readReport(report);
    assert.equal(delivered.length, 5000);
    const expect = new Map(delivered.map((m) => [`${m.partition}:${m.offset}`, m]));
    const isJson = (v) => { try { JSON.parse(v); return true; } catch { return false; } };
    const corruptIn = delivered.filter((m) => !isJson(m.value));
    assert.equal(corruptIn.length, Math.floor(5000 / 97));
    assert.ok(corruptIn.some((m) => m.value.startsWith('{')) && corruptIn.some((m) => !m.value.startsWith('{')));

    const raw = await tableRows(path.join(ws.tables, 'raw_events'),
      'key, topic, "partition" AS p, "offset" AS o, "timestamp" AS ts, event_id, n, _corrupt_record AS bad');
    assert.equal(raw.length, 5000);
    const bad = raw.filter((r) => r.bad !== null);
    assert.deepEqual(bad.map((r) => r.bad).sort(), corruptIn.map((m) => m.value).sort());
    // a corrupt value keeps its Kafka columns: the message it came from, whole
    for (const r of bad) {
      const m = expect.get(`${r.p}:${r.o}`);
      assert.ok(m, `corrupt row without its (partition, offset): ${r.p}:${r.o} ${r.bad}`);
      assert.equal(r.bad, m.value);
      assert.equal(r.key, m.key);
      assert.equal(r.topic, 'events');
      assert.ok(r.ts !== null, `timestamp of corrupt ${r.p}:${r.o}`);
      assert.equal(r.event_id, null);
    }
    const good = raw.filter((r) => r.bad === null);
    assert.equal(good.length, 5000 - corruptIn.length);
    const seen = new Set();
    for (const r of raw) {
      const k = `${r.p}:${r.o}`;
      assert.ok(!seen.has(k), `duplicate (partition, offset) ${k}`);
      seen.add(k);
    }
    assert.equal(seen.size, 5000);
    seen.clear();
    for (const r of good) {
      const k = `${r.p}:${r.o}`;
      assert.ok(!seen.has(k), `duplicate (partition, offset) ${k}`);
      seen.add(k);
      const m = expect.get(k);
      assert.ok(m, `unexpected (partition, offset) ${k}`);
      const v = JSON.parse(m.value);
      assert.equal(r.key, m.key);
      assert.equal(r.topic, 'events');
      assert.equal(r.event_id, v.event_id);
      assert.equal(Number(r.n), v.n);
      assert.ok(r.ts !== null, `timestamp of ${k}`);
    }

    const proc = await tableRows(path.join(ws.tables, 'processed_events'),
      '"partition" AS p, "offset" AS o, event_id, n');
    assert.equal(proc.length, 5000 - corruptIn.length);
    assert.equal(new Set(proc.map((r) => `${r.p}:${r.o}`)).size, proc.length);
    for (const r of proc) {
      const m = expect.get(`${r.p}:${r.o}`);
      assert.ok(m, `unexpected processed row ${r.p}:${r.o}`);
      assert.equal(r.event_id, JSON.parse(m.value).event_id);
    }
    fs.rmSync(ws.dir, { recursive: true, force: true });
  } finally {
    if (d) d.child.kill('SIGKILL');
    mock.child.kill('SIGKILL');
  }
  fs.rmSync(reportDir, { recursive: true, force: true });
});

test('Kafka: planned offsets that are not in the log stop the pipeline with fail_on_data_loss, naming topic, partition and offset', async () => {
  const mock = startMock(['--topic', 'events', '--partitions', '2', '--messages', '100']);
  let d;
  try {
    await until(() => mock.produced().total === 100, 30000, 'the mock produced 100');
    const ws = kafkaWorkspace('kafka-loss', mock.bootstrap(),
      '  starting_offsets: \'{"events":{"0":5000}}\'\n');
    d = startDaemon(['-c', ws.config, '--trigger', 'available_now']);
    const r = await Promise.race([d.exited, new Promise((res) => setTimeout(() => res(null), 60000))]);
    assert.ok(r, 'the daemon stopped by itself');
    assert.notEqual(r.code, 0, d.logs());
    assert.match(d.logs(), /topic=events partition=0 offset=5000 is outside the log \[0, 50\)/);
    // the supervisor names the worker that stopped the pipeline (it said index=-1)
    assert.match(d.logs(), /worker role=ingest index=0 reports a fatal error: source\.starting_offsets/);
    assert.equal(rowsOf(ws.config, 'raw_events'), -1);
    fs.rmSync(ws.dir, { recursive: true, force: true });
  } finally {
    if (d) d.child.kill('SIGKILL');
    mock.child.kill('SIGKILL');
  }
});

test('Kafka: a topic created at run time (subscribe_pattern) is picked up; a broker outage pauses and resumes; exactly once', async () => {
  const reportDir = tmpDir('kafka-rep');
  const report = path.join(reportDir, 'delivered.jsonl');
  const mock = startMock(['--topic', 'events', '--partitions', '2', '--messages', '1000', '--report', report]);
  let d;
  try {
    await until(() => mock.produced().total === 1000, 30000, 'the mock produced 1000');
    const ws = kafkaWorkspace('kafka-pattern', mock.bootstrap(), '', '  subscribe_pattern: "^events(-.*)?$"\n');
    d = startDaemon(['-c', ws.config]);
    await until(() => rowsOf(ws.config, 'raw_events') === 1000, 30000, 'the first 1000 committed');
    mock.send('topic events-late 3');
    mock.send('produce 600 events-late');
    mock.send('topic other 1'); // does not match the pattern
    mock.send('produce 50 other');
    await until(() => mock.produced().total === 1650, 30000, 'the mock produced 1650');
    await until(() => rowsOf(ws.config, 'raw_events') === 1600, 30000, 'events-late committed');
    // the broker goes away for 3 s; messages produced after it is back arrive exactly once
    mock.send('down');
    await until(() => /BROKER DOWN 0/.test(mock.out()), 5000, 'broker down');
    await new Promise((r) => setTimeout(r, 3000));
    mock.send('up');
    mock.send('produce 500');
    await until(() => mock.produced().total === 2150, 30000, 'the mock produced 2150');
    await until(() => rowsOf(ws.config, 'raw_events') === 2100, 60000, 'raw_events has 2100 rows');
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0, d.logs());
    assert.match(d.logs(), /Kafka subscription has 5 partition\(s\) \(was 2\)/);
    assert.match(d.logs(), /Kafka topic=events-late partition=2 starts at offset=0/);

    const delivered = readReport(report)
      .filter((m) => m.topic !== 'other');
    assert.equal(delivered.length, 2100);
    const expect = new Map(delivered.map((m) => [`${m.topic}:${m.partition}:${m.offset}`, m]));
    for (const table of ['raw_events', 'processed_events']) {
      const rows = await tableRows(path.join(ws.tables, table), 'topic, "partition" AS p, "offset" AS o, event_id');
      assert.equal(rows.length, 2100, table);
      const keys = new Set(rows.map((r) => `${r.topic}:${r.p}:${r.o}`));
      assert.equal(keys.size, 2100, `${table}: distinct (topic, partition, offset)`);
      for (const r of rows) {
        const m = expect.get(`${r.topic}:${r.p}:${r.o}`);
        assert.ok(m, `${table}: unexpected ${r.topic}:${r.p}:${r.o}`);
        assert.equal(r.event_id, JSON.parse(m.value).event_id);
      }
    }
    fs.rmSync(ws.dir, { recursive: true, force: true });
  } finally {
    if (d) d.child.kill('SIGKILL');
    mock.child.kill('SIGKILL');
  }
  fs.rmSync(reportDir, { recursive: true, force: true });
});

test('Kafka: retention moves the log start past unread offsets: fail_on_data_loss stops naming them; false continues at the log start', async () => {
  // the mock cluster keeps a bounded log per partition: producing far more evicts the oldest messages
  const mock = startMock(['--topic', 'events', '--partitions', '2', '--messages', '1000']);
  let d;
  try {
    await until(() => mock.produced().total === 1000, 30000, 'the mock produced 1000');
    const ws = kafkaWorkspace('kafka-retention', mock.bootstrap());
    d = startDaemon(['-c', ws.config, '--trigger', 'available_now']);
    assert.equal((await d.exited).code, 0, d.logs());
    mock.send('produce 400000');
    await until(() => mock.produced().total === 401000, 120000, 'the mock produced 401000');
    d = startDaemon(['-c', ws.config, '--trigger', 'available_now']);
    const r = await Promise.race([d.exited, new Promise((res) => setTimeout(() => res(null), 60000))]);
    assert.ok(r, 'the daemon stopped by itself');
    assert.notEqual(r.code, 0, d.logs());
    const m = d.logs().match(/data loss: topic=events partition=0 offsets \[500, (\d+)\) were deleted before they were read \(fail_on_data_loss: true\)/);
    assert.ok(m, d.logs());
    const low0 = Number(m[1]);
    assert.ok(low0 > 500);
    fs.appendFileSync(ws.config, '  fail_on_data_loss: false\n');
    d = startDaemon(['-c', ws.config, '--trigger', 'available_now']);
    assert.equal((await d.exited).code, 0, d.logs());
    assert.match(d.logs(), new RegExp(`topic=events partition=0 offsets \\[500, ${low0}\\) were deleted before they were read; continuing at ${low0}`));
    const rows = await tableRows(path.join(ws.tables, 'raw_events'), '"partition" AS p, "offset" AS o');
    const keys = new Set(rows.map((x) => `${x.p}:${x.o}`));
    assert.equal(keys.size, rows.length, 'no (partition, offset) twice');
    assert.ok(keys.has('0:499') && !keys.has('0:500') && keys.has(`0:${low0}`) && keys.has('0:200499'));
    fs.rmSync(ws.dir, { recursive: true, force: true });
  } finally {
    if (d) d.child.kill('SIGKILL');
    mock.child.kill('SIGKILL');
  }
});

test('Kafka: fsck --repair rebuilds a lost state.db with each partition resuming after its highest offset in raw_events; exactly once', async () => {
  const reportDir = tmpDir('kafka-rep');
  const report = path.join(reportDir, 'delivered.jsonl');
  const mock = startMock(['--topic', 'events', '--partitions', '3', '--messages', '900',
    '--corrupt-every', '50', '--report', report]);
  let d;
  try {
    await until(() => mock.produced().total === 900, 30000, 'the mock produced 900');
    const ws = kafkaWorkspace('kafka-fsck', mock.bootstrap());
    d = startDaemon(['-c', ws.config, '--trigger', 'available_now']);
    assert.equal((await d.exited).code, 0, d.logs());
    // state.db is lost
    const db = path.join(ws.dir, 'checkpoints', 'state.db');
    for (const sfx of ['', '-wal', '-shm']) fs.rmSync(db + sfx, { force: true });
    let r = runCli(['fsck', '-c', ws.config]);
    assert.equal(r.code, 1, r.stdout);
    r = runCli(['fsck', '-c', ws.config, '--repair']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (let p = 0; p < 3; p++)
      assert.match(r.stdout, new RegExp(`REPAIRED +Kafka kafka://events/${p} resumes at offset 300 \\(raw_events has offsets 0\\.\\.299\\)`));
    assert.match(r.stdout, /state\.db rebuilt from the tables: .* 3 Kafka partition\(s\) resume after the highest offset/);
    mock.send('produce 300');
    await until(() => mock.produced().total === 1200, 30000, 'the mock produced 1200');
    d = startDaemon(['-c', ws.config, '--trigger', 'available_now']);
    assert.equal((await d.exited).code, 0, d.logs());
    assert.doesNotMatch(d.logs(), /starts at offset/); // every partition resumed from state.db
    const delivered = readReport(report);
    assert.equal(delivered.length, 1200);
    for (const table of ['raw_events', 'processed_events']) {
      const rows = await tableRows(path.join(ws.tables, table), '"partition" AS p, "offset" AS o');
      const keys = new Set(rows.map((x) => `${x.p}:${x.o}`));
      assert.equal(keys.size, rows.length, `${table}: no (partition, offset) twice`);
      const want = table === 'raw_events' ? 1200 : 1200 - 24;
      assert.equal(rows.length, want, table);
      for (const m of delivered)
        if (table === 'raw_events') assert.ok(keys.has(`${m.partition}:${m.offset}`), `${m.partition}:${m.offset}`);
    }
    r = runCli(['fsck', '-c', ws.config]);
    assert.equal(r.code, 0, r.stdout);
    fs.rmSync(ws.dir, { recursive: true, force: true });
  } finally {
    if (d) d.child.kill('SIGKILL');
    mock.child.kill('SIGKILL');
  }
  fs.rmSync(reportDir, { recursive: true, force: true });
});
