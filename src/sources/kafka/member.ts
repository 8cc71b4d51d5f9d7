import { PartitionAssigners, type Consumer, type Kafka } from 'kafkajs';
import type { Config } from '../../config/schema.js';
import { AuditwatchError, errorMessage, rootCause } from '../../errors.js';
import type { Logger } from '../../log.js';
import { retryWhileTransient } from '../../util/retry.js';
import { BalancedAssigner } from './balanced-assigner.js';

// The group-member core shared by both live sources (inline, KafkaGroupSource; on a thread, KafkaThreadSource) and
// the range reader: the consumer with the configured tuning and assignor, the give-up watch, and the per-partition
// hooks through which a settled batch's state is written before its offsets are committed.

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
