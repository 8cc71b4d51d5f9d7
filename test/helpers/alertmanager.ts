import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/util/net.js';

export interface LocalAlertmanager {
  url: string;
  /** The alerts Alertmanager holds now (GET /api/v2/alerts), active or not. */
  alerts(): Promise<Array<{ labels: Record<string, string>; annotations: Record<string, string>; endsAt: string; status: { state: string } }>>;
  stop(): Promise<void>;
}

/** Debian's Alertmanager (prometheus-alertmanager; .ci/run installs it) on a free loopback port, clustering off. */
export async function startLocalAlertmanager(): Promise<LocalAlertmanager> {
  const bin = ['/usr/bin/prometheus-alertmanager', '/usr/bin/alertmanager'].find(existsSync);
  if (!bin) throw new Error('Alertmanager not found (apt-get install prometheus-alertmanager; .ci/run does)');
  const dir = mkdtempSync(join(tmpdir(), 'auditwatch-am-'));
  writeFileSync(join(dir, 'alertmanager.yml'), 'route:\n  receiver: nowhere\nreceivers:\n  - name: nowhere\n');
  const port = await freePort();
  const child: ChildProcess = spawn(bin, [
    `--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Alertmanager exited (${child.exitCode}): ${stderr}`);
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok).catch(() => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`Alertmanager not ready after 20 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    alerts: async () => (await fetch(`${url}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true`)).json() as never,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
