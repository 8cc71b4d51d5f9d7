import { DecodeError } from '../errors.js';
import type { AuditEvent } from '../events/audit-event.js';

/** No audit log predates 2000. */
const EARLIEST = Date.parse('2000-01-01T00:00:00Z');

export interface AdmissionOptions {
  /** How far ahead of this machine's clock an event may be stamped. */
  maxFutureSkewMs: number;
  /** How many recent event ids to remember to drop redeliveries. */
  dedupeWindow: number;
}

export type Admission = { ok: true } | { ok: false; duplicate: true } | { ok: false; duplicate: false; error: DecodeError };

/**
 * Input validation between decode and detection.
 * - An event stamped before 2000, or more than `maxFutureSkewMs` ahead of the machine's clock, is rejected (dead
 *   letter): one such event would push its entity's windows into the future and blind them to its real deletes.
 *   This is the one place the wall clock is read, and only to refuse bad input. No legitimate event lies in the
 *   future, so live runs and replays admit the same legitimate events; detection stays on event time.
 *   Per-partition watermarks were rejected for this job: a quiet topic that resumes after a gap, or partitions
 *   read at different paces, would be refused.
 * - An id seen among the last `dedupeWindow` events is a redelivery (at-least-once upstream), counted and dropped
 *   so that it does not count twice in the windows.
 */
/** The time bounds alone: the repartition stage checks them, so a rejected record is dead-lettered as it came. */
export class EventTimeBounds {
  constructor(private readonly maxFutureSkewMs: number, private readonly now: () => number = Date.now) {}

  check(e: AuditEvent): DecodeError | null {
    if (!(e.time >= EARLIEST)) {
      return new DecodeError('DECODE_BAD_FIELD', `event ${e.id}: event time ${Number.isFinite(e.time) ? new Date(e.time).toISOString() : e.time} is before 2000`);
    }
    if (e.time > this.now() + this.maxFutureSkewMs) {
      return new DecodeError('DECODE_BAD_FIELD', `event ${e.id}: event time ${new Date(e.time).toISOString()} is more than ${this.maxFutureSkewMs} ms in the future`);
    }
    return null;
  }
}

export class EventAdmission {
  private readonly recent = new Set<string>();
  private readonly order: string[] = [];
  private next = 0;
  private readonly bounds: EventTimeBounds;

  constructor(private readonly opts: AdmissionOptions, now: () => number = Date.now) {
    this.bounds = new EventTimeBounds(opts.maxFutureSkewMs, now);
  }

  admit(e: AuditEvent): Admission {
    const error = this.bounds.check(e);
    if (error) return { ok: false, duplicate: false, error };
    if (this.recent.has(e.id)) return { ok: false, duplicate: true };
    if (this.order.length < this.opts.dedupeWindow) this.order.push(e.id);
    else {
      this.recent.delete(this.order[this.next]!);
      this.order[this.next] = e.id;
      this.next = (this.next + 1) % this.opts.dedupeWindow;
    }
    this.recent.add(e.id);
    return { ok: true };
  }
}
