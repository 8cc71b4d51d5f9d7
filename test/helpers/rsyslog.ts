import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/util/net.js';

export interface LocalRsyslog {
  port: number;
  /** The lines rsyslog wrote to its file (RFC 5424, as received). */
  lines(): string[];
  stop(): Promise<void>;
}

/** Debian's rsyslog (.ci/run installs it) with a TCP input on a free loopback port, writing what it receives to a file. */
export async function startLocalRsyslog(): Promise<LocalRsyslog> {
  const bin = '/usr/sbin/rsyslogd';
  if (!existsSync(bin)) throw new Error('rsyslogd not found (apt-get install rsyslog; .ci/run does)');
  const dir = mkdtempSync(join(tmpdir(), 'auditwatch-rsyslog-'));
  const port = await freePort();
  const out = join(dir, 'received.log');
  writeFileSync(join(dir, 'rsyslog.conf'), [
    `global(workDirectory="${dir}")`,
    'module(load="imtcp")',
    `input(type="imtcp" port="${port}" address="127.0.0.1" ruleset="received")`,
    `ruleset(name="received") { action(type="omfile" file="${out}" template="RSYSLOG_SyslogProtocol23Format") }`,
  ].join('\n'));
  const child: ChildProcess = spawn(bin, ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const { connect } = await import('node:net');
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`rsyslogd exited (${child.exitCode}): ${stderr}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) throw new Error(`rsyslogd not listening after 15 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    lines: () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : []),
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
