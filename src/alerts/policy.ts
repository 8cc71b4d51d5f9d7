import type { FreezeCommand } from '../actions/freeze-command.js';
import { scopeKey, type FreezeScope } from '../actions/freeze-command.js';
import { splitEntityKey } from '../baseline/entity.js';
import type { Config } from '../config/schema.js';
import { SEVERITY_RANK, type Finding, type Severity } from '../detectors/detector.js';
import { stableId } from '../util/hash.js';
import type { Alert, AlertAction } from './alert.js';

interface Incident {
  alert: Alert;
  lastAnomalous: number;
  lastEmitted: number;
}

export interface PolicyOutput {
  alerts: Alert[];
  freezes: FreezeCommand[];
}

/** Decides, for a proposed freeze, whether it is applied, only recorded (dry run), or not made at all. */
export type FreezePlanner = (command: FreezeCommand) => AlertAction;

/**
 * Turns findings into incidents: one alert id per incident, updates instead of a new alert per event, and at most
 * one freeze per incident. Time here is event time only.
 */
export class AlertPolicy {
  private readonly incidents = new Map<string, Incident>();

  constructor(private readonly config: Config, private readonly planFreeze: FreezePlanner) {}

  onFinding(f: Finding, out: PolicyOutput): void {
    const { incidentGap, updateEvery } = this.config.alerts;
    const key = `${f.detector}\u0002${f.entityKey}`;
    const t = f.event.time;
    let inc = this.incidents.get(key);
    let emit = false;
    if (!inc || t - inc.lastAnomalous > incidentGap) {
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
        },
        lastAnomalous: t,
        lastEmitted: t,
      };
      this.incidents.set(key, inc);
      emit = true;
    } else if (SEVERITY_RANK[f.severity] > SEVERITY_RANK[inc.alert.severity]) {
      emit = true;
    } else if (t - inc.lastEmitted >= updateEvery) {
      emit = true;
    }
    inc.lastAnomalous = Math.max(inc.lastAnomalous, t);
    if (!emit) return;

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
    });
    inc.lastEmitted = t;
    if (a.severity === 'critical' && a.action === 'none') {
      const command = this.freezeFor(a);
      if (command) {
        a.action = this.planFreeze(command);
        if (a.action !== 'none') out.freezes.push(command);
      }
    }
    out.alerts.push({ ...a });
  }

  private freezeFor(a: Alert): FreezeCommand | null {
    const policy = this.config.freeze;
    if (policy.mode === 'off' || !policy.environments.includes(a.environment)) return null;
    const scope: FreezeScope = policy.scope === 'principal'
      ? { environment: a.environment, principal: a.principal }
      : { environment: a.environment, resourceType: a.resourceType };
    return {
      scopeKey: scopeKey(scope),
      scope,
      alertId: a.id,
      reason: a.reason,
      createdAt: a.detectedAt,
      expiresAt: a.detectedAt + policy.ttl,
      issuedBy: 'auditwatch',
    };
  }
}
