import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/util/net.js';

export interface LocalRsyslog {
  port: number;
  /** With tls: the CA that signed the server's certificate (for 127.0.0.1 and localhost), for the client to trust. */
  caFile?: string;
  /** The lines rsyslog wrote to its file (RFC 5424, as received). */
  lines(): string[];
  stop(): Promise<void>;
}

/** A CA and a server certificate it signed for 127.0.0.1 and localhost, made with openssl (.ci/run installs it). */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const cert = join(dir, 'server.pem');
  const ext = join(dir, 'server.ext');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  const run = (args: string[]) => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.error?.message ?? r.stderr}`);
  };
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', ca, '-days', '2', '-subj', '/CN=auditwatch test CA']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=localhost']);
  run(['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext]);
  return { ca, cert, key };
}

/**
 * Debian's rsyslog (.ci/run installs it) with a TCP input on a free loopback port, writing what it receives to a
 * file; with `tls`, the input is TLS (rsyslog's OpenSSL driver, Debian's rsyslog-openssl) with a certificate from a
 * CA made for the test.
 */
export async function startLocalRsyslog(opts: { tls?: boolean } = {}): Promise<LocalRsyslog> {
  const bin = '/usr/sbin/rsyslogd';
  if (!existsSync(bin)) throw new Error('rsyslogd not found (apt-get install rsyslog; .ci/run does)');
  const dir = mkdtempSync(join(tmpdir(), 'auditwatch-rsyslog-'));
  const port = await freePort();
  const out = join(dir, 'received.log');
  const certs = opts.tls ? makeCertificates(dir) : undefined;
  writeFileSync(join(dir, 'rsyslog.conf'), [
    certs
      ? `global(workDirectory="${dir}" defaultNetstreamDriver="ossl" defaultNetstreamDriverCAFile="${certs.ca}" defaultNetstreamDriverCertFile="${certs.cert}" defaultNetstreamDriverKeyFile="${certs.key}")`
      : `global(workDirectory="${dir}")`,
    certs ? 'module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon")' : 'module(load="imtcp")',
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
    caFile: certs?.ca,
    lines: () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : []),
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
