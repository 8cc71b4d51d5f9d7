import { ephemeralSigning } from '../../src/sim/config.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { stringify } from 'yaml';
import type { Alert } from '../../src/alerts/alert.js';
import { ELB_JANITOR, SIM_ACCOUNTS, type CloudTrailRecord } from '../../src/sim/cloudtrail-sim.js';
import { fresh } from './kafka.js';

/** The simulated ELB janitor, as auditwatch names it in alerts and freezes. */
export const JANITOR_ARN = `arn:aws:iam::${SIM_ACCOUNTS.production}:role/${ELB_JANITOR}`;

/** Unkeyed, as CloudTrail often arrives (auditwatch re-keys it itself), with event time as the message timestamp. */
export async function produceCloudTrail(producer: Producer, topic: string, records: readonly CloudTrailRecord[], perSend = 200): Promise<void> {
  for (let i = 0; i < records.length; i += perSend) {
    await producer.send({ topic, messages: records.slice(i, i + perSend).map((r) => ({ value: JSON.stringify(r), timestamp: String(Date.parse(r.eventTime)) })) });
  }
}

/** One test's fresh names: its input topic, its consumer group, and the topics writeRunConfig sends output to. */
export interface RunNames {
  run: string;
  input: string;
  group: string;
  alertsTopic: string;
  controlTopic: string;
}

export function runNames(prefix: string): RunNames {
  const run = fresh(prefix).replace('.', '-');
  return { run, input: `audit.${run}`, group: `aw-${run}`, alertsTopic: `alerts.${run}`, controlTopic: `control.${run}` };
}

/**
 * A config for `auditwatch run` on the run's input with the simulated accounts, freezes enforced for critical alerts
 * in production, local state under `dir`, and quick group failure detection.
 */
export function writeRunConfig(dir: string, names: RunNames, o: { brokers: string[]; port: number; groupId?: string; clientId?: string; outputs?: object[] }): string {
  const path = join(dir, 'config.yaml');
  const groupId = o.groupId ?? names.group;
  writeFileSync(path, stringify({
    kafka: { brokers: o.brokers, clientId: o.clientId ?? groupId, groupId, consumer: { sessionTimeout: '6s', heartbeatInterval: '1s', maxWaitTime: '50ms' } },
    sources: [{ type: 'kafka', topics: [names.input], format: 'cloudtrail' }],
    environments: { awsAccounts: { [SIM_ACCOUNTS.production]: 'production', [SIM_ACCOUNTS.staging]: 'staging' } },
    alerts: { sinks: [{ type: 'kafka', topic: names.alertsTopic }, ...(o.outputs ?? [])] },
    freeze: { mode: 'enforce', ...ephemeralSigning(), controlTopic: names.controlTopic, auditTopic: `audit-log.${names.run}`, rules: [{ severities: ['critical'], environments: ['production'], scope: 'principal', ttl: '1h' }] },
    deadLetter: { topic: `dead.${names.run}` },
    metrics: { port: o.port },
    state: { dir: join(dir, 'state') },
  }));
  return path;
}

/**
 * The incident's calls, ten at a time, until auditwatch alerts the janitor critical (or 400 calls went out).
 * Returns how many were sent.
 */
export async function sendUntilCritical(producer: Producer, topic: string, incident: readonly CloudTrailRecord[], janitorAlerts: () => Alert[]): Promise<number> {
  let sent = 0;
  while (sent < 400 && !janitorAlerts().some((x) => x.severity === 'critical')) {
    await produceCloudTrail(producer, topic, incident.slice(sent, sent + 10));
    sent += 10;
    await new Promise((r) => setTimeout(r, 50));
  }
  return sent;
}

/** Bulk-delete alert ids by resource type: one incident per type should keep one id whatever happens. */
export function bulkDeleteIds(alerts: readonly Alert[]): Map<string, Set<string>> {
  const ids = new Map<string, Set<string>>();
  for (const x of alerts) if (x.detector === 'bulk-delete') ids.set(x.resourceType, (ids.get(x.resourceType) ?? new Set()).add(x.id));
  return ids;
}
