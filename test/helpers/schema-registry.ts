import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { freePort } from '../../src/util/net.js';
import { stderrTail, stopChild, untilAnswering } from '../../src/util/process.js';

const BUILD_DIR = join(PROJECT_ROOT, '.tools', 'apicurio');
const RUNNER = join(BUILD_DIR, 'target', 'apicurio-registry-1-runner.jar');

/**
 * Apicurio Registry, built once from Maven Central into .tools/apicurio (scripts/apicurio/pom.xml says how); `.ci/run`
 * builds it up front through scripts/install-tools.ts.
 */
export function ensureApicurio(log: (line: string) => void = () => {}): string {
  if (existsSync(RUNNER)) return RUNNER;
  log(`building Apicurio Registry from Maven Central into ${BUILD_DIR} (first run only)`);
  mkdirSync(BUILD_DIR, { recursive: true });
  copyFileSync(join(PROJECT_ROOT, 'scripts', 'apicurio', 'pom.xml'), join(BUILD_DIR, 'pom.xml'));
  const r = spawnSync('mvn', ['-q', '-B', 'package', '-DskipTests'], { cwd: BUILD_DIR, encoding: 'utf8' });
  if (r.error) throw new Error(`cannot run mvn (${r.error.message}); install Maven and Java 17`);
  if (r.status !== 0 || !existsSync(RUNNER)) throw new Error(`mvn could not build Apicurio Registry (exit ${r.status}): ${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-5).join(' | ')}`);
  return RUNNER;
}

export interface LocalSchemaRegistry {
  /** The Confluent-compatible API's base URL (what `schemaRegistry.url` takes). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * A real Apicurio Registry on a loopback port (free, or the one given: a restart keeps its address), its storage an H2
 * file under `dataDir` so that a restart keeps the schemas.
 */
export async function startLocalSchemaRegistry(dataDir: string, port?: number): Promise<LocalSchemaRegistry> {
  const jar = ensureApicurio();
  const listenOn = port ?? await freePort();
  const child: ChildProcess = spawn('java', [`-Dquarkus.http.port=${listenOn}`, '-Dquarkus.http.host=127.0.0.1', '-jar', jar], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, REGISTRY_DATASOURCE_URL: `jdbc:h2:file:${join(dataDir, 'registry')}` },
  });
  const url = `http://127.0.0.1:${listenOn}/apis/ccompat/v7`;
  await untilAnswering(`${url}/subjects`, child, { what: 'Apicurio Registry', timeoutMs: 60_000, stderr: stderrTail(child) });
  return { url, port: listenOn, stop: () => stopChild(child, 10_000) };
}
