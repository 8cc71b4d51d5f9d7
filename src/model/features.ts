import { destructiveObjects, entityKeyOf } from '../baseline/entity.js';
import type { BaselineModel } from '../baseline/model.js';
import { WindowSet, type WindowSetJson } from '../baseline/windows.js';
import { ChangeTracker, type Changelogged } from '../state/changelogged.js';
import type { AuditEvent } from '../events/audit-event.js';
import { BoundedSet } from '../util/bounded-set.js';
import type { Criticality } from '../baseline/criticality.js';
import { utcWeekday } from '../util/time.js';

/** Bumped whenever a feature is added, removed or changed: a model trained on another version is refused. */
export const FEATURE_SPEC_VERSION = 1;
export const FEATURES = [
  'log_objects', 'log_1m', 'log_10m', 'log_1h', 'log_1d', 'hour_sin', 'hour_cos', 'weekend', 'human', 'critical_env', 'log_criticality', 'has_history',
] as const;
const WINDOWS = [60_000, 600_000, 3_600_000, 86_400_000];

/**
 * One vector per successful destructive event, from the event and the entity's own recent deletes. Training and
 * scoring run this same code over events in order, so the vectors mean the same thing in both.
 */
export class FeatureExtractor implements Changelogged {
  readonly stateName = 'features';
  readonly changes = new ChangeTracker();
  private readonly windows = new Map<string, WindowSet>();
  private readonly bucketMs = WindowSet.bucketSizes(WINDOWS);
  /** Entities that deleted something before this event: seeded from the baselines when detecting, empty in training. */
  private readonly deletedBefore = new BoundedSet<string>(2_000_000);
  private newest = -Infinity;
  private sinceSweep = 0;

  constructor(baselines: BaselineModel | undefined, private readonly criticalEnvironments: readonly string[], private readonly criticality: Criticality) {
    for (const [key, entity] of Object.entries(baselines?.entities ?? {})) if (entity.destructiveEvents) this.deletedBefore.add(key);
  }

  /** The feature vector for this event, or null when it deletes nothing. */
  extract(e: AuditEvent): Float32Array | null {
    const objects = destructiveObjects(e);
    if (objects === 0) return null;
    const key = entityKeyOf(e);
    if (e.time > this.newest) this.newest = e.time;
    if (++this.sinceSweep >= 50_000) this.sweep();
    let w = this.windows.get(key);
    if (!w) this.windows.set(key, (w = new WindowSet(this.bucketMs)));
    w.add(e.time, objects);
    this.changes.mark(key);
    const hour = Math.floor((e.time % 86_400_000) / 60_000) / 60; // UTC hour to the minute, as the model was trained
    const weekday = utcWeekday(e.time);
    const weight = this.criticality.weight(e.resource.type);
    return Float32Array.from([
      Math.log1p(objects), Math.log1p(w.sums[0]!), Math.log1p(w.sums[1]!), Math.log1p(w.sums[2]!), Math.log1p(w.sums[3]!),
      Math.sin((2 * Math.PI * hour) / 24), Math.cos((2 * Math.PI * hour) / 24), weekday === 0 || weekday === 6 ? 1 : 0,
      e.principal.kind === 'human' ? 1 : 0, this.criticalEnvironments.includes(e.environment) ? 1 : 0, Math.log(weight),
      this.seen(key),
    ]);
  }

  private seen(key: string): number {
    const before = this.deletedBefore.has(key) ? 1 : 0;
    this.deletedBefore.add(key);
    return before;
  }

  /** An entity idle for longer than the longest window has all-zero windows: dropping it loses nothing. */
  private sweep(): void {
    this.sinceSweep = 0;
    const horizon = this.newest - WINDOWS[WINDOWS.length - 1]!;
    for (const [key, w] of this.windows) if (w.newestTime < horizon) {
      this.windows.delete(key);
      this.changes.mark(key);
    }
  }



  entryOf(key: string): { windows: WindowSetJson | null } | undefined {
    const w = this.windows.get(key);
    return w ? { windows: w.toJSON() } : this.deletedBefore.has(key) ? { windows: null } : undefined;
  }

  /** Entities with live windows. (One that deleted only more than a day ago is in the changelog, not here.) */
  *entries(): Iterable<[string, unknown]> {
    for (const [key, w] of this.windows) yield [key, { windows: w.toJSON() }];
  }

  restoreEntry(key: string, value: unknown): void {
    const { windows } = value as { windows: WindowSetJson | null };
    this.deletedBefore.add(key);
    if (windows) {
      const w = WindowSet.fromJSON(this.bucketMs, windows);
      this.windows.set(key, w);
      if (w.newestTime > this.newest) this.newest = w.newestTime;
    }
  }

  tracked(): number {
    return this.windows.size;
  }
}
