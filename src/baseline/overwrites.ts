import type { AuditEvent } from '../events/audit-event.js';
import { fnv1a } from '../util/hash.js';

/** What the detectors see a PutObject as when its principal had just read the same object. */
export const OVERWRITE = 'PutObject:Overwrite';

/** How long a read is remembered: long enough for a client to fetch, encrypt and write back a large object. */
export const OVERWRITE_WITHIN_MS = 600_000;

/** Reads remembered per detection task (2 MB of tables): a newer read of another object may take an older's slot. */
const SLOTS = 1 << 17;

/**
 * Read, then written back. CloudTrail does not say whether a PutObject replaced an object, but an object its own
 * principal read a few minutes before is there: writing it back is an overwrite in place. Ransomware that encrypts on
 * the client does exactly that, object by object, with no Delete and no SSE-C header; so does a job that updates
 * objects routinely, which its learned baseline then covers. A blind overwrite (a key learned from a listing, never
 * read) is not seen.
 *
 * Reads are most of the stream, so each costs a hash and three stores into fixed tables, not an entry in a map: an
 * object's slot holds the last read that hashed there (its 32-bit hash as the tag, the principal, the time), and a
 * newer read can take an older one's slot. Remembered in event time, per detection task (events are keyed by
 * principal, so a principal's read and write meet in one task), and not in the changelog: a task restored elsewhere
 * starts with none, and an overwrite of an object read before the move is not counted.
 */
export class ReadThenWrite {
  private readonly tags: Uint32Array;
  private readonly times: Float64Array;
  private readonly readers: Array<string | undefined>;

  constructor(private readonly withinMs = OVERWRITE_WITHIN_MS, private readonly slots = SLOTS) {
    this.tags = new Uint32Array(slots);
    this.times = new Float64Array(slots);
    this.readers = new Array<string | undefined>(slots).fill(undefined);
  }

  /** The event as detection sees it: a PutObject of an object its principal read within `withinMs` is OVERWRITE. */
  qualify(e: AuditEvent): AuditEvent {
    if (e.resource.type !== 's3:object' || e.outcome !== 'success') return e;
    const reading = e.action === 'GetObject';
    if (!reading && e.action !== 'PutObject') return e;
    // The object's slot and its tag, without a Map entry per read.
    const hash = fnv1a(e.resource.id);
    const slot = hash & (this.slots - 1);
    if (reading) {
      // An object id without a key is a bucket: nothing to overwrite in place.
      if (e.resource.id.includes('/')) {
        this.tags[slot] = hash;
        this.times[slot] = e.time;
        this.readers[slot] = e.principal.id;
      }
      return e;
    }
    const read = this.times[slot]!;
    if (this.readers[slot] !== e.principal.id || this.tags[slot] !== hash || e.time < read || e.time - read > this.withinMs) return e;
    // Once: writing the same object again is not a second object destroyed.
    this.readers[slot] = undefined;
    return { ...e, action: OVERWRITE };
  }
}
