import { destructiveObjects, entityKeyOf } from '../baseline/entity.js';
import { populationKey, type BaselineModel, type EntityBaseline, type PopulationBaseline } from '../baseline/model.js';
import { WindowSet, type WindowSetJson } from '../baseline/windows.js';
import { ChangeTracker, type Changelogged } from '../state/changelogged.js';
import type { BulkDeleteSpec, ThresholdOverride } from '../config/schema.js';
import { AuditwatchError } from '../errors.js';
import type { AuditEvent, PrincipalKind } from '../events/audit-event.js';
import { formatDuration } from '../util/duration.js';
import { globToRegExp } from '../util/glob.js';
import { utcHour } from '../util/time.js';
import type { Criticality } from '../baseline/criticality.js';
import type { Detector, Finding, Reconfigurable, Severity } from './detector.js';

interface Thresholds {
  tolerance: number;
  /** minObjects for this entity, already divided by its resource type's criticality weight. */
  minObjects: number;
  criticalScore: number;
  weight: number;
}

const UNSET_THRESHOLDS: Thresholds = { tolerance: Infinity, minObjects: Infinity, criticalScore: Infinity, weight: 1 };

/** What an entity is compared with: its own history, else its peers', else everyone's who deleted the type there. */
interface Comparison {
  /** The principal kind the peers were chosen by (an event of another kind looks them up again). */
  kind: PrincipalKind;
  own: EntityBaseline | undefined;
  peers: PopulationBaseline | undefined;
  population: PopulationBaseline | undefined;
}

interface EntityState {
  windows: WindowSet;
  thresholds: Thresholds;
  /** Looked up in the model at the entity's first delete since it was created or restored, not at every one. */
  comparison?: Comparison;
  /** The spec version `thresholds` was computed for; a hot reload bumps it. */
  version: number;
  runStart: number;
  lastDestructive: number;
  runEvents: number;
  runObjects: number;
}

/** One entity's state as the changelog holds it; thresholds are recomputed from the config when it returns. */
interface EntityJson {
  windows: WindowSetJson;
  runStart: number;
  lastDestructive: number;
  runEvents: number;
  runObjects: number;
}

export interface BulkDeleteOptions {
  spec: BulkDeleteSpec;
  model: BaselineModel;
  criticalEnvironments: readonly string[];
  /** Shared with the other detectors; this detector's spec owns the table and replaces it on reload. */
  criticality: Criticality;
  /** A pause in deletes longer than this ends a run (the same gap that ends an incident). */
  runGapMs: number;
}

/**
 * Destructive volume per entity over several sliding windows, checked on every delete against the entity's
 * learned peak (or, with no history, the population peak of its environment and resource type).
 */
export class BulkDeleteDetector implements Detector, Reconfigurable<BulkDeleteSpec>, Changelogged {
  readonly name = 'bulk-delete';
  readonly stateName = 'bulk-delete';
  readonly changes = new ChangeTracker();
  private readonly state = new Map<string, EntityState>();
  private readonly bucketMs: number[];
  private readonly windowIndex: number[];
  private version = 0;
  private newest = -Infinity;
  private sinceSweep = 0;
  private evicted = 0;
  private overrides: Array<ThresholdOverride & { typeRe?: RegExp; principalRe?: RegExp }> = [];

  constructor(private readonly opts: BulkDeleteOptions) {
    const { spec, model } = opts;
    this.compileOverrides(spec);
    // Windows must be ones the model learned; their positions in the model may differ from the config's order.
    this.windowIndex = spec.windows.map((w) => {
      const i = model.windowsMs.indexOf(w);
      if (i < 0) {
        throw new AuditwatchError('MODEL_INVALID',
          `model: window ${formatDuration(w)} in detectors[bulk-delete].windows was not learned (model has ${model.windowsMs.map(formatDuration).join(', ')}); retrain`);
      }
      return i;
    });
    this.bucketMs = WindowSet.bucketSizes(spec.windows);
  }

  private compileOverrides(spec: BulkDeleteSpec): void {
    this.opts.criticality.replace(spec.criticality);
    this.overrides = spec.overrides.map((o) => ({
      ...o,
      typeRe: o.resourceType ? globToRegExp(o.resourceType) : undefined,
      principalRe: o.principal ? new RegExp(o.principal) : undefined,
    }));
  }

  /** New thresholds, overrides and critical environments from a reloaded config, keeping every entity's windows. */
  checkReconfigure(spec: BulkDeleteSpec): string | null {
    const old = this.opts.spec.windows;
    if (spec.windows.length !== old.length || spec.windows.some((w, i) => w !== old[i])) {
      return 'detectors.bulk-delete.windows changed: windows are what the model learned; retrain and restart to change them';
    }
    return null;
  }

  reconfigure(spec: BulkDeleteSpec, criticalEnvironments: readonly string[]): void {
    this.opts.spec = spec;
    this.opts.criticalEnvironments = criticalEnvironments;
    this.compileOverrides(spec);
    this.version++;
  }

  private thresholdsFor(e: AuditEvent): Thresholds {
    const { tolerance, minObjects, criticalScore } = this.opts.spec;
    const weight = this.opts.criticality.weight(e.resource.type);
    const t: Thresholds = { tolerance, minObjects, criticalScore, weight };
    for (const o of this.overrides) {
      if (o.environment !== undefined && o.environment !== e.environment) continue;
      if (o.typeRe && !o.typeRe.test(e.resource.type)) continue;
      if (o.principalRe && !o.principalRe.test(e.principal.id)) continue;
      if (o.tolerance !== undefined) t.tolerance = o.tolerance;
      if (o.minObjects !== undefined) t.minObjects = o.minObjects;
      if (o.criticalScore !== undefined) t.criticalScore = o.criticalScore;
    }
    t.minObjects /= weight;
    return t;
  }




  entryOf(key: string): EntityJson | undefined {
    const s = this.state.get(key);
    return s && this.toJSON(s);
  }

  *entries(): Iterable<[string, unknown]> {
    for (const [key, s] of this.state) yield [key, this.toJSON(s)];
  }

  private toJSON(s: EntityState): EntityJson {
    return { windows: s.windows.toJSON(), runStart: s.runStart, lastDestructive: s.lastDestructive, runEvents: s.runEvents, runObjects: s.runObjects };
  }

  restoreEntry(key: string, value: unknown): void {
    const v = value as EntityJson;
    // Version -1 never matches: the thresholds are computed from the running config at the entity's next delete.
    this.state.set(key, {
      windows: WindowSet.fromJSON(this.bucketMs, v.windows), thresholds: UNSET_THRESHOLDS, version: -1,
      runStart: v.runStart, lastDestructive: v.lastDestructive, runEvents: v.runEvents, runObjects: v.runObjects,
    });
    if (v.lastDestructive > this.newest) this.newest = v.lastDestructive;
  }

  stats(): { tracked: number; evicted: number } {
    return { tracked: this.state.size, evicted: this.evicted };
  }

  /**
   * Keeps memory bounded. An entity whose last delete is older than the longest window plus the run gap has empty
   * windows and a finished run, so dropping it loses nothing. Past `maxEntities` the least recently created go too
   * (their state is lost: counted in auditwatch_entities_evicted_total).
   */
  private sweep(): void {
    const horizon = this.newest - Math.max(...this.opts.spec.windows) - this.opts.runGapMs;
    for (const [key, s] of this.state) if (s.lastDestructive < horizon) {
      this.state.delete(key);
      this.changes.mark(key);
      this.evicted++;
    }
    // Room for the entity about to be added, too.
    const over = this.state.size - this.opts.spec.maxEntities + 1;
    if (over > 0) {
      let n = 0;
      for (const key of this.state.keys()) {
        if (n++ >= over) break;
        this.state.delete(key);
        this.evicted++;
      }
    }
  }

  observe(e: AuditEvent): Finding | null {
    const objects = destructiveObjects(e);
    if (objects === 0) return null;
    if (e.time > this.newest) this.newest = e.time;
    if (++this.sinceSweep >= 50_000 || this.state.size >= this.opts.spec.maxEntities) {
      this.sinceSweep = 0;
      this.sweep();
    }
    const key = entityKeyOf(e);
    let s = this.state.get(key);
    if (!s) {
      s = { windows: new WindowSet(this.bucketMs), thresholds: this.thresholdsFor(e), version: this.version, runStart: e.time, lastDestructive: e.time, runEvents: 0, runObjects: 0 };
      this.state.set(key, s);
    } else if (s.version !== this.version) {
      s.thresholds = this.thresholdsFor(e);
      s.version = this.version;
    }
    if (e.time - s.lastDestructive > this.opts.runGapMs) {
      s.runStart = e.time;
      s.runEvents = 0;
      s.runObjects = 0;
    }
    s.lastDestructive = Math.max(s.lastDestructive, e.time);
    s.runEvents++;
    s.runObjects += objects;
    s.windows.add(e.time, objects);
    this.changes.mark(key);
    return this.score(e, key, s);
  }

  private score(e: AuditEvent, key: string, s: EntityState): Finding | null {
    const { spec, model } = this.opts;
    const { tolerance, minObjects, criticalScore, weight } = s.thresholds;
    let comparison = s.comparison;
    if (comparison?.kind !== e.principal.kind) {
      const peerGroup = model.population[populationKey(e.environment, e.resource.type, e.principal.kind)];
      s.comparison = comparison = {
        kind: e.principal.kind, own: model.entities[key], peers: peerGroup, population: peerGroup ?? model.population[populationKey(e.environment, e.resource.type)],
      };
    }
    const { own, peers, population } = comparison;
    let best = -1;
    let bestScore = 0;
    let bestThreshold = 0;
    let bestExpected = 0;
    const hour = utcHour(e.time);
    for (let w = 0; w < spec.windows.length; w++) {
      const m = this.windowIndex[w]!;
      // Seasonal: this hour's peak and its neighbours' (a job at 01:00 may start at 00:58 or run past 02:00).
      const expected = own
        ? own.hourly
          ? Math.max(own.hourly[m]![(hour + 23) % 24]!, own.hourly[m]![hour]!, own.hourly[m]![(hour + 1) % 24]!)
          : own.peaks[m]!
        : population?.peaks[m] ?? 0;
      const threshold = Math.max(expected * tolerance, minObjects);
      const score = s.windows.sums[w]! / threshold;
      if (score > bestScore) {
        best = w;
        bestScore = score;
        bestThreshold = threshold;
        bestExpected = expected;
      }
    }
    if (best < 0 || bestScore < 1) return null;
    const critical = bestScore >= criticalScore && this.opts.criticalEnvironments.includes(e.environment);
    const severity: Severity = critical ? 'critical' : 'warning';
    const window = formatDuration(spec.windows[best]!);
    const observed = s.windows.sums[best]!;
    const baseline = own
      ? own.hourly
        ? `this principal's learned peak here around ${String(hour).padStart(2, '0')}:00 UTC is ${bestExpected} per ${window} (its peak at any hour is ${own.peaks[this.windowIndex[best]!]})`
        : `this principal's learned peak here is ${bestExpected} per ${window}`
      : population
        ? `no history for this principal on ${e.resource.type} in ${e.environment}; ${peers ? `other ${e.principal.kind} principals'` : 'others\''} peak there is ${bestExpected} per ${window} (p${Math.round(model.populationQuantile * 100)} of ${population.entities} entities)`
        : `no history for this principal on ${e.resource.type} in ${e.environment}, and nobody deleted ${e.resource.type} there in the training history`;
    return {
      detector: this.name,
      entityKey: key,
      event: e,
      score: Math.round(bestScore * 100) / 100,
      severity,
      windowMs: spec.windows[best]!,
      reason: `${observed} ${e.resource.type} objects deleted in ${window} by ${e.principal.id} in ${e.environment}; ${baseline}; ` +
        `threshold ${Math.round(bestThreshold * 10) / 10} (peak × ${tolerance}, at least ${+minObjects.toFixed(2)}${weight !== 1 ? `: ${e.resource.type} has criticality ${weight}` : ''})`,
      firstEventTime: s.runStart,
      eventCount: s.runEvents,
      objectCount: s.runObjects,
    };
  }
}
