import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freezeAuditEntry, type FreezeAuditAction } from '../../src/actions/freeze-audit.js';
import { remediationActivity } from '../../src/actions/freeze-ocsf.js';
import { freezeFailedAlert } from '../../src/actions/tamper-alert.js';
import type { Alert } from '../../src/alerts/alert.js';
import { readModel } from '../../src/baseline/model.js';
import { loadConfig } from '../../src/config/load.js';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { buildDetectionPipeline } from '../../src/pipeline/assemble.js';
import { history, SHIPPED_HISTORY, withElbIncident } from '../../src/sim/scenario.js';
import { NdjsonSink } from '../../src/sinks/ndjson.js';
import { detectionFinding, OCSF_VERSION } from '../../src/sinks/ocsf.js';
import { MemorySource } from '../../src/sources/memory.js';
import { ocsfProblems } from '../helpers/ocsf.js';

const DAY = 86_400_000;

/** Every alert of a simulated day with the ELB janitor incident, from the shipped baselines. */
async function elbDayAlerts(): Promise<Alert[]> {
  const config = loadConfig(join(PROJECT_ROOT, 'config', 'simulation.yaml'), {});
  const day = SHIPPED_HISTORY.end + 3 * DAY;
  const traffic = withElbIncident(history({ seed: 5, days: 1, end: day + DAY }), { seed: 5, incidentAt: day + 14 * 3_600_000 });
  const alerts: Alert[] = [];
  const sink = new NdjsonSink('/dev/null');
  sink.publish = async (a) => void alerts.push(...a.map((x) => structuredClone(x)));
  const { pipeline } = buildDetectionPipeline({ config, model: readModel(join(PROJECT_ROOT, 'models')), autoencoder: null, metrics: new Metrics(), log: createLogger('silent'), sinks: [sink] });
  await new MemorySource(traffic.map((r) => JSON.stringify(r)), 'cloudtrail', 500).run(pipeline.handle);
  return alerts;
}

describe('OCSF records', () => {
  it(`every alert of a day with an incident is a valid OCSF ${OCSF_VERSION} Detection Finding, with each window observed against its baseline`, async () => {
    const alerts = await elbDayAlerts();
    expect(alerts.length).toBeGreaterThan(3);
    for (const alert of alerts) {
      const finding = detectionFinding(alert);
      expect({ id: alert.id, revision: alert.revision, problems: ocsfProblems(finding) }).toEqual({ id: alert.id, revision: alert.revision, problems: [] });
      expect(finding).toMatchObject({ class_uid: 2004, finding_info: { uid: alert.id }, metadata: { uid: `${alert.id}.${alert.revision}`, correlation_uid: alert.id } });
    }
    const frozen = alerts.find((a) => a.detector === 'bulk-delete' && a.severity === 'critical');
    expect(frozen).toBeDefined();
    const finding = detectionFinding(frozen!) as unknown as { anomaly_analyses: Array<{ anomalies: Array<{ observations: Array<{ value: string; timespan: { duration: number } }> }>; baselines: Array<{ observations: Array<{ value: string }> }> }>; severity_id: number };
    expect(finding.severity_id).toBe(5);
    const [analysis] = finding.anomaly_analyses;
    expect(analysis!.anomalies.map((a) => a.observations[0]!.timespan.duration)).toEqual(frozen!.windows.map((w) => w.windowMs));
    expect(analysis!.anomalies.map((a) => Number(a.observations[0]!.value))).toEqual(frozen!.windows.map((w) => w.observed));
    expect(analysis!.baselines.map((b) => Number(b.observations[0]!.value))).toEqual(frozen!.windows.map((w) => w.baseline));
    // The window that made the score crossed its threshold.
    expect(frozen!.windows.some((w) => w.observed > w.threshold)).toBe(true);
  });

  it('an actuator failure alert is a valid Detection Finding too', () => {
    const command = { scopeKey: 'environment=production;principal=p', scope: { environment: 'production', principal: 'p' }, alertId: 'a1', reason: 'r', createdAt: 1_700_000_000_000, expiresAt: 1_700_003_600_000, issuedBy: 'auditwatch' };
    expect(ocsfProblems(detectionFinding(freezeFailedAlert('apply', 'aws-iam', command, 'AccessDenied', 1_700_000_000_500)))).toEqual([]);
  });

  it('each freeze and lift is a valid Remediation Activity; a dry run, a proposal and a refusal are not remediations', () => {
    const command = { scopeKey: 'environment=production;principal=arn:aws:iam::1:role/j', scope: { environment: 'production', principal: 'arn:aws:iam::1:role/j' }, alertId: 'a1', reason: 'bulk delete', createdAt: 1_700_000_000_000, expiresAt: 1_700_003_600_000, issuedBy: 'auditwatch' };
    const actions: FreezeAuditAction[] = ['FreezeRequested', 'FreezeDryRun', 'FreezeProposed', 'FreezeApproved', 'FreezeRefused', 'FreezeManual', 'FreezeApplied', 'FreezeExpired', 'Unfreeze', 'FreezeReverted', 'FreezeFailed'];
    const records = actions.map((action) => [action, remediationActivity(freezeAuditEntry(action, command, 1_700_000_001_000, { id: 'alice', kind: 'human' }, 'detail'))] as const);
    expect(records.filter(([, r]) => r === null).map(([a]) => a)).toEqual(['FreezeDryRun', 'FreezeProposed', 'FreezeRefused']);
    for (const [action, record] of records) {
      if (!record) continue;
      expect({ action, problems: ocsfProblems(record) }).toEqual({ action, problems: [] });
    }
    const byAction = new Map(records);
    expect(byAction.get('FreezeRequested')).toMatchObject({ class_uid: 7001, activity_id: 1, status_id: 1, metadata: { correlation_uid: 'a1' } });
    expect(byAction.get('Unfreeze')).toMatchObject({ activity_id: 3, actor: { user: { uid: 'alice', type_id: 1 } } });
    expect(byAction.get('FreezeFailed')).toMatchObject({ status_id: 2 });
    // One freeze, one command_uid, from its issue to its lift.
    expect(new Set([...byAction.values()].filter(Boolean).map((r) => r!.command_uid)).size).toBe(1);
  });

  it('the schemas refuse what OCSF does not allow (an unknown severity, a field the class lacks, a missing finding uid)', () => {
    const alert = { id: 'a', revision: 0, principal: 'p', principalKind: 'service', environment: 'production', resourceType: 's3:object', severity: 'warning', score: 2, detector: 'bulk-read', reason: 'r', firstEventTime: 1, detectedAt: 2, triggerEventId: 'e', eventCount: 1, objectCount: 5, action: 'none', context: [], contextScore: 2, windows: [], closed: false } satisfies Alert;
    const good = detectionFinding(alert);
    expect(ocsfProblems(good)).toEqual([]);
    // The incident's closing revision closes the finding.
    const closed = detectionFinding({ ...alert, revision: 1, closed: true });
    expect(ocsfProblems(closed)).toEqual([]);
    expect(closed).toMatchObject({ activity_id: 3, type_uid: 200403, status_id: 4 });
    expect(ocsfProblems({ ...good, severity_id: 7 }).join('\n')).toMatch(/severity_id/);
    expect(ocsfProblems({ ...good, principal: 'p' }).join('\n')).toMatch(/additional properties \(principal\)/);
    expect(ocsfProblems({ ...good, finding_info: { title: 't' } }).join('\n')).toMatch(/uid/);
    expect(ocsfProblems({ ...good, class_uid: 3001 })).toEqual(['class_uid 3001 is not one auditwatch writes']);
  });
});
