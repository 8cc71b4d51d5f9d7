import { ocsfMetadata, ocsfUser, type OcsfRecord } from '../sinks/ocsf.js';
import type { RemediationFeed } from '../sinks/delivery.js';
import type { AlertSink } from '../sinks/sink.js';
import type { FreezeAuditAction, FreezeAuditEntry, FreezeAuditLog } from './freeze-audit.js';
import { freezeId } from './freeze-command.js';

/** The freeze audit actions that are a remediation (a freeze issued, applied, lifted or undone); null for the others. */
const REMEDIATION: Partial<Record<FreezeAuditAction, { id: number; name: string }>> = {
  FreezeRequested: { id: 1, name: 'Isolate' },
  FreezeApproved: { id: 1, name: 'Isolate' },
  FreezeManual: { id: 1, name: 'Isolate' },
  FreezeApplied: { id: 1, name: 'Isolate' },
  FreezeFailed: { id: 1, name: 'Isolate' },
  Unfreeze: { id: 3, name: 'Restore' },
  FreezeExpired: { id: 3, name: 'Restore' },
  FreezeReverted: { id: 3, name: 'Restore' },
};

/**
 * A freeze audit entry as an OCSF Remediation Activity (class 7001): Isolate when a freeze is issued or applied,
 * Restore when it is lifted, expires or is undone; null for a dry run, a proposal or a refusal (nothing was remediated).
 * command_uid names the freeze, so a SIEM joins its issue, application and lift.
 */
export function remediationActivity(entry: FreezeAuditEntry): OcsfRecord | null {
  const activity = REMEDIATION[entry.action as FreezeAuditAction];
  if (!activity) return null;
  const c = entry.freeze;
  const failed = entry.outcome === 'failure';
  return {
    class_uid: 7001, class_name: 'Remediation Activity', category_uid: 7, category_name: 'Remediation',
    activity_id: activity.id, activity_name: activity.name, type_uid: 7001_00 + activity.id, type_name: `Remediation Activity: ${activity.name}`,
    time: entry.time,
    severity_id: activity.id === 1 ? 3 : 1, severity: activity.id === 1 ? 'Medium' : 'Informational',
    status_id: failed ? 2 : 1, status: failed ? 'Failure' : 'Success', status_detail: entry.detail,
    message: `${entry.action}: ${c.scopeKey} (alert ${c.alertId}) — ${entry.detail}`,
    command_uid: freezeId(c),
    countermeasures: [{ d3f_tactic: { name: activity.name, uid: activity.name === 'Isolate' ? 'd3f:Isolate' : 'd3f:Restore' } }],
    remediation: { desc: `write freeze of ${c.scopeKey} until ${new Date(c.expiresAt).toISOString()}: ${c.reason}` },
    start_time: c.createdAt, end_time: c.expiresAt,
    metadata: ocsfMetadata(entry.id, c.alertId),
    actor: { user: ocsfUser(entry.principal.id, entry.principal.kind) },
    unmapped: { auditwatch_action: entry.action, auditwatch_scope: { ...c.scope }, auditwatch_issued_by: c.issuedBy, auditwatch_alert_id: c.alertId },
  };
}

/**
 * The freeze audit log, and a Remediation Activity for each freeze and lift to every sink that writes OCSF: the
 * audit topic stays the record; the OCSF sinks get the same story in their format.
 */
export function withRemediationRecords(audit: FreezeAuditLog, sinks: readonly AlertSink[]): FreezeAuditLog {
  const ocsf = sinks.filter((s) => s.publishOcsf);
  if (ocsf.length === 0) return audit;
  return {
    async write(entries) {
      await audit.write(entries);
      const records = entries.map(remediationActivity).filter((r): r is OcsfRecord => r !== null);
      if (records.length) await Promise.all(ocsf.map((s) => s.publishOcsf!(records)));
    },
  };
}

/** freeze.auditTopic as the outputs read it: each entry a Remediation Activity, or null when it is not one. */
export function remediationFeed(auditTopic: string): RemediationFeed {
  return { topic: auditTopic, decode: (value) => remediationActivity(JSON.parse(value.toString('utf8')) as FreezeAuditEntry) };
}
