import type { Alert } from '../alerts/alert.js';
import { stableId } from '../util/hash.js';
import type { ControlRejection } from './control-log.js';
import type { FreezeCommand } from './freeze-command.js';

export const CONTROL_TAMPER_DETECTOR = 'control-tamper';

/**
 * The critical alert for a control record that only a writer without a trusted key, or a replay, produces. Its id
 * and time come from the record's position and timestamp, so every reader, and every restart, names the same alert.
 */
export function controlTamperAlert(r: ControlRejection): Alert {
  const environment = /(?:^|;)environment=([^;]+)/.exec(r.scopeKey ?? r.messageKey ?? '')?.[1] ?? 'unknown';
  const where = `${r.topic}[${r.partition}]@${r.offset}`;
  const who = [r.keyId ? `key id ${r.keyId}` : 'no key id', r.by ? `produced by ${r.by}` : 'producer not named'].join(', ');
  return {
    id: stableId('control-tamper', r.topic, r.partition, r.offset),
    revision: 1,
    principal: r.by ?? 'unknown',
    principalKind: 'unknown',
    environment,
    resourceType: 'auditwatch:control',
    severity: 'critical',
    score: 1,
    detector: CONTROL_TAMPER_DETECTOR,
    reason: `control record refused (${r.reason}) at ${where}, message key ${r.messageKey ?? '(none)'}, ${who}: ${r.detail}`,
    firstEventTime: r.timestamp,
    detectedAt: r.timestamp,
    triggerEventId: where,
    eventCount: 1,
    objectCount: 0,
    action: 'none',
    context: [],
    contextScore: 1,
    windows: [],
    closed: false,
  };
}

export const FREEZE_FAILED_DETECTOR = 'freeze-failed';

/**
 * The critical alert for an actuator that could not apply or revert a freeze after its retries: the freeze binds
 * less than it says (or a revert left something frozen), and a person has to look. One id per freeze, actuator
 * and operation.
 */
export function freezeFailedAlert(op: 'apply' | 'revert', actuator: string, c: FreezeCommand, message: string, at: number): Alert {
  return {
    id: stableId(FREEZE_FAILED_DETECTOR, op, actuator, c.scopeKey, c.alertId, c.createdAt),
    revision: 1,
    principal: c.scope.principal ?? 'unknown',
    principalKind: 'unknown',
    environment: c.scope.environment,
    resourceType: c.scope.resourceType ?? 'auditwatch:freeze',
    severity: 'critical',
    score: 1,
    detector: FREEZE_FAILED_DETECTOR,
    reason: `${actuator} could not ${op} the freeze of ${c.scopeKey} (alert ${c.alertId}): ${message}`,
    firstEventTime: at,
    detectedAt: at,
    triggerEventId: c.alertId,
    eventCount: 1,
    objectCount: 0,
    action: 'none',
    context: [],
    contextScore: 1,
    windows: [],
    closed: false,
  };
}
