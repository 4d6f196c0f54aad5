// lakesupd as a system service (issue 15, part 3): the notify protocol as systemd speaks it (a
// datagram socket of the test's own, read with socat), journald's priorities, log_format: json,
// and what `cmake --install` and `cpack -G DEB` put in place (the unit verified by systemd-analyze,
// the man page covering every sub-command, key and exit code).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { countInput, gen, LAKESUPD, rowsOf, run, startDaemon, tmpDir, until, waitAllRunning, workspace } from './lib/daemon.mjs';

const BUILD = path.dirname(LAKESUPD);
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

test('under systemd: READY=1 once every worker is ready, STATUS= with rates and backlog, WATCHDOG=1 from the loop, STOPPING=1', { skip: has('socat') ? false : 'socat is not installed (deploy/install-deps.sh --test)' }, async () => {
  const ws = workspace('notify', { transform: 2, writer: 1 });
  const sock = path.join(ws.dir, 'notify.sock');
  // socat prints each datagram it receives (sd_notify sends them without a newline)
  const listener = spawn('socat', ['-u', `UNIX-RECV:${sock}`, 'STDOUT'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let got = '';
  listener.stdout.on('data', (d) => (got += d));
  await until(() => fs.existsSync(sock), 10000, 'the notify socket');
  const d = startDaemon(['-c', ws.config], { NOTIFY_SOCKET: sock, WATCHDOG_USEC: '2000000' });
  try {
    await until(() => /READY=1/.test(got), 30000, 'READY=1');
    // READY comes once every worker is up: status shows all of them running by then
    const st = await waitAllRunning(ws.config);
    assert.ok(st.workers.every((w) => w.state === 'running'));
    assert.ok(got.indexOf('READY=1') >= 0);
    gen(['--out', ws.input, '--files', '4', '--rows', '5000', '--seed', '820']);
    const events = countInput(ws.input).events;
    await until(() => rowsOf(ws.config, 'processed_events') === events, 60000, `${events} rows`);
    // a STATUS line with the committed rate, the batches in flight and the last batch
    await until(() => /STATUS=running: \d+ workers, [1-9]\d* rows\/s, \d+ batch\(es\) in flight, last batch \d+/.test(got),
      30000, `a STATUS line with a rate: ${got.slice(-1500)}`);
    // the watchdog is fed every half interval (1 s here): several keep-alives in a few seconds
    const n0 = (got.match(/WATCHDOG=1/g) || []).length;
    await until(() => (got.match(/WATCHDOG=1/g) || []).length >= n0 + 3, 20000, 'three more WATCHDOG=1');
    d.child.kill('SIGTERM');
    assert.equal((await d.exited).code, 0);
    assert.match(got, /STOPPING=1/);
  } finally {
    d.child.kill('SIGKILL');
    listener.kill('SIGKILL');
  }
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('log_format: json: every line of the supervisor and of each worker is one JSON object; under journald each line starts with its priority', async () => {
  const ws = workspace('logjson', { transform: 1, writer: 1, extra: 'log_format: json\n' });
  // stderr to a file that JOURNAL_STREAM names, as systemd does for a journal stream
  const errFile = path.join(ws.dir, 'stderr.log');
  const fd = fs.openSync(errFile, 'w');
  const st = fs.fstatSync(fd);
  const child = spawn(LAKESUPD, ['start', '-c', ws.config, '--trigger', 'available-now'], {
    env: { ...process.env, JOURNAL_STREAM: `${st.dev}:${st.ino}` },
    stdio: ['ignore', 'ignore', fd],
  });
  gen(['--out', ws.input, '--files', '1', '--rows', '500', '--seed', '821']);
  const code = await new Promise((resolve) => child.on('close', resolve));
  fs.closeSync(fd);
  const lines = fs.readFileSync(errFile, 'utf8').split('\n').filter(Boolean);
  assert.equal(code, 0, lines.slice(-20).join('\n'));
  const roles = new Set();
  const prio = { DEBUG: 7, INFO: 6, WARN: 4, ERROR: 3 };
  for (const l of lines) {
    const m = l.match(/^<(\d)>(.*)$/);
    assert.ok(m, `no journald priority: ${l}`);
    const o = JSON.parse(m[2]);
    assert.equal(Number(m[1]), prio[o.level], l);
    for (const k of ['ts', 'level', 'role', 'index', 'pid', 'msg']) assert.ok(k in o, `${k} missing: ${l}`);
    roles.add(o.role);
  }
  for (const r of ['supervisor', 'ingest', 'transform', 'writer', 'committer', 'monitor'])
    assert.ok(roles.has(r), `no line of ${r} (${[...roles]})`);
  // without JOURNAL_STREAM (a terminal, a file): no prefix, text by default
  const plain = run(['start', '-c', ws.config, '--trigger', 'available-now'], { env: { LAKESUP_LOG_FORMAT: 'text' } });
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stderr, /^\d{4}-\d\d-\d\dT[\d:.]+Z INFO supervisor\[0\] \d+: /m);
  fs.rmSync(ws.dir, { recursive: true, force: true });
});

test('cmake --install: the binary, the unit (systemd-analyze verify clean, a low exposure score), /etc/lakesupd/lakesup.yml, lakesupd(1) covering every sub-command, key and exit code', { skip: has('systemd-analyze') ? false : 'systemd-analyze is not installed (deploy/install-deps.sh --test)' }, () => {
  const dest = tmpDir('install');
  let r = spawnSync('cmake', ['--install', BUILD, '--prefix', '/usr'], { env: { ...process.env, DESTDIR: dest }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  for (const f of ['usr/bin/lakesupd', 'usr/lib/systemd/system/lakesupd.service', 'etc/lakesupd/lakesup.yml', 'usr/share/man/man1/lakesupd.1'])
    assert.ok(fs.existsSync(path.join(dest, f)), `${f} not installed`);
  const unit = fs.readFileSync(path.join(dest, 'usr/lib/systemd/system/lakesupd.service'), 'utf8');
  assert.match(unit, /^Type=notify$/m);
  assert.match(unit, /^ExecStart=\/usr\/bin\/lakesupd start -c \/etc\/lakesupd\/lakesup.yml$/m);
  for (const k of ['Restart=on-failure', 'RestartPreventExitStatus=100', 'WatchdogSec=', 'DynamicUser=yes', 'StateDirectory=lakesupd',
    'ProtectSystem=strict', 'ReadWritePaths=', 'NoNewPrivileges=yes'])
    assert.ok(unit.includes(k), `the unit lacks ${k}`);
  // the installed configuration is valid as it is
  r = run(['config', 'show', '-c', path.join(dest, 'etc/lakesupd/lakesup.yml')]);
  assert.equal(r.code, 0, r.stderr);
  // systemd-analyze verify: the unit as installed, its ExecStart pointing at the installed binary
  // here (DESTDIR) and man:lakesupd(1) found through MANPATH
  const check = path.join(dest, 'check', 'lakesupd.service');
  fs.mkdirSync(path.dirname(check));
  fs.writeFileSync(check, unit.replaceAll('/usr/bin/lakesupd', path.join(dest, 'usr/bin/lakesupd')));
  r = spawnSync('systemd-analyze', ['verify', check], { env: { ...process.env, MANPATH: path.join(dest, 'usr/share/man') }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal((r.stdout + r.stderr).trim(), '', 'systemd-analyze verify says something');
  r = spawnSync('systemd-analyze', ['security', '--offline=true', check], { encoding: 'utf8' });
  const score = Number((r.stdout.match(/Overall exposure level for lakesupd.service: ([\d.]+)/) || [])[1]);
  assert.ok(score <= 2.0, `exposure ${score}: ${r.stdout.slice(-2000)}`);
  // the man page: every sub-command of the usage text, every key of `config show`, every exit code
  const man = spawnSync('man', ['-l', path.join(dest, 'usr/share/man/man1/lakesupd.1')], { env: { ...process.env, MANWIDTH: '200', MAN_KEEP_FORMATTING: '' }, encoding: 'utf8' });
  assert.equal(man.status, 0, man.stderr);
  const text = man.stdout.replace(/‐\n\s*/g, '').replace(/\s+/g, ' ');
  const usage = run(['help']).stdout;
  for (const [, cmd] of usage.matchAll(/^ {2}lakesupd ([a-z]+(?: (?:show|history|list|describe|read|optimize|vacuum))?)/gm))
    assert.ok(text.includes(cmd), `lakesupd(1) lacks the command "${cmd}"`);
  const keys = [];
  const stack = [];
  for (const line of run(['config', 'show']).stdout.split('\n')) {
    const m = line.match(/^( *)([a-z_]+):/);
    if (!m) continue;
    const depth = m[1].length / 2;
    stack.length = depth;
    stack.push(m[2]);
    keys.push(stack.join('.'));
  }
  assert.ok(keys.length > 60, `${keys.length} keys`);
  for (const k of keys) {
    if (/^tables\.(raw_events|processed_events)$/.test(k)) continue; // sections: their partition_by is named
    if (['workers.remote', 'source.shard', 'monitor', 'tables', 'tables.compaction', 'source', 'workers'].includes(k)) continue; // sections
    assert.ok(text.includes(k), `lakesupd(1) lacks the key ${k}`);
  }
  for (const code of ['0', '1', '2', '100', '111']) assert.match(text, new RegExp(`EXIT STATUS.* ${code} `), `exit code ${code}`);
  fs.rmSync(dest, { recursive: true, force: true });
});

test('cpack -G DEB: a .deb with the binary, the unit, the example configuration, the man page and its dependencies; its scripts make /etc/lakesupd/lakesup.yml, keep an edited one on remove, purge it', { skip: has('dpkg-deb') ? false : 'dpkg-deb is not installed' }, () => {
  const out = tmpDir('deb');
  const r = spawnSync('cpack', ['-G', 'DEB', '-B', out, '--config', path.join(BUILD, 'CPackConfig.cmake')], { cwd: BUILD, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const deb = fs.readdirSync(out).find((f) => /^lakesupd_.*\.deb$/.test(f));
  assert.ok(deb, fs.readdirSync(out).join(' '));
  const info = spawnSync('dpkg-deb', ['-I', path.join(out, deb)], { encoding: 'utf8' }).stdout;
  for (const dep of ['libzmq5', 'libczmq4', 'libsqlite3-0', 'libsystemd0', 'libmicrohttpd12', 'libyaml-0-2', 'libzstd1'])
    assert.match(info, new RegExp(`Depends:.*\\b${dep}\\b`), `Depends lacks ${dep}:\n${info}`);
  assert.match(info, /Recommends: librdkafka1/);
  const files = spawnSync('dpkg-deb', ['-c', path.join(out, deb)], { encoding: 'utf8' }).stdout;
  for (const f of ['./usr/bin/lakesupd', './usr/lib/systemd/system/lakesupd.service', './usr/share/lakesupd/lakesup.yml', './usr/share/man/man1/lakesupd.1'])
    assert.ok(files.includes(f), `${f} not in the package`);
  // /etc is the scripts': no file of the package there (apt remove would keep a conffile)
  assert.ok(!/\.\/etc\/\S+[^/]\n/.test(files), `a file under /etc in the package:\n${files}`);
  // the maintainer scripts, run against a root of the test's own (their paths rewritten into it;
  // no systemd there: /run/systemd/system is absent)
  const root = tmpDir('deb-root');
  const ctl = path.join(root, 'DEBIAN');
  assert.equal(spawnSync('dpkg-deb', ['-R', path.join(out, deb), root]).status, 0);
  const script = (name, ...args) => {
    const text = fs.readFileSync(path.join(ctl, name), 'utf8').replaceAll('/etc/', `${root}/etc/`)
      .replaceAll('/usr/share/', `${root}/usr/share/`).replaceAll('/run/', `${root}/run/`);
    const x = spawnSync('sh', ['-c', text, name, ...args], { encoding: 'utf8' });
    assert.equal(x.status, 0, `${name} ${args}: ${x.stderr}`);
  };
  const conf = path.join(root, 'etc/lakesupd/lakesup.yml');
  script('postinst', 'configure');
  assert.equal(fs.readFileSync(conf, 'utf8'), fs.readFileSync(path.join(root, 'usr/share/lakesupd/lakesup.yml'), 'utf8'));
  script('prerm', 'remove'); // unchanged: it goes
  assert.ok(!fs.existsSync(path.join(root, 'etc/lakesupd')), 'an unchanged configuration left behind');
  script('postinst', 'configure');
  fs.appendFileSync(conf, 'log_level: debug\n');
  script('postinst', 'configure'); // an upgrade keeps the edit
  assert.match(fs.readFileSync(conf, 'utf8'), /log_level: debug\n$/);
  script('prerm', 'remove'); // edited: the user's, kept
  assert.ok(fs.existsSync(conf));
  script('postrm', 'purge');
  assert.ok(!fs.existsSync(path.join(root, 'etc/lakesupd')), 'purge left the configuration');
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(out, { recursive: true, force: true });
});
