// Hosts for the multi-host tests: Linux network namespaces joined to this one by veth pairs (ip
// netns + ip link), made by the test and removed in its `finally`. Each host gets 10.<A>.<i>.2, this
// side of its link 10.<A>.<i>.1 (A from the test's pid: two runs at once do not collide). A service
// bound to this namespace's loopback (the Kafka mock) is forwarded into a host with socat: a listener
// on the host's own 127.0.0.1:PORT relays to this side's veth address, where another relays to
// 127.0.0.1:PORT here, so the address the service advertises is right in every host.
import { spawn, spawnSync } from 'node:child_process';

const A = 200 + (process.pid % 50);
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

/** A set of hosts; remove() undoes everything it made (namespaces, veth pairs, relays). */
export function hosts() {
  const made = [];
  const relays = [];
  return {
    /** Host i (1..): {name, ip, gw, exec(cmd, args, opts) → ChildProcess}. */
    add(i) {
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
    },
  };
}
