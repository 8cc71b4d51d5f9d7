/**
 * A Set that keeps at most `max` members: past that it drops the older half (insertion order). For memory that
 * must stay bounded under a flood of new keys, where forgetting an old key costs little (it may be reported again).
 */
export class BoundedSet<T> {
  private set = new Set<T>();

  constructor(private readonly max: number) {}

  has(v: T): boolean {
    return this.set.has(v);
  }

  add(v: T): void {
    if (this.set.size >= this.max) this.set = new Set([...this.set].slice(Math.floor(this.max / 2)));
    this.set.add(v);
  }

  values(): IterableIterator<T> {
    return this.set.values();
  }

  get size(): number {
    return this.set.size;
  }
}
