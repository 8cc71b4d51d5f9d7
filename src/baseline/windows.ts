/**
 * Event-time sliding-window sums for one entity, over several window lengths at once.
 *
 * Each window of length W is a ring of BUCKETS buckets of W/BUCKETS ms, so its sum covers the last W ms to within
 * one bucket. Everything is keyed on event time: the wall clock never enters, so replays give the same sums.
 * An event older than a window's oldest bucket still counts in the longer windows that reach it.
 */
export const BUCKETS = 30;

export interface WindowSetJson {
  counts: number[];
  heads: Array<number | null>;
  sums: number[];
  newest: number | null;
}

/** A bucket epoch's place in its ring; epochs before 1970 are negative, and still land inside it. */
function ringIndex(epoch: number): number {
  const i = epoch % BUCKETS;
  return i < 0 ? i + BUCKETS : i;
}

export class WindowSet {
  /** Whole counts below 2^32 per bucket; `wide` sets hold any safe integer (bytes). */
  private readonly counts: Uint32Array | Float64Array;
  /** Per window: the bucket epoch (floor(t / bucketMs)) of the newest bucket. */
  private readonly heads: Float64Array;
  /**
   * Per window: the head's place in its ring. Epochs are past 2^31, where `%` is a floating-point remainder and
   * costs more than the rest of an add; kept, it is needed only when a window jumps a whole ring.
   */
  private readonly headAt: Int32Array;
  readonly sums: Float64Array;
  /** The latest event time added (for eviction of idle window sets). */
  newestTime = -Infinity;

  constructor(private readonly bucketMs: readonly number[], private readonly wide = false) {
    this.counts = wide ? new Float64Array(bucketMs.length * BUCKETS) : new Uint32Array(bucketMs.length * BUCKETS);
    this.heads = new Float64Array(bucketMs.length).fill(-Infinity);
    this.headAt = new Int32Array(bucketMs.length);
    this.sums = new Float64Array(bucketMs.length);
  }

  /** Plain JSON for the changelog (-Infinity, an empty window's head, is written as null). */
  toJSON(): WindowSetJson {
    return {
      counts: Array.from(this.counts),
      heads: Array.from(this.heads, (h) => (h === -Infinity ? null : h)),
      sums: Array.from(this.sums),
      newest: this.newestTime === -Infinity ? null : this.newestTime,
    };
  }

  static fromJSON(bucketMs: readonly number[], json: WindowSetJson, wide = false): WindowSet {
    const w = new WindowSet(bucketMs, wide);
    if (json.counts.length !== w.counts.length || json.heads.length !== bucketMs.length) {
      throw new Error(`window state has ${json.heads.length} windows, expected ${bucketMs.length}`);
    }
    w.counts.set(json.counts);
    json.heads.forEach((h, i) => {
      w.heads[i] = h ?? -Infinity;
      w.headAt[i] = h === null ? 0 : ringIndex(h);
    });
    w.sums.set(json.sums);
    w.newestTime = json.newest ?? -Infinity;
    return w;
  }

  /** A copy with every count multiplied by `factor` (rounded up, as `weighted` counts): the same windows, weighed. */
  scaled(factor: number): WindowSet {
    const w = new WindowSet(this.bucketMs, this.wide);
    for (let i = 0; i < this.counts.length; i++) w.counts[i] = Math.ceil(this.counts[i]! * factor);
    w.heads.set(this.heads);
    w.headAt.set(this.headAt);
    for (let win = 0; win < this.heads.length; win++) {
      let sum = 0;
      for (let b = 0; b < BUCKETS; b++) sum += w.counts[win * BUCKETS + b]!;
      w.sums[win] = sum;
    }
    w.newestTime = this.newestTime;
    return w;
  }

  static bucketSizes(windowsMs: readonly number[]): number[] {
    return windowsMs.map((w) => Math.max(1, Math.floor(w / BUCKETS)));
  }

  /**
   * Window `w`'s sum as of event time `t`, without advancing it: `sums` holds it as of the last add, and an entity
   * that has been quiet since then still shows what has slid out of its windows.
   */
  sumAsOf(w: number, t: number): number {
    const epoch = Math.floor(t / this.bucketMs[w]!);
    const head = this.heads[w]!;
    if (epoch <= head) return this.sums[w]!;
    if (head === -Infinity || epoch - head >= BUCKETS) return 0;
    let sum = this.sums[w]!;
    const base = w * BUCKETS;
    let at = this.headAt[w]!;
    for (let s = epoch - head; s > 0; s--) {
      at = at === BUCKETS - 1 ? 0 : at + 1;
      sum -= this.counts[base + at]!;
    }
    return sum;
  }

  /** Adds `n` at event time `t` to every window and advances them to `t`. */
  add(t: number, n: number): void {
    if (t > this.newestTime) this.newestTime = t;
    const counts = this.counts;
    for (let w = 0; w < this.bucketMs.length; w++) {
      const epoch = Math.floor(t / this.bucketMs[w]!);
      const base = w * BUCKETS;
      const head = this.heads[w]!;
      let at: number;
      if (epoch > head) {
        // Expire the buckets the window slid past; past a whole window, all of them at once (a sparse entity, the
        // usual case for reads and deletes alike, would otherwise walk every bucket on each event).
        if (head === -Infinity || epoch - head >= BUCKETS) {
          counts.fill(0, base, base + BUCKETS);
          this.sums[w] = 0;
          at = ringIndex(epoch);
        } else {
          // Walk the ring from the bucket after the head to the event's.
          at = this.headAt[w]!;
          let sum = this.sums[w]!;
          for (let s = epoch - head; s > 0; s--) {
            at = at === BUCKETS - 1 ? 0 : at + 1;
            sum -= counts[base + at]!;
            counts[base + at] = 0;
          }
          this.sums[w] = sum;
        }
        this.heads[w] = epoch;
        this.headAt[w] = at;
      } else if (epoch === head) {
        at = this.headAt[w]!;
      } else if (epoch <= head - BUCKETS) {
        continue; // older than this window reaches
      } else {
        at = ringIndex(epoch);
      }
      const idx = base + at;
      counts[idx] = counts[idx]! + n;
      this.sums[w] = this.sums[w]! + n;
    }
  }
}
