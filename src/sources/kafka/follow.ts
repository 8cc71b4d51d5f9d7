import { randomUUID } from 'node:crypto';
import type { Consumer, IHeaders, Kafka } from 'kafkajs';
import { offsetLookup } from '../../kafka/client.js';

/** One record as a follower hands it over. */
export interface FollowedRecord {
  topic: string;
  partition: number;
  offset: string;
  /** The message timestamp, in ms. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

function headersOf(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (Buffer.isBuffer(v) || typeof v === 'string') out[k] = v.toString();
  }
  return out;
}

/**
 * Follow mode: reads a topic from its beginning and keeps following it, committing nothing (a throwaway group per
 * follower). `start` resolves once every record that was on the topic when it began has been handed over, whatever
 * those records are: the handler is the follower's only judge, and whatever it throws is its own, so no record can
 * stop a follower from reading the ones after it. The write gate, and everything built on it (the FreezeExecutor,
 * `auditwatch gate`, the admission webhook, the operator commands), follows the control topic this way.
 */
export class KafkaFollower {
  private consumer: Consumer | undefined;
  private caughtUpFlag = false;

  constructor(private readonly kafka: Kafka, readonly topic: string, private readonly groupPrefix = 'auditwatch-follow') {}

  get caughtUp(): boolean {
    return this.caughtUpFlag;
  }

  async start(handle: (record: FollowedRecord) => void): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const high = await offsetLookup(admin, this.topic, () => admin.fetchTopicOffsets(this.topic)).finally(() => admin.disconnect());
    const behind = new Map(high.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]));
    let markCaughtUp!: () => void;
    const ready = new Promise<void>((resolve) => (markCaughtUp = () => {
      this.caughtUpFlag = true;
      resolve();
    }));
    if (behind.size === 0) markCaughtUp();
    const consumer = this.kafka.consumer({ groupId: `${this.groupPrefix}-${randomUUID()}`, maxWaitTimeInMs: 50 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        // Nothing here may throw: kafkajs would hand the same record over again for ever.
        try {
          handle({ topic, partition, offset: message.offset, timestamp: Number(message.timestamp), key: message.key, value: message.value, headers: headersOf(message.headers) });
        } catch {
          // The handler reports its own failures.
        } finally {
          const target = behind.get(partition);
          if (target !== undefined && BigInt(message.offset) + 1n >= target) {
            behind.delete(partition);
            if (behind.size === 0) markCaughtUp();
          }
        }
      },
    });
    await ready;
  }

  /**
   * Bounded: a follower commits nothing (its group is throwaway), so a disconnect that hangs (a consumer still
   * rejoining after a broker outage) is not worth waiting for.
   */
  async stop(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.consumer?.disconnect(), new Promise<void>((r) => (timer = setTimeout(r, 3000)))]);
    clearTimeout(timer);
  }
}
