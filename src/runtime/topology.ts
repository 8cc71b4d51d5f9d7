import type { Kafka } from 'kafkajs';
import type { Config, SourceSpec } from '../config/schema.js';
import { AuditwatchError } from '../errors.js';
import { ensureTopics } from '../kafka/client.js';
import { internalTopicNames } from '../pipeline/tasks.js';

type KafkaSource = Extract<SourceSpec, { type: 'kafka' }>;


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
    const inputs = config.sources.flatMap((s) => s.topics);
    const existing = new Set(await admin.listTopics());
    const known = inputs.filter((t) => existing.has(t));
    const counts = known.length ? (await admin.fetchTopicMetadata({ topics: known })).topics.map((t) => t.partitions.length) : [];
    const partitions = config.state.partitions ?? Math.max(1, ...counts);
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
