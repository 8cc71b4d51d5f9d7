import type { Alert } from '../alerts/alert.js';
import type { Severity } from '../detectors/detector.js';
import { formatDuration } from '../util/duration.js';
import { VERSION } from '../util/version.js';

/**
 * Alerts and freezes as OCSF records (https://schema.ocsf.io), for SIEMs and data lakes that read OCSF (Security
 * Lake, Splunk, Sentinel …): each alert revision a Detection Finding; each freeze and lift a Remediation Activity
 * (src/actions/freeze-ocsf.ts).
 * Checked against JSON Schemas generated from the published schema (schemas/ocsf, scripts/ocsf-json-schema.ts).
 */
export const OCSF_VERSION = '1.8.0';
/**
 * Profiles the records declare: `security_control` because auditwatch is one (a finding's action and disposition:
 * blocked by a freeze, or only observed); `host`, where OCSF defines a finding's `actor`.
 */
export const OCSF_PROFILES: readonly string[] = ['host', 'security_control'];
export const OCSF_CLASSES = { detectionFinding: 'detection_finding', remediationActivity: 'remediation_activity' } as const;

/** An OCSF record as auditwatch writes it: what the sinks key, order and dedupe it by, and the rest of its class. */
export type OcsfRecord = Record<string, unknown> & { class_uid: number; time: number; metadata: { uid: string; correlation_uid: string } };

const SEVERITY: Record<Severity, { id: number; name: string }> = {
  info: { id: 1, name: 'Informational' },
  warning: { id: 3, name: 'Medium' },
  critical: { id: 5, name: 'Critical' },
};

/** The metadata every auditwatch OCSF record carries: its uid, and the alert it belongs to as correlation_uid. */
export const ocsfMetadata = (uid: string, correlation: string) => ({
  version: OCSF_VERSION,
  profiles: [...OCSF_PROFILES],
  product: { name: 'auditwatch', vendor_name: 'auditwatch', version: VERSION },
  uid,
  correlation_uid: correlation,
});

/** OCSF user type ids: 1 user, 4 service; anything else is Other with its own name. */
export function ocsfUser(id: string, kind: string) {
  const typeId = kind === 'human' ? 1 : kind === 'service' ? 4 : 99;
  return { uid: id, name: id, type_id: typeId, ...(typeId === 99 ? { type: kind } : {}) };
}

/** What kind of analysis raised it: statistical baselines, the learned model, or a rule (change control, tampering). */
function analyticType(detector: string): number {
  if (detector === 'model') return 4;
  if (detector === 'bulk-delete' || detector === 'bulk-read') return 3;
  if (detector === 'novelty' || detector === 'protection-off') return 2;
  return 1;
}

/** A freeze blocks (Denied/Blocked); inside an approved change the activity was allowed; otherwise it was observed. */
function disposition(action: Alert['action']): { action_id: number; disposition_id: number } {
  if (action === 'freeze') return { action_id: 2, disposition_id: 2 };
  if (action === 'change-approved') return { action_id: 1, disposition_id: 8 };
  return { action_id: 3, disposition_id: 19 };
}

/** One alert revision as an OCSF Detection Finding (class 2004): Create on the first revision, Update after, Close (Resolved) at its end. */
export function detectionFinding(alert: Alert): OcsfRecord {
  const activity = alert.closed ? { id: 3, name: 'Close' } : alert.revision <= 0 ? { id: 1, name: 'Create' } : { id: 2, name: 'Update' };
  const severity = SEVERITY[alert.severity];
  const actor = { user: ocsfUser(alert.principal, alert.principalKind) };
  const resource = { type: alert.resourceType, name: alert.resourceType, namespace: alert.environment, role_id: 1, labels: [`environment:${alert.environment}`] };
  const windows = alert.windows ?? [];
  const entity = `${alert.principal} × ${alert.environment} × ${alert.resourceType}`;
  return {
    class_uid: 2004, class_name: 'Detection Finding', category_uid: 2, category_name: 'Findings',
    activity_id: activity.id, activity_name: activity.name, type_uid: 2004_00 + activity.id, type_name: `Detection Finding: ${activity.name}`,
    time: alert.detectedAt, start_time: alert.firstEventTime,
    severity_id: severity.id, severity: severity.name,
    status_id: alert.closed ? 4 : alert.revision <= 0 ? 1 : 2,
    is_alert: alert.severity !== 'info',
    message: alert.reason,
    count: alert.eventCount,
    ...disposition(alert.action),
    metadata: ocsfMetadata(`${alert.id}.${alert.revision}`, alert.id),
    finding_info: {
      uid: alert.id,
      title: `${alert.detector}: ${alert.principal} in ${alert.environment} (${alert.resourceType})`,
      desc: alert.reason,
      types: [alert.detector],
      analytic: { name: alert.detector, uid: alert.detector, type_id: analyticType(alert.detector) },
      first_seen_time: alert.firstEventTime,
      last_seen_time: alert.detectedAt,
      modified_time: alert.detectedAt,
    },
    actor,
    resources: [resource],
    evidences: [{ uid: alert.triggerEventId, name: 'the event that raised or last updated this alert', actor, resources: [resource] }],
    ...(windows.length
      ? {
          anomaly_analyses: [{
            analysis_targets: [{ name: entity, type: 'principal × environment × resource type' }],
            anomalies: windows.map((w) => ({
              observation_parameter: `${w.unit} per ${formatDuration(w.windowMs)}`, observation_type: w.unit === 'bytes' ? 'volume' : 'count',
              observations: [{ value: String(w.observed), timespan: { duration: w.windowMs, type_id: 1, end_time: alert.detectedAt } }],
            })),
            baselines: windows.map((w) => ({
              observation_parameter: `${w.unit} per ${formatDuration(w.windowMs)}`, observation_type: 'learned peak',
              observations: [{ value: String(w.baseline), timespan: { duration: w.windowMs, type_id: 1 } }],
            })),
          }],
        }
      : {}),
    ...(alert.action === 'freeze' ? { remediation: { desc: `auditwatch requested a write freeze of ${alert.environment} for this principal; see the Remediation Activity records with correlation_uid ${alert.id}` } } : {}),
    unmapped: {
      auditwatch_revision: alert.revision, auditwatch_action: alert.action, auditwatch_score: alert.score,
      auditwatch_context: alert.context, auditwatch_context_score: alert.contextScore, auditwatch_objects: alert.objectCount,
      ...(windows.length ? { auditwatch_thresholds: windows.map((w) => ({ window_ms: w.windowMs, threshold: w.threshold })) } : {}),
    },
  };
}
