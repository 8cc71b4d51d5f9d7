import type { Kafka } from 'kafkajs';
import { KafkaFollower } from '../sources/kafka/topic-reader.js';
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
 * the compacted control topic from the beginning (a reader in follow mode, src/sources/kafka/topic-reader.ts) and verifies every
 * record (see ControlLog), so it knows every freeze in force; expiry is checked at ask time. No record can stop it:
 * one it refuses is reported and skipped.
 *
 *   import { WriteGate } from 'auditwatch/write-gate';
 */
export class WriteGate {
  private readonly log: ControlLog;
  private readonly follower: KafkaFollower;
  private readonly listeners = new Set<(change: ControlChange) => void>();
  private readonly rejectListeners = new Set<(rejection: ControlRejection) => void>();
  private readonly now: () => number;
  /** Records refused so far, and how many of them only tampering (or a replay) produces. */
  rejected = 0;
  tampered = 0;

  constructor(kafka: Kafka, topic: string, opts: WriteGateOptions) {
    this.follower = new KafkaFollower(kafka, topic, 'auditwatch-gate');
    this.log = new ControlLog(opts.keys);
    this.now = opts.now ?? Date.now;
    if (opts.onReject) this.rejectListeners.add(opts.onReject);
  }

  /** Resolves once the gate has read the control topic up to where it stood at start, whatever it found there. */
  async start(): Promise<void> {
    await this.follower.start((r) => this.handle(r.key?.toString('utf8'), r.value, { topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp }, r.headers));
  }

  private handle(key: string | undefined, value: Buffer | null, at: { topic: string; partition: number; offset: string; timestamp: number }, headers: Record<string, string>): void {
    const outcome = this.log.apply(key, value, at, headers);
    if (outcome.kind === 'accepted') {
      for (const l of this.listeners) guarded(() => l(outcome.change));
    } else if (outcome.kind === 'rejected') {
      this.rejected++;
      if (outcome.rejection.tamper) this.tampered++;
      for (const l of this.rejectListeners) guarded(() => l(outcome.rejection));
    }
  }

  /** True once the records that were on the topic at start have been read. */
  get ready(): boolean {
    return this.follower.caughtUp;
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

  /** Freezes set and not lifted, even if their TTL has run out. */
  liveFreezes(): FreezeCommand[] {
    return this.log.liveFreezes();
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

  async stop(): Promise<void> {
    await this.follower.stop();
  }
}

function guarded(fn: () => void): void {
  try {
    fn();
  } catch {
    // A listener that throws must not stop the gate; it reports its own failures.
  }
}


export type { FreezeCommand } from './freeze-command.js';
export type { ControlChange, ControlRejection } from './control-log.js';
export { KeyRing, loadKeyRing } from './signing.js';
