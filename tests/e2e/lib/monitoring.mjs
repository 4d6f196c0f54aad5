// Helpers for the monitoring tests: the monitor's HTTP endpoint, promtool, and the real
// Prometheus, Alertmanager and webhook receivers the tests start on loopback (random free ports,
// bounded in time, stopped by the caller in `finally`).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { until, waitLog } from './daemon.mjs';
import { requireCommand } from './tools.mjs';

/** The monitor's base URL once it logged that it serves (monitor.http with port 0 in the tests). */
export async function monitorUrl(d, timeoutMs = 20000) {
  const m = await waitLog(d, /monitor\[0\] \d+: http: serving (http:\/\/[0-9.:]+)\//, timeoutMs);
  return m[1];
}

/** GET (or another method) of url: {status, text, headers}. Never throws on an HTTP status. */
export function get(url, { method = 'GET', headers = {}, timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, text, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export async function getJson(url) {
  const r = await get(url);
  assert.equal(r.status, 200, `${url}: ${r.status} ${r.text}`);
  return JSON.parse(r.text);
}

/** `promtool check metrics` on text: {code, out}. */
export function promtoolCheck(text) {
  requireCommand('promtool');
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30000 });
  return { code: r.status, out: (r.stdout || '') + (r.stderr || '') };
}

/** Fetches /metrics, asserts that promtool accepts it, returns {text, samples}. */
export async function scrape(base, opts = {}) {
  const r = await get(`${base}/metrics`, opts);
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const chk = promtoolCheck(r.text);
  assert.equal(chk.code, 0, `promtool check metrics:\n${chk.out}\n${r.text}`);
  return { text: r.text, samples: parseMetrics(r.text) };
}

/** Prometheus text → Map "name{labels}" (labels as written) → number. */
export function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

/** A free TCP port on 127.0.0.1 (bound, then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts a program in the background with its output kept; {child, logs(), stop()}. */
function background(cmd, args, { cwd } = {}) {
  requireCommand(cmd);
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.on('close', resolve));
  return {
    child,
    logs: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

/** A real Prometheus scraping targets every second, with rules loaded; {url, stop, logs}. */
export async function startPrometheus(dir, { targets, rules, bearer }) {
  const port = await freePort();
  const cfg = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(cfg, [
    'global: {scrape_interval: 1s, evaluation_interval: 1s}',
    `rule_files: [${JSON.stringify(rules)}]`,
    'scrape_configs:',
    '  - job_name: lakesupd',
    `    static_configs: [{targets: ${JSON.stringify(targets)}}]`,
    ...(bearer ? [`    authorization: {credentials: ${JSON.stringify(bearer)}}`] : []),
    '',
  ].join('\n'));
  const p = background('prometheus', [`--config.file=${cfg}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn']);
  const url = `http://127.0.0.1:${port}`;
  await until(async () => (await get(`${url}/-/ready`)).status === 200, 30000, `Prometheus ready at ${url}\n${p.logs()}`);
  return { url, stop: p.stop, logs: p.logs };
}

/** A real Alertmanager (no receiver of its own); {url, stop, logs}. */
export async function startAlertmanager(dir) {
  const port = await freePort(), cport = await freePort();
  const cfg = path.join(dir, 'alertmanager.yml');
  fs.writeFileSync(cfg, 'route: {receiver: none, group_wait: 1s, group_interval: 1s}\nreceivers: [{name: none}]\n');
  const p = background('prometheus-alertmanager', [`--config.file=${cfg}`, `--storage.path=${path.join(dir, 'am')}`,
    `--web.listen-address=127.0.0.1:${port}`, `--cluster.listen-address=`, `--cluster.advertise-address=127.0.0.1:${cport}`,
    '--log.level=warn']);
  const url = `http://127.0.0.1:${port}`;
  await until(async () => (await get(`${url}/-/ready`)).status === 200, 30000, `Alertmanager ready at ${url}\n${p.logs()}`);
  return { url, stop: p.stop, logs: p.logs };
}

/**
 * A webhook receiver on loopback that records every POST (its JSON body and when) and answers
 * 503 to the first `failFirst` of them (a receiver that is down). {url, posts, close()}.
 */
export async function startReceiver({ failFirst = 0 } = {}) {
  const posts = [];
  let seen = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen++;
      const ok = seen > failFirst;
      posts.push({ at: Date.now(), ok, method: req.method, type: req.headers['content-type'], body: JSON.parse(body || 'null') });
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'down for the test\n');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    posts,
    close: () => new Promise((r) => server.close(r)),
  };
}
