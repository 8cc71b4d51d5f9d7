import type { Alert } from '../../alerts/alert.js';
import type { OutputSpec } from '../../config/schema.js';
import { postWithRetries } from '../http/post.js';
import { alertFilter, outputName, retrySettings, type AlertOutput } from './output.js';

type AlertmanagerSpec = Extract<OutputSpec, { type: 'alertmanager' }>;

/**
 * An alert as Alertmanager's API v2 takes it. The labels identify the incident (Alertmanager groups and dedupes by
 * them); every revision re-posts it with a later `endsAt`: the incident's last event plus `incidentGap`, after which
 * auditwatch would open a new incident, so an incident resolves by itself; its closing revision resolves it at once.
 */
export function alertmanagerAlert(a: Alert, incidentGap: number): Record<string, unknown> {
  return {
    labels: {
      alertname: 'AuditwatchIncident', severity: a.severity, detector: a.detector, environment: a.environment,
      principal: a.principal, resource_type: a.resourceType, alert_id: a.id,
    },
    annotations: {
      summary: `${a.severity} ${a.detector}: ${a.principal} on ${a.resourceType} in ${a.environment}`,
      description: a.reason,
      context: a.context.join('; '),
      action: a.action,
      revision: String(a.revision),
    },
    startsAt: new Date(a.firstEventTime).toISOString(),
    endsAt: new Date(a.closed ? a.detectedAt : a.detectedAt + incidentGap).toISOString(),
  };
}

export function alertmanagerOutput(spec: AlertmanagerSpec, incidentGap: number): AlertOutput {
  const url = `${spec.url.replace(/\/+$/, '')}/api/v2/alerts`;
  return {
    name: outputName(spec), concurrency: spec.concurrency, type: 'alertmanager', accepts: alertFilter(spec),
    deliver: (alert, hooks) => postWithRetries(url, JSON.stringify([alertmanagerAlert(alert, incidentGap)]), { ...retrySettings(spec), ...hooks, headers: () => ({}) }),
  };
}
