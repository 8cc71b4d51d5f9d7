import { splitEntityKey } from '../baseline/entity.js';
import type { Config, Suppression } from '../config/schema.js';
import { SEVERITY_RANK, type Finding, type Severity } from '../detectors/detector.js';
import { stableId } from '../util/hash.js';
import { formatDuration } from '../util/duration.js';
import { globToRegExp } from '../util/glob.js';
import type { Alert } from './alert.js';
import { ChangeTracker, type Changelogged } from '../state/changelogged.js';

interface Incident {
  alert: Alert;
  lastAnomalous: number;
  lastEmitted: number;
}

/** Told when a suppression swallows an alert, and (once) when one expires. */
export interface SuppressionObserver {
  suppressed(alert: Alert, s: Suppression): void;
  expired(s: Suppression, at: number): void;
}

interface CompiledSuppression {
  spec: Suppression;
  principal?: RegExp;
  resourceType?: RegExp;
  expiredSaid: boolean;
}

/**
 * Turns findings into incidents: one alert id per incident, updates instead of a new alert per event. What to do
 * about an alert (freeze or not) is the next stage's (src/actions/freeze-stage.ts); the incident keeps its answer.
 * Time here is event time only.
 */
export class AlertPolicy implements Changelogged {
  /** Open incidents are changelogged: an instance that takes over a partition continues them, same id, no new freeze. */
  readonly stateName = 'incidents';
  readonly changes = new ChangeTracker();
  private readonly incidents = new Map<string, Incident>();
  private suppressions: CompiledSuppression[] = [];
  /**
   * How long an incident stays open after its last anomalous event: past it, no finding could continue it (the
   * incident gap, or the longest window a finding reaches back over). Closing there also keeps memory bounded.
   */
  private quiet = 0;
  /** Event time past which the earliest open incident is due to close (checked on every event: one comparison). */
  private nextClose = Infinity;

  constructor(private config: Config, private readonly observer?: SuppressionObserver) {
    this.reconfigure(config);
  }

  entryOf(key: string): Incident | undefined {
    return this.incidents.get(key);
  }

  entries(): Iterable<[string, unknown]> {
    return this.incidents.entries();
  }

  restoreEntry(key: string, value: unknown): void {
    const inc = value as Incident;
    this.incidents.set(key, { alert: Object.assign({ windows: [], closed: false }, inc.alert), lastAnomalous: inc.lastAnomalous, lastEmitted: inc.lastEmitted });
    this.nextClose = -Infinity;
  }

  /** The incident's last revision, closed at event time `at` (unless it was never emitted, or is suppressed). */
  private close(key: string, inc: Incident, at: number, closed: Alert[]): void {
    this.incidents.delete(key);
    this.changes.mark(key);
    const a = inc.alert;
    if (a.revision < 0) return; // never emitted (suppressed from its first finding)
    const last: Alert = {
      ...a, revision: a.revision + 1, detectedAt: at, closed: true,
      reason: `closed: no finding for ${formatDuration(at - inc.lastAnomalous)} after the last at ${new Date(inc.lastAnomalous).toISOString()}. ${a.reason}`,
    };
    if (!this.suppressionFor(last)) closed.push(last);
  }

  /**
   * Event time reached `t`: each incident quiet for longer than any finding could reach back (the incident gap or
   * the longest window, whichever is longer) is closed, with a last revision saying so, stamped with the event time
   * it closed at. The same events close the same incidents at the same time, however they are batched.
   */
  advance(t: number, closed: Alert[]): void {
    if (t <= this.nextClose) return;
    let next = Infinity;
    for (const [key, inc] of this.incidents) {
      const due = inc.lastAnomalous + this.quiet;
      if (t <= due) {
        if (due < next) next = due;
        continue;
      }
      this.close(key, inc, due, closed);
    }
    this.nextClose = next;
  }

  /** A reloaded config: new incident timing and suppressions; open incidents keep their ids. */
  reconfigure(config: Config): void {
    this.config = config;
    this.quiet = Math.max(this.quiet, config.alerts.incidentGap, ...config.detectors.flatMap((d) => ('windows' in d ? d.windows : [])));
    this.nextClose = -Infinity; // recomputed at the next event
    this.suppressions = config.suppressions.map((spec) => ({
      spec,
      principal: spec.principal ? new RegExp(spec.principal) : undefined,
      resourceType: spec.resourceType ? globToRegExp(spec.resourceType) : undefined,
      expiredSaid: false,
    }));
  }

  /** The suppression covering this alert at its event time, if any; an expired one says so once and lets it through. */
  private suppressionFor(a: Alert): Suppression | undefined {
    for (const s of this.suppressions) {
      const { spec } = s;
      if (spec.detector !== undefined && spec.detector !== a.detector) continue;
      if (spec.environment !== undefined && spec.environment !== a.environment) continue;
      if (s.principal && !s.principal.test(a.principal)) continue;
      if (s.resourceType && !s.resourceType.test(a.resourceType)) continue;
      if (a.detectedAt < spec.expires) return spec;
      if (!s.expiredSaid) {
        s.expiredSaid = true;
        this.observer?.expired(spec, a.detectedAt);
      }
    }
    return undefined;
  }

  /**
   * The incident's alert when this finding raises or updates it (the incident's own object: the freeze stage records
   * its action there), or undefined when it changes nothing anyone should hear about, or is suppressed. An incident
   * on the same entity that this finding comes too late to continue is closed first, into `closed`.
   */
  onFinding(f: Finding, closed: Alert[] = []): Alert | undefined {
    const { incidentGap, updateEvery } = this.config.alerts;
    const key = `${f.detector}\u0002${f.entityKey}`;
    const t = f.event.time;
    let inc = f.oneShot ? undefined : this.incidents.get(key);
    let emit = false;
    // A finding whose window still reaches back to the incident's last anomalous event is that incident's
    // aftermath (a 1 h window keeps a wipe's objects for an hour), not a new incident: no new id, no new freeze.
    if (!inc || t - inc.lastAnomalous > Math.max(incidentGap, f.windowMs)) {
      // A new incident on the same entity: the one before it is over, and says so first.
      if (inc) this.close(key, inc, inc.lastAnomalous + Math.max(incidentGap, f.windowMs), closed);
      const { principal, environment, resourceType } = splitEntityKey(f.entityKey);
      inc = {
        alert: {
          id: stableId('alert', f.detector, f.entityKey, f.event.id),
          revision: -1,
          principal,
          principalKind: f.event.principal.kind,
          environment,
          resourceType,
          severity: f.severity,
          score: f.score,
          detector: f.detector,
          reason: f.reason,
          firstEventTime: f.firstEventTime,
          detectedAt: t,
          triggerEventId: f.event.id,
          eventCount: f.eventCount,
          objectCount: f.objectCount,
          action: 'none',
          context: [],
          contextScore: 0,
          windows: [],
          closed: false,
        },
        lastAnomalous: t,
        lastEmitted: t,
      };
      if (!f.oneShot) this.incidents.set(key, inc);
      emit = true;
    } else if (SEVERITY_RANK[f.severity] > SEVERITY_RANK[inc.alert.severity]) {
      emit = true;
    } else if (t - inc.lastEmitted >= updateEvery) {
      emit = true;
    }
    inc.lastAnomalous = Math.max(inc.lastAnomalous, t);
    if (!f.oneShot) {
      this.changes.mark(key);
      if (inc.lastAnomalous + this.quiet < this.nextClose) this.nextClose = inc.lastAnomalous + this.quiet;
    }
    if (!emit) return undefined;

    const a = inc.alert;
    const severity: Severity = SEVERITY_RANK[f.severity] > SEVERITY_RANK[a.severity] ? f.severity : a.severity;
    Object.assign(a, {
      revision: a.revision + 1,
      severity,
      score: Math.max(a.score, f.score),
      reason: f.reason,
      detectedAt: t,
      triggerEventId: f.event.id,
      eventCount: f.eventCount,
      objectCount: f.objectCount,
      context: f.context?.reasons ?? [],
      contextScore: f.context?.score ?? f.score,
      windows: f.windows ?? [],
    });
    inc.lastEmitted = t;
    const suppressed = this.suppressionFor(a);
    if (suppressed) {
      this.observer?.suppressed(a, suppressed);
      return undefined;
    }
    return a;
  }
}
