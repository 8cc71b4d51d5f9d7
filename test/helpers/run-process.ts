import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { waitFor } from './wait.js';

export { freePort } from '../../src/util/net.js';

export interface RunningAuditwatch {
  child: ChildProcess;
  stderr: string[];
  exited: Promise<number | null>;
  /** Resolves with the first stderr line (after `from`) that matches. */
  waitForLog(re: RegExp, from?: number, timeoutMs?: number): Promise<string>;
  metric(name: RegExp): Promise<number>;
}

/** `auditwatch run` as a child process (the built dist/), with its stderr lines collected. */
export function startAuditwatch(args: string[], metricsPort: number, env: NodeJS.ProcessEnv = {}): RunningAuditwatch {
  return startCommand(['run', ...args], env, metricsPort);
}

/** Any auditwatch command as a child process (the built dist/), with its stderr lines collected. */
export function startCommand(args: string[], env: NodeJS.ProcessEnv = {}, metricsPort = 0): RunningAuditwatch {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'auditwatch.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KAFKA_BROKERS: '', ...env } });
  const stderr: string[] = [];
  let partial = '';
  child.stderr!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    stderr.push(...lines);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stderr,
    exited,
    waitForLog: (re, from = 0, timeoutMs = 20_000) => waitFor(`a log line matching ${re}`, () => stderr.slice(from).find((l) => re.test(l)), timeoutMs),
    metric: async (name) => {
      // "auditwatch running" is logged before `run` starts its metrics server: a caller may ask in between.
      const response = await waitFor('the metrics endpoint to answer', () => fetch(`http://127.0.0.1:${metricsPort}/metrics`).catch((err: unknown) => {
        if ((err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED') return undefined;
        throw err;
      }), 20_000);
      const text = await response.text();
      return text.split('\n').filter((l) => name.test(l)).reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    },
  };
}
