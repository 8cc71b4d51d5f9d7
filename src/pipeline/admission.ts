import { decodeRecord, type DecodeContext } from '../decode/index.js';
import { DecodeError } from '../errors.js';
import type { AuditEvent } from '../events/audit-event.js';
import type { DeadLetter } from '../sinks/dead-letter.js';
import type { SourceRecord } from '../sources/source.js';
import { RecentIds } from '../util/recent-ids.js';

/** Events checked against one reading of the clock, at most (a clock stepped back is noticed within these). */
const CLOCK_READS = 1024;

/** No audit log predates 2000. */
const EARLIEST = Date.parse('2000-01-01T00:00:00Z');

export interface AdmissionOptions {
  /** How far ahead of this machine's clock an event may be stamped. */
  maxFutureSkewMs: number;
  /** How many recent event ids to remember to drop redeliveries. */
  dedupeWindow: number;
}

export type Admission = { ok: true } | { ok: false; duplicate: true } | { ok: false; duplicate: false; error: DecodeError };

/** What decides whether a decoded event goes on: EventAdmission in detection, EventTimeBounds before re-keying. */
export interface Admitter {
  admit(e: AuditEvent): Admission;
}

export const ADMITTED = { ok: true } as const;
const DUPLICATE = { ok: false, duplicate: true } as const;

/** What reading a batch left behind: the records to dead-letter, and the events dropped on the way. */
export interface AdmittedBatch {
  dead: DeadLetter[];
  /** Decoded, but deliberately not events (e.g. a Kubernetes RequestReceived stage). */
  ignored: number;
  duplicates: number;
}

/**
 * Each record decoded, and each of its events admitted or not. Admitted events go to `accept` with their record. A
 * record that does not decode, or has an event refused, is dead-lettered with its first reason; its admissible
 * events still go on. Detection and the repartition stage both read their input this way.
 */
export function admitRecords(records: readonly SourceRecord[], ctx: DecodeContext, admitter: Admitter, accept: (e: AuditEvent, record: SourceRecord) => void): AdmittedBatch {
  const batch: AdmittedBatch = { dead: [], ignored: 0, duplicates: 0 };
  for (const record of records) {
    const decoded = decodeRecord(record, ctx);
    if ('error' in decoded) {
      batch.dead.push({ record, error: decoded.error });
      continue;
    }
    batch.ignored += decoded.ignored;
    let rejected: DecodeError | undefined;
    for (const event of decoded.events) {
      const verdict = admitter.admit(event);
      if (verdict.ok) accept(event, record);
      else if (verdict.duplicate) batch.duplicates++;
      else rejected ??= verdict.error;
    }
    if (rejected) batch.dead.push({ record, error: rejected });
  }
  return batch;
}

/**
 * The time bounds alone: an event stamped before 2000, or more than `maxFutureSkewMs` ahead of the machine's clock,
 * is rejected (dead letter). One such event would push its entity's windows into the future and blind them to its
 * real deletes. This is the one place the wall clock is read, and only to refuse bad input: no legitimate event lies
 * in the future, so live runs and replays admit the same legitimate events, and detection stays on event time.
 * Per-partition watermarks were rejected for this job: a quiet topic that resumes after a gap, or partitions read at
 * different paces, would be refused. The repartition stage checks these bounds, so that a rejected record is
 * dead-lettered as it came.
 */
export class EventTimeBounds implements Admitter {
  /** The clock as last read, and how many more events may be checked against it before it is read again. */
  private clock = -Infinity;
  private readsLeft = 0;

  constructor(private readonly maxFutureSkewMs: number, private readonly now: () => number = Date.now) {}

  admit(e: AuditEvent): Admission {
    if (!(e.time >= EARLIEST)) {
      return rejected(`event ${e.id}: event time ${Number.isFinite(e.time) ? new Date(e.time).toISOString() : e.time} is before 2000`);
    }
    // The clock is read for an event past the bound as last read, and otherwise once every CLOCK_READS events rather
    // than for each: it only moves forward, so an event within the older bound is within the current one.
    if (e.time > this.clock + this.maxFutureSkewMs || --this.readsLeft < 0) {
      this.clock = this.now();
      this.readsLeft = CLOCK_READS;
    }
    if (e.time > this.clock + this.maxFutureSkewMs) {
      return rejected(`event ${e.id}: event time ${new Date(e.time).toISOString()} is more than ${this.maxFutureSkewMs} ms in the future`);
    }
    return ADMITTED;
  }
}

function rejected(message: string): Admission {
  return { ok: false, duplicate: false, error: new DecodeError('DECODE_BAD_FIELD', message) };
}

/**
 * Input validation between decode and detection: the time bounds, then redeliveries. An id seen among the last
 * `dedupeWindow` events is a redelivery (at-least-once upstream), counted and dropped so that it does not count
 * twice in the windows.
 */
export class EventAdmission implements Admitter {
  private readonly recent: RecentIds;
  private readonly bounds: EventTimeBounds;

  constructor(opts: AdmissionOptions, now: () => number = Date.now) {
    this.bounds = new EventTimeBounds(opts.maxFutureSkewMs, now);
    this.recent = new RecentIds(opts.dedupeWindow);
  }

  admit(e: AuditEvent): Admission {
    const inBounds = this.bounds.admit(e);
    if (!inBounds.ok) return inBounds;
    return this.recent.add(e.id) ? ADMITTED : DUPLICATE;
  }
}
