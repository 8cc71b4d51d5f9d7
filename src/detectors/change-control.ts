import { principalKey } from '../baseline/activity.js';
import { destructiveObjects, entityKeyOf, splitEntityKey } from '../baseline/entity.js';
import type { BaselineModel } from '../baseline/model.js';
import type { AuditEvent } from '../events/audit-event.js';
import type { Detector, Finding } from './detector.js';

/**
 * Change control, AWS's lesson from 2012: in a critical environment, a destructive call by a principal with no history
 * there is a finding from its very first call, whatever the volume. The alert pipeline drops it when an approved
 * change covers the call (DetectionProcessor, src/pipeline/processors.ts); a freeze rule with `requireChange: true` freezes the rest at
 * once. Built only when some rule asks for it: without one it would only repeat the context detector's novelty.
 */
export class ChangeControlDetector implements Detector {
  readonly name = 'change-control';
  /** principalKey(principal, environment) → history there: the model's principals, or (models trained before they
   * were learned) every principal and environment its entities name. */
  private readonly known: Readonly<Record<string, unknown>>;

  constructor(model: BaselineModel, private criticalEnvironments: readonly string[]) {
    this.known = model.principals ?? Object.fromEntries(Object.keys(model.entities).map((key) => {
      const { principal, environment } = splitEntityKey(key);
      return [principalKey(principal, environment), true];
    }));
  }

  reconfigure(_spec: unknown, criticalEnvironments: readonly string[]): void {
    this.criticalEnvironments = criticalEnvironments;
  }

  checkReconfigure(): string | null {
    return null;
  }

  observe(e: AuditEvent): Finding | null {
    const objects = destructiveObjects(e);
    if (objects === 0 || !this.criticalEnvironments.includes(e.environment)) return null;
    if (this.known[principalKey(e.principal.id, e.environment)]) return null;
    return {
      detector: this.name, entityKey: entityKeyOf(e), event: e, score: 1, severity: 'critical', windowMs: 0,
      reason: `${e.action} of ${e.resource.type} ${e.resource.id} by ${e.principal.id} in ${e.environment}, where it has no history, and no approved change covers it` +
        (e.changeTicket ? ` (it names ticket ${e.changeTicket})` : ''),
      firstEventTime: e.time, eventCount: 1, objectCount: objects,
    };
  }
}
