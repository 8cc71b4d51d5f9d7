import type { AuditEvent } from '../events/audit-event.js';
import { aggregateKeys, ANY, dataReadObjects, destructiveObjects, entityKeyOf, isProtectionOff, splitEntityKey, weighted } from './entity.js';
import { emptyModel, MIN_PEERS, MIN_SEASONAL_DAYS, populationKey, type BaselineModel, type EntityBaseline, type PopulationBaseline, type PrincipalBaseline } from './model.js';
import { FAILURE_MINUTES, isEnumeration, MinuteCounts, principalKey, READ_MINUTES } from './activity.js';
import { WindowSet } from './windows.js';
import { utcHour } from '../util/time.js';

/** Lower quantile of sorted values: never above an observed value, so one outlier entity cannot set it. */
function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

/**
 * Peaks of one measure (destroyed objects, or data read) per entity, over every window, all day and per hour of the
 * day, with the window code detection runs.
 */
class PeakLearner {
  private readonly windows = new Map<string, WindowSet>();
  readonly entities = new Map<string, EntityBaseline>();
  /** Principal kind per entity, as first seen: for the peer groups. */
  readonly kinds = new Map<string, string>();

  /** `wide`: counts past 2^32 per bucket (bytes). */
  constructor(private readonly windowsMs: number[], private readonly bucketMs: number[], private readonly wide = false) {}

  /** The entity's baseline, made on first sight (`events` counts every event of it, not only this measure's). */
  entity(key: string, kind: string): EntityBaseline {
    let entity = this.entities.get(key);
    if (!entity) {
      entity = { peaks: this.windowsMs.map(() => 0), events: 0, destructiveEvents: 0 };
      this.entities.set(key, entity);
      this.kinds.set(key, kind);
    }
    return entity;
  }

  add(key: string, kind: string, t: number, n: number): void {
    const entity = this.entity(key, kind);
    entity.destructiveEvents++;
    let w = this.windows.get(key);
    if (!w) {
      w = new WindowSet(this.bucketMs, this.wide);
      this.windows.set(key, w);
    }
    w.add(t, n);
    const hour = utcHour(t);
    entity.hourly ??= this.windowsMs.map(() => new Array<number>(24).fill(0));
    for (let i = 0; i < entity.peaks.length; i++) {
      if (w.sums[i]! > entity.peaks[i]!) entity.peaks[i] = w.sums[i]!;
      if (w.sums[i]! > entity.hourly[i]![hour]!) entity.hourly[i]![hour] = w.sums[i]!;
    }
  }

  /**
   * Entities (hourly peaks kept only from a seasonal history) and the populations an entity with no history is
   * compared with: per environment and resource type, everyone and each principal kind. Aggregates across
   * principals are their own population and join none.
   */
  result(seasonal: boolean, quantileOf: number): { entities: Record<string, EntityBaseline>; population: Record<string, PopulationBaseline> } {
    const entities: Record<string, EntityBaseline> = {};
    const population: Record<string, PopulationBaseline> = {};
    const byPopulation = new Map<string, EntityBaseline[]>();
    for (const [key, entity] of this.entities) {
      entities[key] = seasonal || !entity.hourly ? entity : { ...entity, hourly: undefined };
      if (entity.destructiveEvents === 0) continue;
      const { principal, environment, resourceType } = splitEntityKey(key);
      if (principal === ANY) continue;
      for (const pk of [populationKey(environment, resourceType), populationKey(environment, resourceType, this.kinds.get(key))]) {
        const list = byPopulation.get(pk);
        if (list) list.push(entity);
        else byPopulation.set(pk, [entity]);
      }
    }
    for (const [pk, list] of [...byPopulation].sort(([a], [b]) => (a < b ? -1 : 1))) {
      // A peer group of one or two is that entity itself, not a norm.
      if (pk.split('\u0001').length === 3 && list.length < MIN_PEERS) continue;
      population[pk] = {
        entities: list.length,
        peaks: this.windowsMs.map((_, i) => quantile(list.map((e) => e.peaks[i]!).sort((a, b) => a - b), quantileOf)),
      };
    }
    return { entities, population };
  }
}

/**
 * Learns per-entity peaks from history with the same window code detection runs, so what is "normal" is measured
 * exactly the way live traffic will be.
 */
export class BaselineLearner {
  /** Destroyed objects: every entity seen (for its event count), with peaks where it destroyed, and the aggregates. */
  private readonly destroyed: PeakLearner;
  private readonly reads: PeakLearner;
  private readonly readBytes: PeakLearner;
  private readonly principals = new Map<string, PrincipalBaseline & { reads: MinuteCounts; failures: MinuteCounts }>();
  private eventCount = 0;
  private from = Infinity;
  private to = -Infinity;

  /** `weight`: the criticality of a resource type, by which a principal's destruction across types is weighed. */
  constructor(private readonly windowsMs: number[], private readonly populationQuantile: number, private readonly weight: (resourceType: string) => number = () => 1) {
    const bucketMs = WindowSet.bucketSizes(windowsMs);
    this.destroyed = new PeakLearner(windowsMs, bucketMs);
    this.reads = new PeakLearner(windowsMs, bucketMs);
    this.readBytes = new PeakLearner(windowsMs, bucketMs, true);
  }

  observe(e: AuditEvent): void {
    this.eventCount++;
    if (e.time < this.from) this.from = e.time;
    if (e.time > this.to) this.to = e.time;
    this.observePrincipal(e);
    const key = entityKeyOf(e);
    const kind = e.principal.kind;
    const entity = this.destroyed.entity(key, kind);
    entity.events++;
    if (isProtectionOff(e.action) && e.outcome === 'success') entity.protectionsOff = (entity.protectionsOff ?? 0) + 1;
    const objects = destructiveObjects(e);
    if (objects > 0) {
      this.destroyed.add(key, kind, e.time, objects);
      const [acrossTypes, acrossPrincipals] = aggregateKeys(e);
      this.destroyed.add(acrossTypes, kind, e.time, weighted(objects, this.weight(e.resource.type)));
      this.destroyed.add(acrossPrincipals, 'unknown', e.time, objects);
      return;
    }
    const read = dataReadObjects(e);
    if (read === 0) return;
    this.reads.add(key, kind, e.time, read);
    // A data read, so its bytes count where the record gives them (dataReadBytes, without asking again).
    if (e.bytesOut) this.readBytes.add(key, kind, e.time, e.bytesOut);
  }

  /** Its hours, and its read and failure peaks, measured with the counters detection uses for an alert's context. */
  private observePrincipal(e: AuditEvent): void {
    const key = principalKey(e.principal.id, e.environment);
    let p = this.principals.get(key);
    if (!p) this.principals.set(key, (p = { hours: 0, readPeak: 0, failurePeak: 0, reads: new MinuteCounts(READ_MINUTES), failures: new MinuteCounts(FAILURE_MINUTES) }));
    p.hours |= 1 << utcHour(e.time);
    if (isEnumeration(e)) {
      p.reads.add(e.time);
      p.readPeak = Math.max(p.readPeak, p.reads.sum);
    }
    if (e.outcome === 'failure') {
      p.failures.add(e.time);
      p.failurePeak = Math.max(p.failurePeak, p.failures.sum);
    }
  }

  model(): BaselineModel {
    const model = emptyModel(this.windowsMs, this.populationQuantile);
    model.eventCount = this.eventCount;
    model.timeRange = this.eventCount ? { from: this.from, to: this.to } : null;
    model.principals = {};
    for (const [key, { hours, readPeak, failurePeak }] of this.principals) model.principals[key] = { hours, readPeak, failurePeak };
    // Per-hour peaks are only as good as the days behind them: with too short a history, keep the all-day peaks.
    const seasonal = this.eventCount > 0 && this.to - this.from >= MIN_SEASONAL_DAYS * 86_400_000;
    // Populations are per environment and resource type: deleting databases is not compared with deleting cache
    // entries, and a type nobody deleted in an environment has no population (an expected peak of zero).
    const destroyed = this.destroyed.result(seasonal, this.populationQuantile);
    model.entities = destroyed.entities;
    model.population = destroyed.population;
    model.reads = this.reads.result(seasonal, this.populationQuantile);
    model.readBytes = this.readBytes.result(seasonal, this.populationQuantile);
    return model;
  }
}
