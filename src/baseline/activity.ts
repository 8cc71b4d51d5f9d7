import type { AuditEvent } from '../events/audit-event.js';

const MINUTE = 60_000;
/** Reads (List*, Describe*, Get*) counted over this many minutes: an enumeration before a wipe. */
export const READ_MINUTES = 5;
/** Failed calls counted over this many minutes: someone probing what they may do. */
export const FAILURE_MINUTES = 15;

/** Per-minute counts over the last `minutes` minutes of event time, in a few bytes. */
export class MinuteCounts {
  private readonly counts: Uint16Array;
  private head = -Infinity;
  sum = 0;

  constructor(private readonly minutes: number) {
    this.counts = new Uint16Array(minutes);
  }

  add(t: number): void {
    this.advance(t);
    const minute = Math.floor(t / MINUTE);
    if (minute <= this.head - this.minutes) return; // older than the window reaches
    const i = minute % this.minutes;
    if (this.counts[i]! < 0xffff) {
      this.counts[i]!++;
      this.sum++;
    }
  }

  /** The count as of `t`: minutes that slid out of the window no longer count. */
  at(t: number): number {
    this.advance(t);
    return this.sum;
  }

  private advance(t: number): void {
    const minute = Math.floor(t / MINUTE);
    if (minute <= this.head) return;
    const steps = this.head === -Infinity ? this.minutes : Math.min(this.minutes, minute - this.head);
    for (let s = 1; s <= steps; s++) {
      const i = (minute - steps + s) % this.minutes;
      this.sum -= this.counts[i]!;
      this.counts[i] = 0;
    }
    this.head = minute;
  }

  get newest(): number {
    return this.head * MINUTE;
  }
}

export function isEnumeration(e: AuditEvent): boolean {
  return e.verb === 'read';
}

/** What one principal does in one environment, apart from deleting: its reads, its failures. */
export interface PrincipalActivity {
  reads: MinuteCounts;
  failures: MinuteCounts;
}

export function principalKey(principal: string, environment: string): string {
  return `${principal}\u0001${environment}`;
}

/**
 * Recent reads and failures per principal and environment, in event time, for the context of an alert (an
 * enumeration burst or a run of denied calls just before a delete). Principals idle for longer than the longest
 * window are dropped: their counts are zero.
 */
export class ActivityTracker {
  /** Environment → principal → activity: looked up without building a key string for every read. */
  private readonly byEnvironment = new Map<string, Map<string, PrincipalActivity>>();
  private newest = -Infinity;
  private sinceSweep = 0;

  observe(e: AuditEvent): void {
    const read = isEnumeration(e);
    const failed = e.outcome === 'failure';
    if (!read && !failed) return;
    if (e.time > this.newest) this.newest = e.time;
    if (++this.sinceSweep >= 50_000) this.sweep();
    let principals = this.byEnvironment.get(e.environment);
    if (!principals) this.byEnvironment.set(e.environment, (principals = new Map()));
    let a = principals.get(e.principal.id);
    if (!a) principals.set(e.principal.id, (a = { reads: new MinuteCounts(READ_MINUTES), failures: new MinuteCounts(FAILURE_MINUTES) }));
    if (read) a.reads.add(e.time);
    if (failed) a.failures.add(e.time);
  }

  /** Reads in the last READ_MINUTES and failures in the last FAILURE_MINUTES, as of this event. */
  recent(e: AuditEvent): { reads: number; failures: number } {
    const a = this.byEnvironment.get(e.environment)?.get(e.principal.id);
    return a ? { reads: a.reads.at(e.time), failures: a.failures.at(e.time) } : { reads: 0, failures: 0 };
  }

  private sweep(): void {
    this.sinceSweep = 0;
    const horizon = this.newest - FAILURE_MINUTES * MINUTE;
    for (const principals of this.byEnvironment.values()) {
      for (const [id, a] of principals) if (Math.max(a.reads.newest, a.failures.newest) < horizon) principals.delete(id);
    }
  }
}
