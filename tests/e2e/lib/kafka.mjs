// The Kafka mock for e2e tests: build/lk_kafka_mock (librdkafka's mock cluster in a process of its
// own, tests/tools/lk_kafka_mock.c) and its delivery report.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { LAKESUPD } from './daemon.mjs';

const MOCK = process.env.LK_KAFKA_MOCK_BIN || path.join(path.dirname(LAKESUPD), 'lk_kafka_mock');

/** Starts the mock with args; {child, produced(), out(), bootstrap(), send(cmd)}. */
export function startMock(args) {
  const child = spawn(MOCK, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const produced = () => {
    const m = [...out.matchAll(/PRODUCED (\d+) FAILED (\d+)/g)].pop();
    return m ? { total: Number(m[1]), failed: Number(m[2]) } : { total: 0, failed: 0 };
  };
  return {
    child, produced, out: () => out,
    bootstrap: () => (out.match(/BOOTSTRAP (\S+)/) || [])[1],
    send: (cmd) => child.stdin.write(cmd + '\n'),
  };
}


/** The mock's delivery report (--report): every message it produced, {topic, partition, offset, key, value}. */
export const readReport = (file) => fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

