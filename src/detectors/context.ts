import { destructiveObjects, entityKeyOf, FOREIGN_KEY, isProtectionOff, splitEntityKey } from '../baseline/entity.js';
import type { BaselineModel } from '../baseline/model.js';
import type { ContextSpec } from '../config/schema.js';
import type { AuditEvent } from '../events/audit-event.js';
import { BoundedSet } from '../util/bounded-set.js';
import type { Criticality } from '../baseline/criticality.js';
import type { Detector, Finding, Reconfigurable, Severity } from './detector.js';
import { ChangeTracker, type Changelogged } from '../state/changelogged.js';

/**
 * Context the volume windows cannot see, judged against the learned history:
 * - a protection being disabled (logging stopped, versioning suspended, deletion protection off, ...);
 * - a principal's first destructive action on a critical resource type (criticality ≥ `criticalWeight`), or its
 *   first destructive action in a critical environment where it was never seen.
 * A principal whose history already holds the same kind of action here is not flagged: automation that does this
 * routinely is normal, as in the volume detector.
 */
export class ContextDetector implements Detector, Reconfigurable<ContextSpec>, Changelogged {
  readonly name = 'context';
  /** What is changelogged: which novelties were already reported (the learned sets come from the model). */
  readonly stateName = 'context';
  readonly changes = new ChangeTracker();
  private readonly seenIn = new Set<string>();
  private readonly deletedBefore = new Set<string>();
  /** Bounded: after a flood of new principals the oldest are forgotten (and may be flagged once more). */
  private readonly flagged = new BoundedSet<string>(1_000_000);

  constructor(private spec: ContextSpec, model: BaselineModel, private criticalEnvironments: readonly string[], private readonly criticality: Criticality) {
    for (const [key, entity] of Object.entries(model.entities)) {
      const { principal, environment } = splitEntityKey(key);
      this.seenIn.add(`${principal}\u0001${environment}`);
      // Destroying here, or switching protections off here, is routine for it: the same kind of act is not news.
      if (entity.destructiveEvents > 0 || (entity.protectionsOff ?? 0) > 0) this.deletedBefore.add(key);
    }
  }

  checkReconfigure(): string | null {
    return null;
  }

  reconfigure(spec: ContextSpec, criticalEnvironments: readonly string[]): void {
    this.spec = spec;
    this.criticalEnvironments = criticalEnvironments;
  }

  private flag(key: string): void {
    this.flagged.add(key);
    this.changes.mark(key);
  }




  entryOf(key: string): 1 | undefined {
    return this.flagged.has(key) ? 1 : undefined;
  }

  *entries(): Iterable<[string, unknown]> {
    for (const key of this.flagged.values()) yield [key, 1];
  }

  restoreEntry(key: string): void {
    this.flagged.add(key);
  }

  private finding(e: AuditEvent, key: string, score: number, reason: string): Finding {
    const severity: Severity = score >= 2 && this.criticalEnvironments.includes(e.environment) ? 'critical' : 'warning';
    return { detector: this.name, entityKey: key, event: e, score, severity, reason, windowMs: 0, firstEventTime: e.time, eventCount: 1, objectCount: e.objectCount, oneShot: true };
  }

  observe(e: AuditEvent): Finding | null {
    if (this.spec.protections && e.verb !== 'read' && e.outcome === 'success' && FOREIGN_KEY.test(e.action)) {
      const key = entityKeyOf(e);
      const first = `${key}\u0001${e.action}`;
      if (this.flagged.has(first)) return null;
      this.flag(first);
      return this.finding(e, key, this.spec.protectionScore,
        `data rewritten under a key its owner does not hold: ${e.action} on ${e.resource.type} ${e.resource.id} by ${e.principal.id} in ${e.environment}, its first such write here`);
    }
    if (this.spec.protections && isProtectionOff(e.action)) {
      const key = entityKeyOf(e);
      // Routine for this principal here (it did so in the training history)? Then it is not news.
      if (this.deletedBefore.has(key)) return null;
      const what = `${e.action} on ${e.resource.type} ${e.resource.id} by ${e.principal.id} in ${e.environment}`;
      // A denied attempt disabled nothing, but someone tried: worth a warning, not a freeze.
      return e.outcome === 'success'
        ? this.finding(e, key, this.spec.protectionScore, `protection disabled: ${what}; not seen from this principal in the training history`)
        : this.finding(e, key, 1, `attempt to disable a protection, denied: ${what}; not seen from this principal in the training history`);
    }
    // Cheap exits first: most events are reads and build no key here.
    if (e.outcome !== 'success') return null;
    if (!this.spec.novelty || destructiveObjects(e) === 0) return null;
    const key = entityKeyOf(e);
    const place = `${e.principal.id}\u0001${e.environment}`;
    const weight = this.criticality.weight(e.resource.type);
    // At most one novelty finding per principal in an environment, plus one per critical type it never deleted:
    // after that, volume is the volume detector's business.
    if (weight >= this.spec.criticalWeight && !this.deletedBefore.has(key) && !this.flagged.has(key)) {
      this.flag(key);
      this.flag(place);
      return this.finding(e, key, 1, `first ${e.action} of ${e.resource.type} (criticality ${weight}) by ${e.principal.id} in ${e.environment}; it never deleted one in the training history`);
    }
    // A newcomer's first scratch delete in staging is nobody's concern; in a critical environment it is.
    if (!this.seenIn.has(place) && !this.flagged.has(place) && this.criticalEnvironments.includes(e.environment)) {
      this.flag(place);
      return this.finding(e, key, 1, `first destructive action by ${e.principal.id} in ${e.environment}, where the training history never saw it`);
    }
    return null;
  }
}
