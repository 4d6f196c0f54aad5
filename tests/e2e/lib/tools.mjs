// The command-line tools the end-to-end tests run besides lakesupd, lk_gen and node: each is
// looked for on PATH first, so that a machine without it fails with the command and its Debian
// package named (deploy/install-deps.sh --test installs them), not with ENOENT or tar's
// "Cannot exec".
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The Debian package of each command the tests run. */
export const DEBIAN_PACKAGE = { tar: 'tar', zstd: 'zstd', bzip2: 'bzip2', prometheus: 'prometheus',
  promtool: 'prometheus', 'prometheus-alertmanager': 'prometheus-alertmanager', chromium: 'chromium' };

/** Throws, naming cmd and its Debian package, when cmd is not an executable on PATH. */
export function requireCommand(cmd) {
  for (const dir of (process.env.PATH || '/usr/local/bin:/usr/bin:/bin').split(':')) {
    try {
      fs.accessSync(path.join(dir || '.', cmd), fs.constants.X_OK);
      return;
    } catch {
      /* not in this directory */
    }
  }
  throw new Error(`this test runs the command '${cmd}', which is not on PATH (${process.env.PATH}): ` +
    `install the Debian package ${DEBIAN_PACKAGE[cmd] ?? cmd} (deploy/install-deps.sh --test does)`);
}

/** buf through `cmd ...args` (a compressor writing to stdout); its output. */
export function pipeThrough(cmd, args, buf) {
  requireCommand(cmd);
  const r = spawnSync(cmd, args, { input: buf, maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

export const zstd = (buf) => pipeThrough('zstd', ['-q', '-c', '-3'], buf);
export const bzip2 = (buf) => pipeThrough('bzip2', ['-c'], buf);

/** Extracts the .tar.zst archive into dir (tar runs zstd). */
export function untarZstd(archive, dir) {
  requireCommand('tar');
  requireCommand('zstd');
  execFileSync('tar', ['--zstd', '-xf', archive, '-C', dir]);
}
