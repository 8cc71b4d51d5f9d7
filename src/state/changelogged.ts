/**
 * Per-entity state that can be written to a changelog and read back: detectors and the alert policy implement it,
 * so that a partition's state survives the instance that held it (see src/runtime/partition-state.ts).
 */
export interface Changelogged {
  /** Names this component's entries in the changelog; stable across versions. */
  readonly stateName: string;
  /** Which entries changed since the changelog last took them (off until started: replays keep no dirty sets). */
  readonly changes: ChangeTracker;
  /** One entry as a plain JSON value, or undefined when the entity has no state (the changelog gets a tombstone). */
  entryOf(key: string): unknown;
  /** Every entry held now (for a local snapshot). */
  entries(): Iterable<[string, unknown]>;
  /** Puts back one entry as `entryOf` or `entries` gave it. */
  restoreEntry(key: string, value: unknown): void;
}

/** A component made of several Changelogged parts, each under its own name (bulk-read's two measures). */
export interface ComposedState {
  stateParts(): Changelogged[];
}

/** Dirty-key bookkeeping shared by every Changelogged component. */
export class ChangeTracker {
  private dirty: Set<string> | undefined;

  start(): void {
    this.dirty ??= new Set();
  }

  get pending(): boolean {
    return (this.dirty?.size ?? 0) > 0;
  }

  mark(key: string): void {
    this.dirty?.add(key);
  }

  /** Each changed key with `read(key)` (undefined when gone, written as null), and forgets them. */
  drain(read: (key: string) => unknown): Array<[string, unknown]> {
    if (!this.dirty || this.dirty.size === 0) return [];
    const out: Array<[string, unknown]> = [];
    for (const key of this.dirty) out.push([key, read(key) ?? null]);
    this.dirty.clear();
    return out;
  }
}
