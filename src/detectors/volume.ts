import { aggregateKeys, ANY, dataReadBytes, dataReadObjects, destructiveObjects, entityKey, entityKeyOf, splitEntityKey, weighted } from '../baseline/entity.js';
import { populationKey, type BaselineModel, type EntityBaseline, type PopulationBaseline } from '../baseline/model.js';
import { WindowSet, type WindowSetJson } from '../baseline/windows.js';
import { ChangeTracker, type Changelogged } from '../state/changelogged.js';
import type { BulkDeleteSpec, BulkReadSpec, ThresholdOverride } from '../config/schema.js';
import { AuditwatchError } from '../errors.js';
import type { AuditEvent, PrincipalKind } from '../events/audit-event.js';
import { formatBytes } from '../util/bytes.js';
import { formatDuration } from '../util/duration.js';
import { globToRegExp } from '../util/glob.js';
import { utcHour } from '../util/time.js';
import type { Criticality } from '../baseline/criticality.js';
import { SEVERITY_RANK, type Detector, type Finding, type Reconfigurable, type Severity } from './detector.js';

const ANY_PRINCIPAL = `${ANY}\u0001`;

/**
 * A principal destroying this many resource types in one run that it never destroyed in that environment in the
 * training history is tearing down more than its job: its across-types finding is critical as soon as it crosses.
 */
export const NEW_TYPES = 3;

/** A reloaded spec: bulk-read's has no windows of its own (it keeps bulk-delete's). */
type ReloadedSpec = BulkDeleteSpec | BulkReadSpec;

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
  /**
   * Aggregates only: the entity that holds most of its volume, and the weight its objects count with here. An
   * aggregate speaks for spread destruction, not for one entity whose own thresholds already judge it.
   */
  leader?: string;
  leaderScale?: number;
  /** A principal across types: the resource types of this run it never destroyed here in training (see NEW_TYPES). */
  newTypes?: Set<string>;
}

/** One entity's state as the changelog holds it; thresholds are recomputed from the config when it returns. */
interface EntityJson {
  windows: WindowSetJson;
  runStart: number;
  lastDestructive: number;
  runEvents: number;
  runObjects: number;
  newTypes?: string[];
}

/** The settings both volume detectors share; bulk-read takes its windows from bulk-delete's (what the model learned). */
type VolumeSpec = Pick<BulkDeleteSpec, 'windows' | 'tolerance' | 'minObjects' | 'criticalScore' | 'maxEntities' | 'overrides'>;

/** What a volume detector counts, and against which learned baselines. */
export interface VolumeMeasure {
  /** The detector its findings name. */
  readonly name: 'bulk-delete' | 'bulk-read';
  /** Its entries in the changelog. */
  readonly stateName: string;
  /** The event's volume: destroyed objects, objects read or bytes read; 0 when the event is none of this measure's business. */
  objects(e: AuditEvent): number;
  /** Whether the event also counts towards the aggregates (a principal across types, a type across principals). */
  readonly aggregates: boolean;
  baselines(model: BaselineModel): { entities: Record<string, EntityBaseline>; population: Record<string, PopulationBaseline> };
  /** "deleted" or "read", for reasons. */
  readonly past: string;
  /** Bytes may pass 2^32 in a bucket: their windows hold doubles (see WindowSet). */
  readonly unit: 'objects' | 'bytes';
  /** An amount of it, for reasons: "120" or "4.2 GiB". */
  amount(n: number): string;
  /** What is counted, for reasons: "s3:object objects", "of s3:object data". */
  what(resourceType: string): string;
}

const objectsOf = (resourceType: string): string => (resourceType === ANY ? 'objects (weighed by criticality) of every resource type' : `${resourceType} objects`);
const NO_READS = { entities: {}, population: {} };

export const DESTROYED: VolumeMeasure = {
  name: 'bulk-delete', stateName: 'bulk-delete', objects: destructiveObjects, aggregates: true, past: 'deleted', unit: 'objects',
  amount: String, what: objectsOf, baselines: (m) => ({ entities: m.entities, population: m.population }),
};

export const READ: VolumeMeasure = {
  name: 'bulk-read', stateName: 'bulk-read', objects: dataReadObjects, aggregates: false, past: 'read', unit: 'objects',
  amount: String, what: objectsOf, baselines: (m) => m.reads ?? NO_READS,
};

/** Bytes of data read, where the record says (a data read without bytesOut counts only in READ). */
export const READ_BYTES: VolumeMeasure = {
  name: 'bulk-read', stateName: 'bulk-read-bytes', objects: dataReadBytes, aggregates: false, past: 'read', unit: 'bytes',
  amount: formatBytes, what: (resourceType) => `of ${resourceType} data`, baselines: (m) => m.readBytes ?? NO_READS,
};

export interface VolumeOptions {
  spec: VolumeSpec;
  measure: VolumeMeasure;
  model: BaselineModel;
  criticalEnvironments: readonly string[];
  /** Shared with the other detectors; the bulk-delete spec owns the table and replaces it on reload. */
  criticality: Criticality;
  /** A pause longer than this ends a run (the same gap that ends an incident). */
  runGapMs: number;
}

/**
 * Volume per entity over several sliding windows, checked on every counted event against the entity's learned peak
 * (or, with no history, its peers' or its population's). bulk-delete counts destroyed objects, and also counts each
 * destructive event towards two aggregates (the principal across every resource type, weighed by criticality; the
 * resource type across every principal), so that a tear-down kept under each per-type threshold, or spread over many
 * identities, is seen whole. bulk-read counts data read.
 */
export class VolumeDetector implements Detector, Reconfigurable<ReloadedSpec>, Changelogged {
  readonly name: string;
  readonly stateName: string;
  readonly changes = new ChangeTracker();
  private readonly state = new Map<string, EntityState>();
  private readonly bucketMs: number[];
  private readonly wide: boolean;
  private readonly windowIndex: number[];
  private readonly entities: Record<string, EntityBaseline>;
  private readonly population: Record<string, PopulationBaseline>;
  /** Across-types aggregates not kept yet: the one resource type the principal destroyed so far (see acrossTypes). */
  private readonly soleType = new Map<string, string>();
  /** bulk-read: principal × environment pairs that read data there in training (critical only outside them). */
  private readonly readIn = new Set<string>();
  private version = 0;
  private newest = -Infinity;
  private sinceSweep = 0;
  private evicted = 0;
  private overrides: Array<ThresholdOverride & { typeRe?: RegExp; principalRe?: RegExp }> = [];

  constructor(private readonly opts: VolumeOptions) {
    const { spec, model, measure } = opts;
    this.name = measure.name;
    this.stateName = measure.stateName;
    ({ entities: this.entities, population: this.population } = measure.baselines(model));
    if (measure.name === 'bulk-read') {
      for (const key of Object.keys(this.entities)) {
        const { principal, environment } = splitEntityKey(key);
        this.readIn.add(`${principal}\u0001${environment}`);
      }
    }
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
    this.wide = measure.unit === 'bytes';
  }

  private compileOverrides(spec: VolumeSpec | ReloadedSpec): void {
    // The table is bulk-delete's; bulk-read shares it as it stands.
    if ('criticality' in spec) this.opts.criticality.replace(spec.criticality);
    this.overrides = spec.overrides.map((o) => ({
      ...o,
      typeRe: o.resourceType ? globToRegExp(o.resourceType) : undefined,
      principalRe: o.principal ? new RegExp(o.principal) : undefined,
    }));
  }

  /** New thresholds, overrides and critical environments from a reloaded config, keeping every entity's windows. */
  checkReconfigure(spec: ReloadedSpec): string | null {
    if (!('windows' in spec)) return null;
    const old = this.opts.spec.windows;
    if (spec.windows.length !== old.length || spec.windows.some((w, i) => w !== old[i])) {
      return 'detectors.bulk-delete.windows changed: windows are what the model learned; retrain and restart to change them';
    }
    return null;
  }

  reconfigure(spec: ReloadedSpec, criticalEnvironments: readonly string[]): void {
    this.opts.spec = { ...spec, windows: 'windows' in spec ? spec.windows : this.opts.spec.windows };
    this.opts.criticalEnvironments = criticalEnvironments;
    this.compileOverrides(spec);
    this.version++;
  }

  /** For an entity; a write that destroys is weighed by its action where the table names it (see observe). */
  private thresholdsFor(e: AuditEvent, resourceType = e.resource.type): Thresholds {
    const { tolerance, minObjects, criticalScore } = this.opts.spec;
    const byType = this.opts.criticality.weight(resourceType);
    const weight = e.verb !== 'delete' && this.opts.measure === DESTROYED && resourceType !== ANY ? this.opts.criticality.actionWeight(e.action) ?? byType : byType;
    const t: Thresholds = { tolerance, minObjects, criticalScore, weight };
    for (const o of this.overrides) {
      if (o.environment !== undefined && o.environment !== e.environment) continue;
      if (o.typeRe && !o.typeRe.test(resourceType)) continue;
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
    return {
      windows: s.windows.toJSON(), runStart: s.runStart, lastDestructive: s.lastDestructive, runEvents: s.runEvents, runObjects: s.runObjects,
      ...(s.newTypes ? { newTypes: [...s.newTypes] } : {}),
    };
  }

  restoreEntry(key: string, value: unknown): void {
    const v = value as EntityJson;
    // Version -1 never matches: the thresholds are computed from the running config at the entity's next delete.
    this.state.set(key, {
      windows: WindowSet.fromJSON(this.bucketMs, v.windows, this.wide), thresholds: UNSET_THRESHOLDS, version: -1,
      runStart: v.runStart, lastDestructive: v.lastDestructive, runEvents: v.runEvents, runObjects: v.runObjects,
      ...(v.newTypes ? { newTypes: new Set(v.newTypes) } : {}),
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
    // A deferred aggregate whose one entity is gone has nothing to start from.
    for (const [aggregate, type] of this.soleType) if (!this.state.has(`${aggregate.slice(0, -ANY.length)}${type}`)) this.soleType.delete(aggregate);
    // Room for the entities about to be added, too: the event's own, and with aggregates the two it counts towards.
    const over = this.state.size - this.opts.spec.maxEntities + (this.opts.measure.aggregates ? 3 : 1);
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
    const objects = this.opts.measure.objects(e);
    if (objects === 0) return null;
    if (e.time > this.newest) this.newest = e.time;
    if (++this.sinceSweep >= 50_000 || this.state.size + (this.opts.measure.aggregates ? 3 : 1) > this.opts.spec.maxEntities) {
      this.sinceSweep = 0;
      this.sweep();
    }
    const key = entityKeyOf(e);
    const own = this.count(e, key, e.resource.type, objects);
    if (!this.opts.measure.aggregates) return own;
    // The entity's own finding is the most specific (its freeze scope is narrowest). An aggregate speaks only for
    // destruction that is spread: when this entity holds less than half of the aggregate's volume in the window that
    // crossed. Otherwise the entity is the story, and its own thresholds judge it.
    const weight = this.opts.criticality.weight(e.resource.type);
    const [acrossTypes, acrossPrincipals] = aggregateKeys(e);
    const a = this.acrossTypes(e, acrossTypes) ? this.spread(e, key, acrossTypes, ANY, weighted(objects, weight), weight, this.isNewType(key)) : null;
    const b = this.spread(e, key, acrossPrincipals, e.resource.type, objects, 1);
    let best = own;
    if (a && (!best || SEVERITY_RANK[a.severity] > SEVERITY_RANK[best.severity])) best = a;
    if (b && (!best || SEVERITY_RANK[b.severity] > SEVERITY_RANK[best.severity])) best = b;
    return best;
  }

  /**
   * Whether the principal's across-types aggregate is kept yet. Most principals destroy one resource type, where the
   * aggregate would only repeat their entity (at twice the memory): until a second type comes, only that type is
   * remembered; at the second, the aggregate starts from the first type's windows, weighed. (After a restore the
   * first type is not known again until the next event names one.)
   */
  private acrossTypes(e: AuditEvent, aggregate: string): boolean {
    if (this.state.has(aggregate)) return true;
    const sole = this.soleType.get(aggregate);
    if (sole === undefined) {
      this.soleType.set(aggregate, e.resource.type);
      return false;
    }
    if (sole === e.resource.type) return false;
    this.soleType.delete(aggregate);
    const firstKey = entityKey(e.principal.id, e.environment, sole);
    const first = this.state.get(firstKey);
    if (first) {
      const w = this.opts.criticality.weight(sole);
      this.state.set(aggregate, {
        windows: first.windows.scaled(w), thresholds: this.thresholdsFor(e, ANY), version: this.version,
        runStart: first.runStart, lastDestructive: first.lastDestructive, runEvents: first.runEvents, runObjects: weighted(first.runObjects, w),
        leader: firstKey, leaderScale: w, ...(this.isNewType(firstKey) ? { newTypes: new Set([sole]) } : {}),
      });
    }
    return true;
  }

  /** Whether the principal never destroyed this entity's resource type in its environment in the training history. */
  private isNewType(key: string): boolean {
    return !this.entities[key]?.destructiveEvents;
  }

  /**
   * Counts the event towards an aggregate; its finding only when the destruction there is spread (see observe).
   * `newType`: across types, the event's resource type is one the principal never destroyed here.
   */
  private spread(e: AuditEvent, key: string, aggregate: string, type: string, n: number, scale: number, newType = false): Finding | null {
    const agg = this.add(e, aggregate, type, n);
    if (newType) (agg.newTypes ??= new Set()).add(e.resource.type);
    const leader = this.leaderOf(agg, key, scale, e.time);
    // One entity holding half of every window: not spread, and not worth scoring (a bulk job's every event).
    const sums = agg.windows.sums;
    const leadScale = agg.leaderScale ?? 1;
    let spreadSomewhere = false;
    for (let w = 0; w < sums.length && !spreadSomewhere; w++) spreadSomewhere = leader.windows.sumAsOf(w, e.time) * leadScale * 2 < sums[w]!;
    if (!spreadSomewhere) return null;
    const f = this.judge(e, aggregate, type, agg);
    if (!f) return null;
    const w = this.opts.spec.windows.indexOf(f.windowMs);
    if (leader.windows.sumAsOf(w, e.time) * leadScale * 2 >= agg.windows.sums[w]!) return null;
    // What is going on now must cross by itself: a window still holding an incident that paused (its run ended)
    // is that incident's aftermath, which its own entities already reported.
    if (agg.runObjects * f.score < agg.windows.sums[w]!) return null;
    return f;
  }

  /**
   * The entity that contributes most to an aggregate, as far as the events seen tell (its longest window's sum as of
   * now: a leader quiet for a while has less in it than when it last counted): `key`, which just counted, takes the
   * lead when its sum passes the leader's.
   */
  private leaderOf(agg: EntityState, key: string, scale: number, t: number): EntityState {
    const mine = this.state.get(key)!;
    const last = this.opts.spec.windows.length - 1;
    const current = agg.leader === undefined ? undefined : this.state.get(agg.leader);
    if (!current || agg.leader === key || mine.windows.sums[last]! * scale >= current.windows.sumAsOf(last, t) * (agg.leaderScale ?? 1)) {
      agg.leader = key;
      agg.leaderScale = scale;
      return mine;
    }
    return current;
  }

  /** Adds the event's volume to one entity (its own, or an aggregate) and scores it. */
  private count(e: AuditEvent, key: string, resourceType: string, objects: number): Finding | null {
    return this.judge(e, key, resourceType, this.add(e, key, resourceType, objects));
  }

  /** The entity's state with the event's volume added. */
  private add(e: AuditEvent, key: string, resourceType: string, objects: number): EntityState {
    let s = this.state.get(key);
    if (!s) {
      s = { windows: new WindowSet(this.bucketMs, this.wide), thresholds: this.thresholdsFor(e, resourceType), version: this.version, runStart: e.time, lastDestructive: e.time, runEvents: 0, runObjects: 0 };
      this.state.set(key, s);
    } else if (s.version !== this.version) {
      s.thresholds = this.thresholdsFor(e, resourceType);
      s.version = this.version;
    }
    if (e.time - s.lastDestructive > this.opts.runGapMs) {
      s.runStart = e.time;
      s.runEvents = 0;
      s.runObjects = 0;
      s.newTypes = undefined;
    }
    s.lastDestructive = Math.max(s.lastDestructive, e.time);
    s.runEvents++;
    s.runObjects += objects;
    s.windows.add(e.time, objects);
    this.changes.mark(key);
    return s;
  }

  private judge(e: AuditEvent, key: string, resourceType: string, s: EntityState): Finding | null {
    // A write that destroys may weigh more than its type (its action's weight): its own thresholds, this once.
    const thresholds = e.verb === 'delete' || this.opts.measure !== DESTROYED ? s.thresholds : this.thresholdsFor(e, resourceType);
    // Every threshold is at least minObjects (÷ weight): below it in every window, no score can reach 1. Most reads
    // and most deletes end here, before the baselines are looked up.
    const sums = s.windows.sums;
    let most = 0;
    for (let w = 0; w < sums.length; w++) if (sums[w]! > most) most = sums[w]!;
    if (most < thresholds.minObjects) return null;
    return this.score(e, key, resourceType, s, thresholds);
  }

  private score(e: AuditEvent, key: string, resourceType: string, s: EntityState, thresholds: Thresholds): Finding | null {
    const { spec, model } = this.opts;
    const { tolerance, minObjects, criticalScore, weight } = thresholds;
    let comparison = s.comparison;
    // Every principal together has only its own history, whoever's event this is: no population is its peer.
    const acrossPrincipals = key.startsWith(ANY_PRINCIPAL);
    if (!(comparison && (acrossPrincipals || comparison.kind === e.principal.kind))) {
      const peerGroup = acrossPrincipals ? undefined : this.population[populationKey(e.environment, resourceType, e.principal.kind)];
      s.comparison = comparison = {
        kind: e.principal.kind, own: this.entities[key], peers: peerGroup,
        population: acrossPrincipals ? undefined : peerGroup ?? this.population[populationKey(e.environment, resourceType)],
      };
    }
    const { own, peers, population } = comparison;
    let best = -1;
    let bestScore = 0;
    let bestThreshold = 0;
    let bestExpected = 0;
    const hour = utcHour(e.time);
    // Aggregates sum many schedules: their all-day peak is the norm, not one hour's.
    const seasonal = resourceType !== ANY && !key.startsWith(ANY_PRINCIPAL) && own?.hourly;
    // Seasonal: this hour's peak and its neighbours' (a job at 01:00 may start at 00:58 or run past 02:00).
    const expectedIn = (w: number): number => {
      const m = this.windowIndex[w]!;
      return own
        ? seasonal && own.hourly
          ? Math.max(own.hourly[m]![(hour + 23) % 24]!, own.hourly[m]![hour]!, own.hourly[m]![(hour + 1) % 24]!)
          : own.peaks[m]!
        : population?.peaks[m] ?? 0;
    };
    for (let w = 0; w < spec.windows.length; w++) {
      const expected = expectedIn(w);
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
    const { measure } = this.opts;
    // Destruction of a type nobody destroyed here in the training history, spread over principals none of whom holds
    // half of it (spread() checked that): no baseline makes it ordinary, and only coordination explains it (the
    // many-identities attack, each identity under its own threshold). Critical as soon as it crosses at all.
    const unprecedentedSpread = acrossPrincipals && !own && measure === DESTROYED;
    // Likewise one principal tearing down several types it never destroyed here: more than its job, whatever its volume.
    const newTypes = s.newTypes?.size ?? 0;
    const unprecedentedBreadth = newTypes >= NEW_TYPES;
    const inCritical = (bestScore >= criticalScore || unprecedentedSpread || unprecedentedBreadth) && this.opts.criticalEnvironments.includes(e.environment);
    // A bulk read is critical only from a principal that never read this environment's data.
    const critical = inCritical && (measure.name !== 'bulk-read' || !this.readIn.has(`${e.principal.id}\u0001${e.environment}`));
    const severity: Severity = critical ? 'critical' : 'warning';
    const window = formatDuration(spec.windows[best]!);
    const observed = s.windows.sums[best]!;
    const { principal } = splitEntityKey(key);
    const who = principal === ANY ? 'all principals together' : e.principal.id;
    const what = measure.what(resourceType);
    const amount = measure.amount;
    const baseline = own
      ? seasonal && own.hourly
        ? `${principal === ANY ? 'their' : 'this principal\'s'} learned peak here around ${String(hour).padStart(2, '0')}:00 UTC is ${amount(bestExpected)} per ${window} (the peak at any hour is ${amount(own.peaks[this.windowIndex[best]!]!)})`
        : `${principal === ANY ? 'their' : 'this principal\'s'} learned peak here is ${amount(bestExpected)} per ${window}`
      : population
        ? `no history for this principal on ${resourceType} in ${e.environment}; ${peers ? `other ${e.principal.kind} principals'` : 'others\''} peak there is ${amount(bestExpected)} per ${window} (p${Math.round(model.populationQuantile * 100)} of ${population.entities} entities)`
        : `no history for ${principal === ANY ? 'anyone' : 'this principal'} on ${resourceType} in ${e.environment}, and nobody ${measure.past} ${resourceType} there in the training history`;
    return {
      detector: this.name,
      entityKey: key,
      event: e,
      score: Math.round(bestScore * 100) / 100,
      severity,
      windowMs: spec.windows[best]!,
      reason: `${amount(observed)} ${what} ${measure.past} in ${window} by ${who} in ${e.environment}; ${baseline}; ` +
        `threshold ${amount(Math.round(bestThreshold * 10) / 10)} (peak × ${tolerance}, at least ${amount(+minObjects.toFixed(2))}${weight !== 1 ? `: ${resourceType === e.resource.type && weight !== this.opts.criticality.weight(resourceType) ? e.action : resourceType} has criticality ${weight}` : ''})` +
        (unprecedentedBreadth ? `; ${newTypes} of the resource types in this run were never destroyed by this principal here before` : ''),
      firstEventTime: s.runStart,
      eventCount: s.runEvents,
      // Measured in bytes, the run's volume is no object count: its reads are (one object each where bytes are said).
      objectCount: measure.unit === 'bytes' ? s.runEvents : s.runObjects,
      windows: spec.windows.map((windowMs, w) => {
        const expected = expectedIn(w);
        return { windowMs, observed: s.windows.sums[w]!, baseline: expected, threshold: Math.round(Math.max(expected * tolerance, minObjects) * 100) / 100, unit: measure.unit };
      }),
    };
  }
}
