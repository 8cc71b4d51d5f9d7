import { BalancedAssigner } from './balanced-assigner.js';
import { PartitionAssigners, type Consumer, type Kafka } from 'kafkajs';
import type { Config, SourceSpec } from '../config/schema.js';
import { AuditwatchError, errorMessage, rootCause } from '../errors.js';
import { retryWhileTransient } from '../util/retry.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Source, SourceRecord } from './source.js';

/** Per-partition state that follows the group's assignment (src/runtime/partition-state.ts implements it). */
export interface PartitionHooks {
  /** The partitions this member holds after a rebalance. */
  rebalanced(held: Array<{ topic: string; partition: number }>): void;
  /** Resolves once the partition's state is restored, with the offset it covers up to, or null. */
  ready(topic: string, partition: number): Promise<string | null>;
  /** After a batch's outputs settled, before its offsets are committed. */
  settled(topic: string, partition: number, nextOffset: string): Promise<void>;
}

/**
 * The records at or past a restored position: those below it are already in the partition's state (written before a
 * crash cut the commit). Offsets ascend within a batch, so only a batch that starts below the position is filtered.
 */
export function fromPosition<T extends { offset: string }>(records: T[], position: string | null): T[] {
  if (position === null || records.length === 0) return records;
  const from = BigInt(position);
  return BigInt(records[0]!.offset) < from ? records.filter((r) => BigInt(r.offset) >= from) : records;
}

/** Writes what a settled batch changed in its partition's state, retried in place while transient (a broker restarting). */
export function settlePartition(hooks: PartitionHooks, topic: string, partition: number, next: string,
  opts: { log: Logger; stopping: () => boolean; between?: () => Promise<void> }): Promise<void> {
  return retryWhileTransient(() => hooks.settled(topic, partition, next), { what: 'writing partition state', ...opts });
}

/**
 * Why kafkajs gave a consumer up, as one line. A refusal that a setting of ours caused names its key (for a consumer
 * built from `kafka.consumer`): the broker bounds the session timeout (group.min.session.timeout.ms and
 * group.max.session.timeout.ms), which config validation cannot know.
 */
function consumerGaveUpMessage(groupId: string, tuning: Pick<Config['kafka']['consumer'], 'sessionTimeout'> | undefined, err: unknown): string {
  const cause = rootCause(err);
  const key = tuning && (cause as { type?: unknown }).type === 'INVALID_SESSION_TIMEOUT'
    ? ` (kafka.consumer.sessionTimeout is ${tuning.sessionTimeout} ms)`
    : '';
  return `the consumer of group "${groupId}" stopped and will not restart: ${errorMessage(cause)}${key}`;
}

/**
 * Watches for kafkajs giving a consumer up: a crash it does not restart from (an error it deems not retriable, such
 * as the broker refusing the session timeout). kafkajs then disconnects the consumer, and its `run` resolves all the
 * same: without this a source would go on looking as if it consumed, and read nothing. `error` is set from then on
 * (a crash during `run` is known before anything reports consuming), and `gaveUp` rejects with it.
 */
export class GiveUpWatch {
  error: AuditwatchError | undefined;
  /** Never resolves; a rejection that nobody awaits yet is not reported as unhandled. */
  readonly gaveUp: Promise<never>;

  constructor(consumer: Consumer, groupId: string, tuning?: Pick<Config['kafka']['consumer'], 'sessionTimeout'>) {
    this.gaveUp = new Promise<never>((_, reject) => {
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (payload.restart) return;
        this.error ??= new AuditwatchError('CONSUMER_GAVE_UP', consumerGaveUpMessage(groupId, tuning, payload.error), { cause: payload.error });
        reject(this.error);
      });
    });
    this.gaveUp.catch(() => undefined);
  }
}

/** A member of the group with the configured fetch tuning: both live sources (this one, KafkaThreadSource) use it. */
export function groupConsumer(kafka: Kafka, groupId: string, tuning: Config['kafka']['consumer']): Consumer {
  return kafka.consumer({
    groupId, sessionTimeout: tuning.sessionTimeout, heartbeatInterval: tuning.heartbeatInterval,
    maxWaitTimeInMs: tuning.maxWaitTime, maxBytesPerPartition: tuning.maxBytesPerPartition, maxBytes: tuning.maxBytes,
    // Round robin second: a group still running an older auditwatch can agree on it during a rolling upgrade.
    partitionAssigners: [BalancedAssigner, PartitionAssigners.roundRobin],
  });
}

/**
 * The live source: a consumer group over the configured topics. A batch's offsets are resolved and committed only
 * after the pipeline has settled every output of that batch (and, with partition hooks, after the state it changed
 * is in the changelog), so a crash re-delivers rather than loses.
 */
export class KafkaGroupSource implements Source {
  private consumer: Consumer | undefined;
  private finished: (() => void) | undefined;
  /** Set by stop(), which may come while run() is still joining the group. */
  private stopped = false;
  running = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly groupId: string,
    private readonly specs: ReadonlyArray<Pick<Extract<SourceSpec, { type: 'kafka' }>, 'topics' | 'format' | 'fromBeginning'>>,
    private readonly tuning: Config['kafka']['consumer'],
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly hooks?: PartitionHooks,
  ) {}

  async run(handle: (records: SourceRecord[]) => Promise<void>): Promise<void> {
    if (this.stopped) return;
    const formatOf = new Map<string, SourceRecord['format']>();
    for (const spec of this.specs) for (const t of spec.topics) formatOf.set(t, spec.format);
    const consumer = groupConsumer(this.kafka, this.groupId, this.tuning);
    this.consumer = consumer;
    const hooks = this.hooks;
    if (hooks) {
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        hooks.rebalanced(Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition }))));
      });
    }
    await consumer.connect();
    for (const spec of this.specs) await consumer.subscribe({ topics: spec.topics, fromBeginning: spec.fromBeginning });
    const done = new Promise<void>((resolve) => (this.finished = resolve));
    const watch = new GiveUpWatch(consumer, this.groupId, this.tuning);
    await consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.tuning.partitionsConsumedConcurrently,
      eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        const format = formatOf.get(batch.topic) ?? 'auto';
        let messages = batch.messages;
        if (hooks) {
          // A restore can outlast the session timeout: keep the membership alive while waiting for it.
          const beat = setInterval(() => void heartbeat().catch(() => {}), this.tuning.heartbeatInterval);
          try {
            messages = fromPosition(messages, await hooks.ready(batch.topic, batch.partition));
          } finally {
            clearInterval(beat);
          }
        }
        const records: SourceRecord[] = messages.map((m) => ({
          topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key ?? null, value: m.value ?? null, format,
        }));
        if (records.length) await handle(records);
        const last = batch.messages[batch.messages.length - 1]!.offset;
        if (hooks) await settlePartition(hooks, batch.topic, batch.partition, String(BigInt(last) + 1n), { log: this.log, stopping: () => !this.running, between: heartbeat });
        resolveOffset(last);
        await commitOffsetsIfNecessary();
        this.metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(batch.offsetLag()));
        await heartbeat();
      },
    });
    if (watch.error) throw watch.error;
    // Stopped while joining (the other stage failed, say): kafkajs's run returns then too, and this never consumed.
    if (this.stopped) return;
    this.running = true;
    this.log.info({ groupId: this.groupId, topics: [...formatOf.keys()] }, 'consuming');
    try {
      await Promise.race([done, watch.gaveUp]);
    } finally {
      this.running = false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.running = false;
    await this.consumer?.disconnect();
    this.finished?.();
  }
}
