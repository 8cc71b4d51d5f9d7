import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/util/net.js';
import { stderrTail, stopChild, untilAnswering } from '../../src/util/process.js';

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
  const url = `http://127.0.0.1:${port}`;
  await untilAnswering(`${url}/-/ready`, child, { what: 'Alertmanager', timeoutMs: 20_000, stderr: stderrTail(child) });
  return {
    url,
    alerts: async () => (await fetch(`${url}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true`)).json() as never,
    stop: async () => {
      await stopChild(child, 5000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
