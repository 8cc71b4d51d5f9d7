import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { offsetLookup } from '../kafka/client.js';
import { scopeKeysFor, type FreezeCommand } from './freeze-command.js';

/**
 * The client a protected service embeds to ask "may this principal write this resource type here?". It follows
 * the compacted control topic from the beginning, so it knows every live freeze; expiry is checked at ask time.
 */
export class WriteGate {
  private readonly freezes = new Map<string, FreezeCommand>();
  private consumer: Consumer | undefined;
  private readonly listeners = new Set<(scopeKey: string, command: FreezeCommand | null) => void>();

  constructor(private readonly kafka: Kafka, private readonly topic: string, private readonly now: () => number = Date.now) {}

  /** Resolves once the gate has read the control topic up to where it stood at start. */
  async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const high = await offsetLookup(admin, this.topic, () => admin.fetchTopicOffsets(this.topic)).finally(() => admin.disconnect());
    const behind = new Map(high.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]));
    let caughtUp!: () => void;
    const ready = new Promise<void>((r) => (caughtUp = r));
    if (behind.size === 0) caughtUp();
    const consumer = this.kafka.consumer({ groupId: `auditwatch-gate-${randomUUID()}`, maxWaitTimeInMs: 50 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const key = message.key?.toString('utf8');
        if (key) {
          const command = message.value ? (JSON.parse(message.value.toString('utf8')) as FreezeCommand) : null;
          if (command) this.freezes.set(key, command);
          else this.freezes.delete(key);
          for (const l of this.listeners) l(key, command);
        }
        const target = behind.get(partition);
        if (target !== undefined && BigInt(message.offset) + 1n >= target) {
          behind.delete(partition);
          if (behind.size === 0) caughtUp();
        }
      },
    });
    await ready;
  }

  /** The freeze that blocks this write, or null when the write may go ahead. */
  check(environment: string, principal: string, resourceType: string): FreezeCommand | null {
    const now = this.now();
    for (const key of scopeKeysFor(environment, principal, resourceType)) {
      const c = this.freezes.get(key);
      if (c && c.expiresAt > now) return c;
    }
    return null;
  }

  /** Live freezes (not yet expired). */
  active(): FreezeCommand[] {
    const now = this.now();
    return [...this.freezes.values()].filter((c) => c.expiresAt > now);
  }

  onChange(listener: (scopeKey: string, command: FreezeCommand | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Bounded: the gate commits nothing (its group is throwaway), so a disconnect that hangs (a consumer still
   * rejoining after a broker outage) is not worth waiting for.
   */
  async stop(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.consumer?.disconnect(), new Promise<void>((r) => (timer = setTimeout(r, 3000)))]);
    clearTimeout(timer);
  }
}
