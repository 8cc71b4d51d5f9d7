import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { freePort } from '../util/net.js';
import { stopChild } from '../util/process.js';

/** The package root, from src/kafka (tests) or dist/kafka (built). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const POM = join(PROJECT_ROOT, 'scripts', 'kafka', 'pom.xml');
/** The Apache Kafka release the local broker runs: 4.1 by default; CI also runs the broker tests on 3.9. */
export const KAFKA_VERSION = process.env.AUDITWATCH_KAFKA_VERSION ?? '4.1.1';
const KAFKA_LINE = KAFKA_VERSION.split('.')[0]!;
export const KAFKA_LIBS = process.env.AUDITWATCH_KAFKA_LIBS ?? join(PROJECT_ROOT, '.kafka', KAFKA_VERSION, 'libs');

function haveJars(): boolean {
  return existsSync(KAFKA_LIBS) && readdirSync(KAFKA_LIBS).includes(`kafka_2.13-${KAFKA_VERSION}.jar`);
}

/** Resolves the official Apache Kafka jars from Maven Central into .kafka/<version>/libs, once; later runs reuse them. */
export function ensureKafkaJars(log: (line: string) => void = () => {}): void {
  if (haveJars()) return;
  log(`resolving Apache Kafka ${KAFKA_VERSION} jars with Maven into ${KAFKA_LIBS} (first run only)`);
  // Maven's output (colour codes even with -q) is shown only if it fails.
  const r = spawnSync('mvn', ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-Dkafka.version=${KAFKA_VERSION}`, `-Dkafka.line=${KAFKA_LINE}`, `-DoutputDirectory=${KAFKA_LIBS}`], { encoding: 'utf8' });
  if (r.error) throw new Error(`cannot run mvn (${r.error.message}); install Maven and Java 17`);
  if (r.status !== 0 || !haveJars()) throw new Error(`mvn could not resolve the Kafka ${KAFKA_VERSION} jars (exit ${r.status}): ${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-5).join(' | ')}`);
}

function java(args: string[], opts: { detached?: boolean; logFile?: string } = {}): ChildProcess {
  const out = opts.logFile ? openSync(opts.logFile, 'a') : 'ignore';
  return spawn('java', args, { stdio: ['ignore', out, out], detached: opts.detached ?? false });
}

export interface LocalBroker {
  brokers: string;
  pid: number;
  dir: string;
  /** Shuts the broker down and deletes its data. */
  stop(): Promise<void>;
  /** Shuts the broker down (SIGTERM, or SIGKILL for a crash), keeping its data and ports for `restart`. */
  halt(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts the broker again on the same ports and data, and waits until it answers. */
  restart(): Promise<void>;
}

/** Kafka 4 logs through log4j2. */
const LOG4J2 = `status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = STDOUT
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = info
`;

/** Kafka 3 logs through log4j 1 (reload4j). */
const LOG4J = `log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
`;

async function waitReady(brokers: string, child: ChildProcess, logFile: string, timeoutMs: number, sasl?: SaslOptions): Promise<void> {
  const kafka = new Kafka({
    clientId: 'auditwatch-broker-probe', brokers: [brokers], logLevel: logLevel.NOTHING, retry: { retries: 0 },
    ...(sasl ? { sasl: { mechanism: 'scram-sha-256' as const, username: 'admin', password: sasl.users.admin! } } : {}),
  });
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Kafka exited with code ${child.exitCode} while starting; see ${logFile}`);
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0) {
        // A topic round-trip proves the controller is serving metadata writes, not just accepting connections.
        await admin.listTopics();
        return;
      }
    } catch (err) {
      lastError = (err as Error).message;
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Kafka did not become ready in ${timeoutMs} ms (${lastError}); see ${logFile}`);
}

/**
 * SASL/SCRAM-SHA-256 on the client listener with Kafka's StandardAuthorizer: `users` (name → password, `admin`
 * among them, a super user) are created at format time; every other principal needs ACLs.
 */
export interface SaslOptions {
  users: Record<string, string>;
}

function saslProperties(sasl: SaslOptions): string[] {
  const admin = sasl.users.admin;
  if (!admin) throw new Error('a SASL broker needs an "admin" user (the super user brokers authenticate as)');
  return [
    'sasl.enabled.mechanisms=SCRAM-SHA-256',
    'sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256',
    `listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${admin}";`,
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    // The controller listener is plaintext on loopback: its connections are ANONYMOUS and must pass the authorizer.
    'super.users=User:admin;User:ANONYMOUS',
    'allow.everyone.if.no.acl.found=false',
  ];
}

/**
 * Starts a single-node Apache Kafka in KRaft mode from the official jars on Java 17, on free loopback ports, and
 * waits until it answers requests. `stop()` shuts it down cleanly (SIGTERM, then SIGKILL after 20 s).
 */
export async function startLocalBroker(opts: { log?: (line: string) => void; heap?: string; timeoutMs?: number; sasl?: SaslOptions } = {}): Promise<LocalBroker> {
  ensureKafkaJars(opts.log);
  const dir = mkdtempSync(join(tmpdir(), 'auditwatch-kafka-'));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const props = join(dir, 'server.properties');
  const log4j = join(dir, 'log4j.properties');
  const log4j2 = join(dir, 'log4j2.properties');
  const logFile = join(dir, 'broker.log');
  mkdirSync(join(dir, 'data'));
  writeFileSync(log4j, LOG4J);
  writeFileSync(log4j2, LOG4J2);
  const listener = opts.sasl ? 'SASL_PLAINTEXT' : 'PLAINTEXT';
  writeFileSync(props, [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=${listener}://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=${listener}://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    `listener.security.protocol.map=${listener}:${listener},CONTROLLER:PLAINTEXT`,
    `inter.broker.listener.name=${listener}`,
    ...(opts.sasl ? saslProperties(opts.sasl) : []),
    `log.dirs=${join(dir, 'data')}`,
    'num.partitions=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=4',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    'log.message.timestamp.type=CreateTime',
    // Event time rides in the message timestamp; simulated history lies days in the past and must be accepted.
    'log.message.timestamp.before.max.ms=9223372036854775807',
    'log.retention.hours=-1',
    '',
  ].join('\n'));
  const cp = join(KAFKA_LIBS, '*');
  // Each line reads its own logging property and ignores the other's.
  const sysProps = [`-Dlog4j.configuration=file:${log4j}`, `-Dlog4j2.configurationFile=${log4j2}`, '-Djava.awt.headless=true'];
  const scram = Object.entries(opts.sasl?.users ?? {}).flatMap(([name, password]) => ['--add-scram', `SCRAM-SHA-256=[name=${name},password=${password}]`]);
  const format = spawnSync('java', ['-cp', cp, ...sysProps, 'kafka.tools.StorageTool', 'format', '-t', 'auditwatch-local-kraft-01', '-c', props, ...scram], { encoding: 'utf8' });
  if (format.error) throw new Error(`cannot run java (${format.error.message}); install Java 17`);
  if (format.status !== 0) throw new Error(`kafka storage format failed: ${format.stderr || format.stdout}`);
  const launch = () => java([`-Xmx${opts.heap ?? '768m'}`, '-Xms256m', '-XX:+UseG1GC', '-cp', cp, ...sysProps, 'kafka.Kafka', props], { logFile });
  let child = launch();
  const brokers = `127.0.0.1:${port}`;
  const halt = (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => stopChild(child, 20_000, signal);
  const stop = async () => {
    await halt();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(brokers, child, logFile, opts.timeoutMs ?? 90_000, opts.sasl);
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  const broker: LocalBroker = {
    brokers, pid: child.pid!, dir, stop, halt,
    restart: async () => {
      await halt();
      child = launch();
      broker.pid = child.pid!;
      await waitReady(brokers, child, logFile, opts.timeoutMs ?? 90_000, opts.sasl);
    },
  };
  return broker;
}
