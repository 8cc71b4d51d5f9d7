import type { Admin, Kafka } from 'kafkajs';
import type { Config, SourceSpec } from '../config/schema.js';
import { AuditwatchError } from '../errors.js';
import { ensureTopics } from '../kafka/client.js';
import type { TaskRoute } from '../pipeline/tasks.js';
import type { WindowInput } from '../pipeline/window.js';

type KafkaSource = Extract<SourceSpec, { type: 'kafka' }>;

/** The internal topics of a consumer group, named after it as Kafka Streams names its own. */
export function internalTopicNames(groupId: string): { changelog: string; repartition: string } {
  return { changelog: `${groupId}-state-changelog`, repartition: `${groupId}-repartition` };
}

export interface Topology {
  /** What the detection consumer group reads: keyed inputs, and the repartition topic if any input is not keyed. */
  detection: KafkaSource[];
  /** Inputs the repartition stage re-keys (its own consumer group, `<groupId>-repartition`). */
  repartition: KafkaSource[];
  changelogTopic: string;
  repartitionTopic: string;
}

/** Pure: which topics go where. With the changelog off, everything is read as it is, by one detection group. */
export function planTopology(config: Config): Topology {
  const { changelog, repartition } = internalTopicNames(config.kafka.groupId);
  const sources = config.sources;
  if (!config.state.changelog) return { detection: [...sources], repartition: [], changelogTopic: changelog, repartitionTopic: repartition };
  const unkeyed = sources.filter((s) => !s.keyedByPrincipal);
  const detection = sources.filter((s) => s.keyedByPrincipal);
  if (unkeyed.length) detection.push({ type: 'kafka', topics: [repartition], format: 'canonical-avro-batch', fromBeginning: true, keyedByPrincipal: true });
  return { detection, repartition: unkeyed, changelogTopic: changelog, repartitionTopic: repartition };
}

/**
 * Creates the internal topics that do not exist (the changelog compacted), with as many partitions as the
 * largest input topic unless state.partitions says otherwise, and checks that the changelog covers every
 * partition detection reads: input partition p writes changelog partition p.
 */
export async function ensureInternalTopics(kafka: Kafka, config: Config, topology: Topology): Promise<{ repartitionPartitions: number }> {
  if (!config.state.changelog) return { repartitionPartitions: 0 };
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const partitions = await internalPartitions(admin, config, existing);
    await ensureTopics(admin, [
      { topic: topology.changelogTopic, partitions, compacted: true },
      ...(topology.repartition.length ? [{ topic: topology.repartitionTopic, partitions }] : []),
    ]);
    const detectionTopics = topology.detection.flatMap((s) => s.topics).filter((t) => t === topology.repartitionTopic || existing.has(t));
    const meta = await admin.fetchTopicMetadata({ topics: [topology.changelogTopic, ...detectionTopics] });
    const size = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
    const changelogPartitions = size.get(topology.changelogTopic)!;
    for (const t of detectionTopics) {
      if (size.get(t)! > changelogPartitions) {
        throw new AuditwatchError('CONFIG_INVALID', `state: topic ${t} has ${size.get(t)} partitions but the changelog ${topology.changelogTopic} has ${changelogPartitions}; add partitions to the changelog (kafka-topics --alter) before starting`);
      }
    }
    return { repartitionPartitions: size.get(topology.repartitionTopic) ?? 0 };
  } finally {
    await admin.disconnect();
  }
}

/** The internal topics' partitions: `state.partitions`, or as many as the largest of `topics` (the inputs) that exists. */
async function internalPartitions(admin: Admin, config: Config, existing: Set<string>, topics = config.sources.flatMap((s) => s.topics)): Promise<number> {
  const known = [...new Set(topics)].filter((t) => existing.has(t));
  const counts = known.length ? (await admin.fetchTopicMetadata({ topics: known })).topics.map((t) => t.partitions.length) : [];
  return config.state.partitions ?? Math.max(1, ...counts);
}

/**
 * How `run` split a window's events into detection tasks, so that a replay gives the live run's alerts: per partition
 * for a topic detection reads as it is (keyed by principal, or the repartition topic); for a topic the repartition
 * stage re-keys, by the principal's partition on the repartition topic (its own count if it exists, else as
 * `ensureInternalTopics` would size it). A file, or a config without `state.changelog`, is one task, as `run` without
 * a changelog is.
 */
export async function taskRouteFor(input: WindowInput, config: Config, kafka: Kafka | undefined): Promise<TaskRoute | undefined> {
  if (input.kind !== 'topic' || !kafka || !config.state.changelog) return undefined;
  const topology = planTopology(config);
  if (input.topic === topology.repartitionTopic || topology.detection.some((s) => s.topics.includes(input.topic))) return { by: 'record' };
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    if (existing.has(topology.repartitionTopic)) {
      return { by: 'principal', partitions: (await admin.fetchTopicMetadata({ topics: [topology.repartitionTopic] })).topics[0]!.partitions.length };
    }
    // A topic the config does not name as an input counts too: it is the nearest guess at what `run` read.
    return { by: 'principal', partitions: await internalPartitions(admin, config, existing, [...config.sources.flatMap((s) => s.topics), input.topic]) };
  } finally {
    await admin.disconnect();
  }
}
