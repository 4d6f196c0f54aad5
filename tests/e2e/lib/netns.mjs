// Hosts for the multi-host tests: Linux network namespaces joined to this one by veth pairs (ip
// netns + ip link), made by the test and removed in its `finally`. Each host gets 10.<A>.<i>.2, this
// side of its link 10.<A>.<i>.1. A is claimed for the set of hosts (below), so that two test runs at
// once (tests/run.sh runs two builds' passes side by side) never route the same subnet. A service
// bound to this namespace's loopback (the Kafka mock) is forwarded into a host with socat: a listener
// on the host's own 127.0.0.1:PORT relays to this side's veth address, where another relays to
// 127.0.0.1:PORT here, so the address the service advertises is right in every host.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const TAG = `lk${process.pid % 100000}`;

/**
 * cmd args inside namespace ns: nsenter joins only its network namespace. (`ip netns exec` also
 * remounts / and /sys, which fails where / is not a mount point, as in a chroot.)
 */
function inNs(ns, cmd, args) {
  return ['nsenter', [`--net=/run/netns/${ns}`, '--', cmd, ...args]];
}

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error}`);
  return r.stdout;
}

/** Why namespaces cannot be made here (not root, no ip, no socat, a kernel without them), or null. */
export function netnsUnavailable() {
  if (process.getuid && process.getuid() !== 0) return 'network namespaces need root';
  for (const c of ['ip', 'socat', 'nsenter'])
    if (spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0) return `${c} is not installed (deploy/install-deps.sh --test)`;
  const probe = `${TAG}probe`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `cannot create a network namespace: ${r.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return null;
}

const CLAIMS = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; }
}

/**
 * Claims a second octet A for 10.A.0.0/16, machine-wide: a directory made atomically (mkdir fails
 * when another run holds it) with the claimer's pid inside; a claim whose process is gone is taken
 * over. A subnet some interface already uses (a run that was killed before its clean-up) is skipped.
 * Returns {a, release()}.
 */
function claimSubnet() {
  const inUse = spawnSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' }).stdout || '';
  for (let k = 0; k < 50; k++) {
    const a = 200 + ((process.pid + k) % 50);
    if (inUse.includes(` 10.${a}.`)) continue;
    const dir = path.join(CLAIMS, `lakesupd-e2e-net-10.${a}`);
    try {
      fs.mkdirSync(dir);
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      let owner = 0;
      try { owner = Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8')); } catch { /* being made */ }
      if (!owner || alive(owner)) continue;
      fs.rmSync(dir, { recursive: true, force: true }); // its process is gone: take it over
      try { fs.mkdirSync(dir); } catch { continue; }
    }
    fs.writeFileSync(path.join(dir, 'pid'), String(process.pid));
    return { a, release: () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  throw new Error('no free 10.A.0.0/16 subnet for the test hosts');
}

/** A set of hosts; remove() undoes everything it made (namespaces, veth pairs, relays, its subnet's claim). */
export function hosts() {
  const made = [];
  const relays = [];
  let net = null;
  return {
    /** Host i (1..): {name, ip, gw, exec(cmd, args, opts) → ChildProcess}. */
    add(i) {
      net ??= claimSubnet();
      const A = net.a;
      const ns = `${TAG}n${i}`, veth = `${TAG}h${i}`, peer = `${TAG}p${i}`;
      const gw = `10.${A}.${i}.1`, ip = `10.${A}.${i}.2`;
      sh('ip', ['netns', 'add', ns]);
      made.push({ ns, veth });
      sh('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', peer]);
      sh('ip', ['link', 'set', peer, 'netns', ns]);
      sh('ip', ['addr', 'add', `${gw}/24`, 'dev', veth]);
      sh('ip', ['link', 'set', veth, 'up']);
      sh(...inNs(ns, 'ip', ['addr', 'add', `${ip}/24`, 'dev', peer]));
      sh(...inNs(ns, 'ip', ['link', 'set', peer, 'up']));
      sh(...inNs(ns, 'ip', ['link', 'set', 'lo', 'up']));
      sh(...inNs(ns, 'ip', ['route', 'add', 'default', 'via', gw]));
      return {
        name: ns, ip, gw,
        exec: (cmd, args, opts = {}) => spawn(...inNs(ns, cmd, args), opts),
        run: (cmd, args) => spawnSync(...inNs(ns, cmd, args), { encoding: 'utf8' }),
      };
    },
    /** Makes 127.0.0.1:port of this namespace reachable as 127.0.0.1:port inside host h. */
    forward(h, port) {
      const near = spawn('socat', [`TCP-LISTEN:${port},bind=${h.gw},fork,reuseaddr`, `TCP:127.0.0.1:${port}`],
        { stdio: 'ignore' });
      const far = h.exec('socat', [`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `TCP:${h.gw}:${port}`],
        { stdio: 'ignore' });
      relays.push(near, far);
    },
    remove() {
      for (const r of relays) try { r.kill('SIGKILL'); } catch { /* gone */ }
      for (const { ns, veth } of made.reverse()) {
        // whatever still runs in the namespace (a daemon left by a failed test) goes with it
        const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
        for (const p of pids) try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
        spawnSync('ip', ['netns', 'del', ns]);
        spawnSync('ip', ['link', 'del', veth]); // normally gone with its peer's namespace
      }
      made.length = 0;
      if (net) net.release();
      net = null;
    },
  };
}
