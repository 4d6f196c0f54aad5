// The monitoring job (issue 14) with the real components an operator runs: the monitor's HTTP
// endpoint checked by promtool on every scrape, a real Prometheus scraping it with the rules file
// loaded, a real Alertmanager and a local webhook receiver getting the daemon's alerts (with
// retries while the receiver is down), /healthz following a stopped worker, and the dashboard in
// headless Chromium, whose numbers must equal /status's. Every server listens on 127.0.0.1 on a
// free port and is stopped in `finally`.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  LAKESUPD, ROOT, countInput, gen, rowsOf, run, sleep, startDaemon, status, until, waitAllRunning, waitLog,
  workspace, runningWorker,
} from './lib/daemon.mjs';
import {
  get, getJson, monitorUrl, parseMetrics, promtoolCheck, scrape, startAlertmanager, startPrometheus,
  startReceiver,
} from './lib/monitoring.mjs';
import { requireCommand } from './lib/tools.mjs';

const RULES = path.join(ROOT, 'deploy', 'prometheus', 'lakesupd-rules.yml');

/** Files of lk_gen renamed into the input (each complete at once); returns the rows written. */
function drop(ws, tag, { files = 1, rows = 500, corruptEvery = 0, seed = 1, startId = seed * 1000000 } = {}) {
  const staging = path.join(ws.dir, `staging-${tag}`);
  const args = ['--out', staging, '--files', String(files), '--rows', String(rows), '--seed', String(seed),
    '--start-id', String(startId), '--prefix', `ev-${tag}`];
  if (corruptEvery) args.push('--corrupt-every', String(corruptEvery));
  gen(args);
  for (const f of fs.readdirSync(staging)) fs.renameSync(path.join(staging, f), path.join(ws.input, f));
  fs.rmSync(staging, { recursive: true, force: true });
}

/** Waits until raw_events has every line of the input committed; returns that count. */
async function allCommitted(ws, timeoutMs = 60000) {
  const { events, corrupt } = countInput(ws.input);
  await until(() => rowsOf(ws.config, 'raw_events') === events + corrupt, timeoutMs,
    `raw_events with ${events + corrupt} rows`);
  return events + corrupt;
}

const REQUIRED = ['lakesup_rows_total', 'lakesup_batches_committed_total', 'lakesup_batch_duration_seconds',
  'lakesup_backlog_files', 'lakesup_backlog_bytes', 'lakesup_backlog_seconds', 'lakesup_worker_restarts_total',
  'lakesup_worker_up', 'lakesup_watermark_seconds', 'lakesup_late_rows_total', 'lakesup_corrupt_records_total',
  'lakesup_rescued_records_total', 'lakesup_end_to_end_latency_seconds', 'lakesup_table_version',
  'lakesup_schema_changes_total', 'lakesup_build_info'];

describe('monitoring', () => {
  test('promtool refuses broken exposition text (the check below can fail)', () => {
    const bad = promtoolCheck('# TYPE x counter\nx{a="b" 1\n');
    assert.notEqual(bad.code, 0, bad.out);
    const good = promtoolCheck('# HELP x_total a counter\n# TYPE x_total counter\nx_total 1\n');
    assert.equal(good.code, 0, good.out);
  });

  test('progress names a checkpoint that has no state.db; status --watch and --json are refused together', () => {
    const ws = workspace('mon-cli');
    const r = run(['progress', '-c', ws.config]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no state\.db at .*checkpoints\/state\.db: the pipeline has not run there/);
    assert.ok(!fs.existsSync(path.join(ws.dir, 'checkpoints')), 'progress created nothing');
    const u = run(['status', '-c', ws.config, '--watch', '--json']);
    assert.equal(u.code, 2);
    assert.equal(run(['progress', '--last', '0']).code, 2);
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });

  test('/metrics counts the committed rows exactly and a restart; /status, /progress, /, a real Prometheus', async () => {
    // a `down` rule must not fire for a start or a restart of a few ms (it did for both), and a
    // webhook's answer must not reach the daemon's output (libcurl wrote it to stdout)
    const hook = await startReceiver({});
    const ws = workspace('mon-metrics', { extra: 'monitor:\n  http: "127.0.0.1:0"\n' +
      'alerts:\n  - name: down\n    when: "workers_down > 0"\n  - name: always\n    when: "workers_down >= 0"\n' +
      `notify:\n  - webhook: "${hook.url}"\n  - log: true\n` });
    const d = startDaemon(['-c', ws.config]);
    let prom = null;
    try {
      const base = await monitorUrl(d);
      await waitAllRunning(ws.config);
      drop(ws, 'a', { files: 3, rows: 2000, corruptEvery: 50, seed: 1 });
      const rows = await allCommitted(ws);
      const s = status(ws.config);
      // the row counters follow the committer's heartbeat; the histograms, the batch's progress
      // record (written a moment after the commit report, when every role's share is in)
      const { text, samples } = await until(async () => {
        const x = await scrape(base);
        return x.samples.get('lakesup_rows_total{table="raw_events"}') === rows &&
          x.samples.get('lakesup_end_to_end_latency_seconds_count') >= 3 ? x : null;
      }, 20000, 'lakesup_rows_total to reach the committed rows');
      for (const name of REQUIRED)
        assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), `${name} missing:\n${text}`);
      const processed = s.tables.find((t) => t.name === 'processed_events').rows;
      assert.equal(samples.get('lakesup_rows_total{table="processed_events"}'), processed);
      assert.equal(samples.get('lakesup_table_version{table="raw_events"}'),
        s.tables.find((t) => t.name === 'raw_events').version);
      assert.equal(samples.get('lakesup_corrupt_records_total'), countInput(ws.input).corrupt);
      assert.ok(samples.get('lakesup_batches_committed_total') >= 1);
      assert.ok(samples.get('lakesup_end_to_end_latency_seconds_count') >= 3, text);
      assert.ok(samples.get('lakesup_watermark_seconds') > 1.7e9, 'the watermark is the latest event time');
      assert.equal(samples.get('lakesup_worker_up{role="committer",index="0"}'), 1);
      assert.equal(samples.get('lakesup_worker_restarts_total{role="transform"}'), 0);
      assert.equal(samples.get('lakesup_build_info{version="0.1.0",pipeline="e2e_mon-metrics"}'), 1);

      // /status is `status --json`; /progress the records `lakesupd progress --json` prints
      const st = await getJson(`${base}/status`);
      assert.ok(Array.isArray(st.workers) && st.workers.length === 7, JSON.stringify(st));
      assert.deepEqual(Object.keys(st).sort(), Object.keys(s).sort());
      assert.deepEqual(st.tables, s.tables);
      assert.equal(st.monitor.http, base.replace('http://', ''));
      const recs = await until(async () => {
        const r = await getJson(`${base}/progress?last=100`);
        return r.reduce((n, x) => n + x.numInputRows, 0) === rows ? r : null;
      }, 10000, 'progress records of every committed row');
      for (const r of recs) {
        for (const k of ['id', 'batchId', 'timestamp', 'numInputRows', 'inputRowsPerSecond', 'processedRowsPerSecond',
          'durationMs', 'eventTime', 'sources', 'sink', 'numCorruptRows', 'numRescuedRows', 'backlog'])
          assert.ok(k in r, `${k} in ${JSON.stringify(r)}`);
        for (const k of ['plan', 'read', 'parse', 'write', 'commit', 'total']) assert.equal(typeof r.durationMs[k], 'number');
        assert.ok(r.durationMs.total >= r.durationMs.commit);
      }
      const cli = run(['progress', '-c', ws.config, '--json', '--last', '100']);
      assert.equal(cli.code, 0, cli.stderr);
      assert.deepEqual(JSON.parse(cli.stdout), recs);
      const table = run(['progress', '-c', ws.config, '--last', '2']);
      assert.match(table.stdout, /BATCH\s+STARTED\s+ROWS/);

      // the dashboard page, and nothing can change the pipeline
      const page = await get(`${base}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers['content-type'], /text\/html/);
      assert.match(page.text, /<canvas id="chart-rates">/);
      assert.doesNotMatch(page.text, /<script[^>]+src=|https?:\/\/(?!127)/, 'no external resource');
      for (const method of ['POST', 'PUT', 'DELETE'])
        assert.equal((await get(`${base}/status`, { method })).status, 405);
      assert.equal((await get(`${base}/nothing`)).status, 404);
      assert.equal((await get(`${base}/healthz`)).status, 200);
      assert.equal((await get(`${base}/readyz`)).status, 200);

      // a real Prometheus scrapes it, with the rules file loaded
      prom = await startPrometheus(ws.dir, { targets: [base.replace('http://', '')], rules: RULES });
      const q = encodeURIComponent('lakesup_rows_total{table="raw_events"}');
      await until(async () => {
        const r = await getJson(`${prom.url}/api/v1/query?query=${q}`);
        return r.data.result.length === 1 && Number(r.data.result[0].value[1]) === rows;
      }, 30000, `Prometheus's lakesup_rows_total = ${rows}`);
      const rules = await getJson(`${prom.url}/api/v1/rules`);
      const loaded = rules.data.groups.flatMap((g) => g.rules);
      assert.ok(loaded.length >= 6, JSON.stringify(rules));
      assert.ok(loaded.every((r) => r.health !== 'err'), JSON.stringify(loaded));
      const tg = await getJson(`${prom.url}/api/v1/targets`);
      assert.equal(tg.data.activeTargets[0].health, 'up', JSON.stringify(tg));

      // a worker killed is a restart counted
      const t = await runningWorker(ws.config, 'transform', 0);
      process.kill(t.pid, 'SIGKILL');
      await until(async () => (await scrape(base)).samples.get('lakesup_worker_restarts_total{role="transform"}') === 1,
        20000, 'the transform restart counted');
      await waitAllRunning(ws.config);
      drop(ws, 'b', { files: 1, rows: 300, seed: 2 });
      const after = await allCommitted(ws);
      await until(async () => (await scrape(base)).samples.get('lakesup_rows_total{table="raw_events"}') === after,
        20000, 'rows counted after the restart');
      await until(() => hook.posts.some((p) => p.ok), 20000, 'the always-firing notice delivered');
    } finally {
      if (prom) await prom.stop();
      d.child.kill('SIGTERM');
      await d.exited;
      await hook.close();
    }
    // after the exit: a body libcurl had written to the monitor's stdout came out at its exit
    assert.doesNotMatch(d.logs(), /alert firing: down/, 'no worker was down');
    assert.doesNotMatch(d.logs(), /^ok$|ok20\d\d-/m, "the webhook's answer stays out of the log");
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });

  test('a backlog alert reaches a real Alertmanager and a webhook (retried while it is down), and resolves', async () => {
    const ws = workspace('mon-alerts');
    const am = await startAlertmanager(ws.dir);
    const hook = await startReceiver({ failFirst: 2 });
    const execOut = path.join(ws.dir, 'exec-notices');
    const script = path.join(ws.dir, 'page-oncall');
    fs.writeFileSync(script, `#!/bin/sh\n{ cat; echo; } >> '${execOut}'\n`, { mode: 0o755 });
    fs.appendFileSync(ws.config, [
      'worker_timeout: 120s',
      'monitor:\n  http: "127.0.0.1:0"\n  batch_deadline: 3s',
      'alerts:',
      '  - name: backlog',
      '    when: "backlog_seconds > 2"',
      '    for: 1s',
      '    severity: warning',
      '    summary: "input waits"',
      'notify:',
      `  - webhook: "${am.url}/api/v2/alerts"`,
      `  - webhook: "${hook.url}"`,
      `  - exec: "${script}"`,
      '  - log: true',
      '',
    ].join('\n'));
    const d = startDaemon(['-c', ws.config]);
    let committer = null;
    try {
      const base = await monitorUrl(d);
      await waitAllRunning(ws.config);
      committer = (await runningWorker(ws.config, 'committer', 0)).pid;
      process.kill(committer, 'SIGSTOP');
      drop(ws, 'a', { files: 2, rows: 200, seed: 3 });
      // firing: Alertmanager has it active, the receiver got it after two 503s, status shows it
      await until(async () => {
        const a = await getJson(`${am.url}/api/v2/alerts`);
        return a.find((x) => x.labels.alertname === 'backlog' && x.status.state === 'active');
      }, 30000, 'Alertmanager to hold the backlog alert');
      await until(() => hook.posts.filter((p) => p.ok).length >= 1, 30000, 'the webhook delivered');
      assert.equal(hook.posts[0].ok, false);
      assert.equal(hook.posts[1].ok, false);
      assert.ok(hook.posts[2].at - hook.posts[1].at >= 1500, 'retried with a growing delay');
      await waitLog(d, /notify webhook \S+hook: alert=backlog firing not delivered \(attempt 2\): HTTP 503/);
      await waitLog(d, /alert=backlog firing delivered after 2 failed attempt\(s\)/);
      const [firing] = hook.posts[2].body;
      assert.equal(hook.posts[2].type, 'application/json');
      assert.equal(firing.labels.alertname, 'backlog');
      assert.equal(firing.labels.severity, 'warning');
      assert.equal(firing.labels.pipeline, 'e2e_mon-alerts');
      assert.equal(firing.annotations.summary, 'input waits');
      assert.ok(Date.parse(firing.startsAt) > 0 && !firing.endsAt, JSON.stringify(firing));
      assert.match(firing.generatorURL, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const st = await getJson(`${base}/status`);
      assert.ok(st.monitor.alerts.some((a) => a.name === 'backlog' && a.state === 'firing'), JSON.stringify(st.monitor));
      assert.match(run(['status', '-c', ws.config]).stdout, /ALERT firing backlog \(warning\): input waits/);
      await waitLog(d, /WARN monitor\[0\] \d+: alert firing: backlog severity=warning/);
      // status --json: the monitor's last error is the firing line (the webhook's failed
      // attempts stopped counting once it delivered)
      const monitorError = () => status(ws.config)?.workers.find((w) => w.role === 'monitor')?.progress?.last_error;
      await until(() => /^alert firing: backlog /.test(monitorError() || ''), 20000,
        () => `the monitor's last_error to be the firing line (last: ${monitorError()})`);
      // the batch the stopped committer holds misses monitor.batch_deadline: /healthz says so
      const late = await until(async () => {
        const r = await get(`${base}/healthz`);
        return r.status === 503 ? r : null;
      }, 20000, '/healthz 503 past the batch deadline');
      assert.match(late.text, /the oldest uncommitted batch was planned \d+ s ago \(monitor.batch_deadline 3 s\)/);
      // resolved once the committer goes on
      process.kill(committer, 'SIGCONT');
      committer = null;
      await until(() => hook.posts.some((p) => p.ok && p.body[0].endsAt), 30000, 'the resolved notice');
      const resolved = hook.posts.find((p) => p.ok && p.body[0].endsAt).body[0];
      assert.equal(resolved.labels.alertname, 'backlog');
      assert.ok(Date.parse(resolved.endsAt) >= Date.parse(resolved.startsAt));
      await until(async () => !(await getJson(`${am.url}/api/v2/alerts`)).some(
        (x) => x.labels.alertname === 'backlog' && x.status.state === 'active'), 30000, 'Alertmanager to resolve it');
      // once per state change: one firing and one resolved delivered
      assert.equal(hook.posts.filter((p) => p.ok).length, 2, JSON.stringify(hook.posts));
      await until(() => fs.existsSync(execOut) && fs.readFileSync(execOut, 'utf8').trim().split('\n').length >= 2,
        20000, 'the exec receiver to get both notices');
      const notices = fs.readFileSync(execOut, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(notices.map((n) => n.status), ['firing', 'resolved']);
      await waitLog(d, /alert resolved: backlog/);
      // resolved: status no longer reports the alert, nor its notices' failures, as an error
      await until(() => monitorError() === '', 20000,
        () => `the monitor's last_error to be cleared after the alert resolved (last: ${monitorError()})`);
      assert.equal((await get(`${base}/healthz`)).status, 200);
    } finally {
      if (committer) process.kill(committer, 'SIGCONT');
      d.child.kill('SIGTERM');
      await d.exited;
      await am.stop();
      await hook.close();
    }
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });

  test('/healthz is 503 while a worker is stopped past worker_timeout and 200 after its restart', async () => {
    const ws = workspace('mon-health', {
      extra: 'worker_timeout: 4s\nmonitor:\n  http: "127.0.0.1:0"\n  auth_token: "s3cret-token"\n' });
    const auth = { headers: { authorization: 'Bearer s3cret-token' } };
    const d = startDaemon(['-c', ws.config]);
    let stopped = null;
    try {
      const base = await monitorUrl(d);
      await waitAllRunning(ws.config);
      // a token: every request sends it
      const denied = await get(`${base}/healthz`);
      assert.equal(denied.status, 401);
      assert.match(denied.headers['www-authenticate'], /^Bearer/);
      assert.equal((await get(`${base}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
      await until(async () => (await get(`${base}/healthz`, auth)).status === 200, 10000, '/healthz 200');
      // the terminal view (not a terminal here: one screen after another)
      const watch = spawnSync(LAKESUPD, ['status', '-c', ws.config, '--watch', '--interval', '0.3'],
        { encoding: 'utf8', timeout: 2500, killSignal: 'SIGINT' });
      assert.match(watch.stdout, /lakesupd status --watch {2}every 0\.3 s/);
      assert.ok(watch.stdout.split('lakesupd status --watch').length > 2, watch.stdout);
      assert.match(watch.stdout, /^rate +input [\d.]+ rows\/s {2}processed/m);
      assert.match(watch.stdout, /^backlog +0 files/m);
      assert.match(watch.stdout, /^latency +p50/m);
      assert.match(watch.stdout, /^writer +1 +\d+ running/m);
      assert.match(watch.stdout, /^last error: none$/m);
      const w = await runningWorker(ws.config, 'writer', 1);
      stopped = w.pid;
      process.kill(w.pid, 'SIGSTOP');
      const bad = await until(async () => {
        const r = await get(`${base}/healthz`, auth);
        return r.status === 503 ? r : null;
      }, 10000, '/healthz 503');
      assert.match(bad.text, /writer\[1\] \(pid \d+\) sent no heartbeat for/);
      await waitLog(d, /worker role=writer index=1 pid=\d+ sent no heartbeat for \d+ ms \(worker_timeout\): killing it/, 20000);
      stopped = null;
      await until(async () => (await get(`${base}/healthz`, auth)).status === 200, 20000, '/healthz 200 after the restart');
      const { samples } = await scrape(base, auth);
      assert.equal(samples.get('lakesup_worker_restarts_total{role="writer"}'), 1);
      assert.equal(samples.get('lakesup_worker_up{role="writer",index="1"}'), 1);
    } finally {
      if (stopped) process.kill(stopped, 'SIGCONT');
      d.child.kill('SIGTERM');
      await d.exited;
    }
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });

  test('the dashboard in headless Chromium updates itself and shows the numbers of /status', async () => {
    requireCommand('chromium');
    const { chromium } = await import('playwright-core');
    const ws = workspace('mon-dash', { extra: 'monitor:\n  http: "127.0.0.1:0"\n' });
    const d = startDaemon(['-c', ws.config]);
    let browser = null;
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-e2e-chromium-'));
    try {
      const base = await monitorUrl(d);
      await waitAllRunning(ws.config);
      // a fresh profile of its own (the persistent context's user data dir), nothing from outside
      browser = await chromium.launchPersistentContext(profile, {
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
          '--disable-component-update', '--disable-sync', '--no-first-run'],
        viewport: { width: 1400, height: 1000 },
        timeout: 60000,
      });
      const page = await browser.newPage();
      const external = [];
      page.on('request', (r) => { if (!r.url().startsWith(base)) external.push(r.url()); });
      await page.goto(`${base}/`, { waitUntil: 'load', timeout: 60000 });
      // data flows for a while: a file every 300 ms, so that the charts have points
      for (let i = 0; i < 40; i++) {
        drop(ws, `f${i}`, { files: 1, rows: 400, corruptEvery: 97, seed: 10 + i, startId: 1 + i * 400 });
        await sleep(300);
      }
      await allCommitted(ws);
      await until(async () => (await getJson(`${base}/series`)).points.length >= 3, 30000, 'three series points');
      // the page updated itself (several polls) and shows the last state
      const ticks = Number(await page.getAttribute('#updated', 'data-ticks'));
      await until(async () => Number(await page.getAttribute('#updated', 'data-ticks')) >= ticks + 2, 20000,
        'the page to poll again');
      const st = await getJson(`${base}/status`);
      await until(async () => {
        const shown = await page.$$eval('#tables tbody tr', (trs) => trs.map((tr) => ({
          name: tr.dataset.table, version: Number(tr.querySelector('.version').textContent),
          rows: Number(tr.querySelector('.rows').textContent.replace(/,/g, '')) })));
        return JSON.stringify(shown) === JSON.stringify(st.tables.map((t) => ({ name: t.name, version: t.version, rows: t.rows })));
      }, 20000, `the tables of /status on the page: ${JSON.stringify(st.tables)}`);
      const workers = await page.$$eval('#workers tbody tr', (trs) => trs.map((tr) => ({
        role: tr.dataset.role, index: Number(tr.dataset.index), pid: Number(tr.children[2].textContent),
        state: tr.querySelector('.state').textContent, restarts: Number(tr.querySelector('.restarts').textContent) })));
      assert.deepEqual(workers, st.workers.map((w) => ({ role: w.role, index: w.index, pid: w.pid, state: w.state,
        restarts: w.restarts })));
      assert.equal(await page.textContent('#kpi-batches'), st.monitor.batches.toLocaleString('en-US'));
      assert.equal(await page.textContent('#kpi-backlog-files'), '0');
      const batchRows = await page.$$eval('#batches tbody tr', (trs) => trs.length);
      assert.ok(batchRows >= 1);
      assert.equal(await page.textContent('#state'), 'running');
      assert.deepEqual(external, [], 'the page fetched nothing outside the endpoint');
      // kept after the run (README's picture is one of these): beside the binary under test, or
      // in LK_E2E_ARTIFACTS; not in TMPDIR, which a passing run leaves empty
      const shot = path.join(process.env.LK_E2E_ARTIFACTS || path.join(path.dirname(LAKESUPD), 'e2e-artifacts'),
        'dashboard.png');
      fs.mkdirSync(path.dirname(shot), { recursive: true });
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(fs.statSync(shot).size > 10000);
      console.log(`dashboard screenshot: ${shot}`);
    } finally {
      if (browser) await browser.close();
      fs.rmSync(profile, { recursive: true, force: true });
      d.child.kill('SIGTERM');
      await d.exited;
    }
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });
});
