import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { offsetLookup } from '../kafka/client.js';
import { ControlLog, type ControlChange, type ControlRejection } from './control-log.js';
import type { FreezeCommand } from './freeze-command.js';
import type { KeyRing } from './signing.js';

export interface WriteGateOptions {
  /** The public keys whose signatures this gate accepts; with none, every record is refused. */
  keys: KeyRing;
  now?: () => number;
  /** Called for every record refused (metrics, logs, the control-tamper alert). */
  onReject?: (rejection: ControlRejection) => void;
}

/**
 * The client a protected service embeds to ask "may this principal write this resource type here?". It follows
 * the compacted control topic from the beginning and verifies every record (see ControlLog), so it knows every
 * freeze in force; expiry is checked at ask time. No record can stop it: one it refuses is reported and skipped.
 *
 *   import { WriteGate } from 'auditwatch/write-gate';
 */
export class WriteGate {
  private readonly log: ControlLog;
  private consumer: Consumer | undefined;
  private readonly listeners = new Set<(change: ControlChange) => void>();
  private readonly rejectListeners = new Set<(rejection: ControlRejection) => void>();
  private readonly now: () => number;
  private caughtUp = false;
  rejected = 0;

  constructor(private readonly kafka: Kafka, private readonly topic: string, opts: WriteGateOptions) {
    this.log = new ControlLog(opts.keys);
    this.now = opts.now ?? Date.now;
    if (opts.onReject) this.rejectListeners.add(opts.onReject);
  }

  /** Resolves once the gate has read the control topic up to where it stood at start, whatever it found there. */
  async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const high = await offsetLookup(admin, this.topic, () => admin.fetchTopicOffsets(this.topic)).finally(() => admin.disconnect());
    const behind = new Map(high.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]));
    let caughtUp!: () => void;
    const ready = new Promise<void>((r) => (caughtUp = r));
    const markCaughtUp = () => {
      this.caughtUp = true;
      caughtUp();
    };
    if (behind.size === 0) markCaughtUp();
    const consumer = this.kafka.consumer({ groupId: `auditwatch-gate-${randomUUID()}`, maxWaitTimeInMs: 50 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        // Nothing in here may throw: kafkajs would redeliver the same record for ever and the gate would follow
        // nothing after it. A listener's failure is its own.
        try {
          this.handle(message.key?.toString('utf8'), message.value, { topic, partition, offset: message.offset, timestamp: Number(message.timestamp) }, headersOf(message.headers));
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

  private handle(key: string | undefined, value: Buffer | null, at: { topic: string; partition: number; offset: string; timestamp: number }, headers: Record<string, string>): void {
    const outcome = this.log.apply(key, value, at, headers);
    if (outcome.kind === 'accepted') {
      for (const l of this.listeners) guarded(() => l(outcome.change));
    } else if (outcome.kind === 'rejected') {
      this.rejected++;
      for (const l of this.rejectListeners) guarded(() => l(outcome.rejection));
    }
  }

  /** True once the records that were on the topic at start have been read. */
  get ready(): boolean {
    return this.caughtUp;
  }

  /** The freeze that blocks this write, or null when the write may go ahead. */
  check(environment: string, principal: string, resourceType: string): FreezeCommand | null {
    return this.log.check(environment, principal, resourceType, this.now());
  }

  /** Live freezes (not yet expired). */
  active(): FreezeCommand[] {
    return this.log.active(this.now());
  }

  /** The freeze set on a scope and not lifted, even if its TTL has run out (the executor expires those). */
  live(scopeKey: string): FreezeCommand | null {
    return this.log.live(scopeKey);
  }

  /** The sequence a writer's next record for this scope carries. */
  nextSeq(scopeKey: string): number {
    return this.log.nextSeq(scopeKey);
  }

  onChange(listener: (change: ControlChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onReject(listener: (rejection: ControlRejection) => void): () => void {
    this.rejectListeners.add(listener);
    return () => this.rejectListeners.delete(listener);
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

function guarded(fn: () => void): void {
  try {
    fn();
  } catch {
    // A listener that throws must not stop the gate; it reports its own failures.
  }
}

function headersOf(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (Buffer.isBuffer(v) || typeof v === 'string') out[k] = v.toString();
  }
  return out;
}

export type { FreezeCommand } from './freeze-command.js';
export type { ControlChange, ControlRejection } from './control-log.js';
export { KeyRing, loadKeyRing } from './signing.js';
