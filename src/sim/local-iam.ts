import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../kafka/local-broker.js';
import { freePort } from '../util/net.js';
import { stderrTail, stopChild, untilAnswering } from '../util/process.js';

/** moto's standalone server, pinned, installed from PyPI into the project's own virtual environment. */
export const MOTO_REQUIREMENT = 'moto[server]==5.2.6';
const VENV = process.env.AUDITWATCH_TOOLS_VENV ?? join(PROJECT_ROOT, '.tools', 'venv');
const MOTO_SERVER = join(VENV, 'bin', 'moto_server');

/** Credentials a local IAM API accepts: no real account is ever reached with them. */
export const LOCAL_AWS_ENV = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1' } as const;

/** Installs moto's server into .tools/venv once; later runs reuse it. */
export function ensureMoto(log: (line: string) => void = () => {}): void {
  if (existsSync(MOTO_SERVER)) return;
  log(`installing ${MOTO_REQUIREMENT} into ${VENV} (first run only)`);
  const venv = spawnSync('python3', ['-m', 'venv', VENV], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (venv.error || venv.status !== 0) throw new Error(`cannot create a Python virtual environment in ${VENV} (${venv.error?.message ?? `exit ${venv.status}`}); install python3 and python3-venv`);
  const pip = spawnSync(join(VENV, 'bin', 'pip'), ['install', '-q', MOTO_REQUIREMENT], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (pip.status !== 0 || !existsSync(MOTO_SERVER)) throw new Error(`pip could not install ${MOTO_REQUIREMENT} (exit ${pip.status})`);
}

export interface LocalIam {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * A real IAM API on a free loopback port: moto's standalone server, which keeps roles, users and their inline
 * policies in memory and answers the AWS SDK as AWS would (STS GetCallerIdentity included).
 */
export async function startLocalIam(opts: { log?: (line: string) => void; timeoutMs?: number; account?: string } = {}): Promise<LocalIam> {
  ensureMoto(opts.log);
  const port = await freePort();
  // The account the API answers for (moto's MOTO_ACCOUNT_ID): the simulator's production account in the demo.
  const env = { ...process.env, ...(opts.account ? { MOTO_ACCOUNT_ID: opts.account } : {}) };
  const child = spawn(MOTO_SERVER, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'], env });
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = () => stopChild(child, 5000);
  await untilAnswering(`${endpoint}/moto-api/`, child, { what: 'moto_server', timeoutMs: opts.timeoutMs ?? 30_000, stderr: stderrTail(child) });
  return { endpoint, stop };
}
