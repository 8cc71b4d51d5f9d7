import { envSecret, readConfigFile } from '../config/files.js';
import { Kafka, logLevel, type Admin, type ITopicConfig, type KafkaConfig, type LogEntry } from 'kafkajs';
import { OUTPUT_TYPES, type Config } from '../config/schema.js';
import { alertsTopicOf } from '../config/select.js';
import { createLogger, type Logger } from '../log.js';
import { retryWhileTransient } from '../util/retry.js';

function kafkaLogCreator(log: Logger) {
  return () => ({ namespace, level, log: entry }: LogEntry) => {
    const { message, ...rest } = entry;
    const fields = { namespace, ...rest };
    // Request-level errors (e.g. "group coordinator not available" while a fresh broker elects one) are retried by
    // kafkajs; they are worth a warning, not an error. Anything it gives up on surfaces as a thrown error instead.
    if (level === logLevel.ERROR) (namespace === 'Connection' ? log.warn : log.error).call(log, fields, message);
    else if (level === logLevel.WARN) log.warn(fields, message);
    else if (level === logLevel.INFO) log.debug(fields, message);
  };
}

/**
 * TLS and SASL options for kafkajs. Secrets are read here, from the environment or files, and go nowhere but the
 * client: they are not in the config object, and nothing logs these options.
 */
export function connectionSecurity(config: Pick<Config['kafka'], 'ssl' | 'sasl'>, env: NodeJS.ProcessEnv = process.env): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  const read = (file: string, what: string) => readConfigFile(file, `kafka.${what}`).toString('utf8');
  if (config.ssl === true) out.ssl = true;
  else if (config.ssl) {
    out.ssl = {
      rejectUnauthorized: config.ssl.rejectUnauthorized,
      ...(config.ssl.caFile ? { ca: [read(config.ssl.caFile, 'ssl.caFile')] } : {}),
      ...(config.ssl.certFile ? { cert: read(config.ssl.certFile, 'ssl.certFile') } : {}),
      ...(config.ssl.keyFile ? { key: read(config.ssl.keyFile, 'ssl.keyFile') } : {}),
    };
  }
  if (config.sasl) {
    const { mechanism, username, passwordEnv, passwordFile } = config.sasl;
    const password = passwordEnv ? envSecret(env, 'kafka.sasl.passwordEnv', passwordEnv) : read(passwordFile!, 'sasl.passwordFile').trim();
    out.sasl = { mechanism, username, password } as KafkaConfig['sasl'];
  }
  return out;
}

/** A kafkajs client; TLS and SASL are optional (tests and benchmarks pass only brokers and a client id). */
export function createKafka(config: Pick<Config['kafka'], 'brokers' | 'clientId'> & Partial<Pick<Config['kafka'], 'ssl' | 'sasl'>>, log: Logger): Kafka {
  return new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    ...connectionSecurity({ ssl: config.ssl ?? false, sasl: config.sasl }),
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(log.child({ component: 'kafkajs' })),
    retry: { retries: 8, initialRetryTime: 200 },
  });
}

export interface TopicSpec {
  topic: string;
  partitions?: number;
  compacted?: boolean;
}

/** Creates the topics that do not exist yet; existing ones are left as they are. */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = specs
    .filter((s) => !existing.has(s.topic))
    .map((s) => ({
      topic: s.topic,
      numPartitions: s.partitions ?? 1,
      replicationFactor: -1,
      configEntries: s.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
    }));
  if (missing.length) await admin.createTopics({ topics: missing, waitForLeaders: true });
}

/** The internal topics a config writes to, so `run` can create them at start. */
export function outputTopics(config: Config): TopicSpec[] {
  const topics: TopicSpec[] = [
    { topic: config.deadLetter.topic }, { topic: config.freeze.controlTopic, compacted: true }, { topic: config.freeze.auditTopic },
    { topic: config.changes.topic, compacted: true },
  ];
  for (const s of config.alerts.sinks) if (s.type === 'kafka') topics.push({ topic: s.topic });
  // Where outputs write what their endpoints never accepted.
  const alerts = alertsTopicOf(config);
  if (alerts && config.alerts.sinks.some((s) => (OUTPUT_TYPES as readonly string[]).includes(s.type))) topics.push({ topic: `${alerts}.undelivered` });
  return topics;
}

/** Creates the topics this config writes to (plus `extra`), for commands that are about to produce. */
export async function ensureOutputTopics(kafka: Kafka, config: Config, extra: readonly TopicSpec[] = []): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [...extra, ...outputTopics(config)]);
  } finally {
    await admin.disconnect();
  }
}

/**
 * The configured input topics the cluster does not have, one line each naming its key (`sources[0].topics[1]`).
 * kafkajs's consumer cannot subscribe to a topic that does not exist (it fails with UNKNOWN_TOPIC_OR_PARTITION).
 * Output and internal topics are created; inputs are the producers' to create.
 */
export async function missingInputTopics(kafka: Kafka, config: Pick<Config, 'sources' | 'kafka'>): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    return config.sources.flatMap((source, i) => source.topics.flatMap((topic, j) => existing.has(topic) ? [] :
      [`sources[${i}].topics[${j}]: topic "${topic}" does not exist on ${config.kafka.brokers.join(',')}`]));
  } finally {
    await admin.disconnect();
  }
}

/** How long an offset lookup is tried again while it fails transiently. */
const OFFSET_LOOKUP_PATIENCE_MS = 30_000;
let quiet: Logger | undefined;

/**
 * An admin's offset lookup on `topic`, tried again with fresh metadata for up to 30 s while its failure is transient.
 * A topic just created (KRaft), or a partition whose leader just moved, answers NOT_LEADER_OR_FOLLOWER until the
 * metadata catches up, and kafkajs's admin hands that straight back: the partition-state test once failed so, on a
 * changelog topic created a moment before, with the whole suite running.
 */
export function offsetLookup<T>(admin: Admin, topic: string, lookup: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + OFFSET_LOOKUP_PATIENCE_MS;
  return retryWhileTransient(lookup, {
    what: `offset lookup on ${topic}`,
    // Its callers have no logger of their own; a lookup that gives up fails them with its error.
    log: (quiet ??= createLogger('silent')),
    stopping: () => Date.now() > deadline,
    between: () => admin.fetchTopicMetadata({ topics: [topic] }).then(() => undefined),
  });
}
