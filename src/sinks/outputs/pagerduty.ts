import type { Alert } from '../../alerts/alert.js';
import type { OutputSpec } from '../../config/schema.js';
import { SEVERITY_RANK } from '../../detectors/detector.js';
import { postWithRetries } from '../http/post.js';
import { alertFilter, outputName, retrySettings, type AlertOutput } from './output.js';

type PagerDutySpec = Extract<OutputSpec, { type: 'pagerduty' }>;

/**
 * A PagerDuty Events API v2 event for an alert: the alert id is the dedup key, so its revisions are one incident; a
 * closed incident resolves it.
 */
export function pagerDutyEvent(a: Alert, routingKey: string): Record<string, unknown> {
  if (a.closed) return { routing_key: routingKey, event_action: 'resolve', dedup_key: a.id };
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: a.id,
    payload: {
      summary: `${a.severity} ${a.detector}: ${a.principal} on ${a.resourceType} in ${a.environment}`.slice(0, 1024),
      source: 'auditwatch',
      severity: a.severity === 'info' ? 'info' : a.severity,
      timestamp: new Date(a.detectedAt).toISOString(),
      component: a.resourceType,
      group: a.environment,
      class: a.detector,
      custom_details: { reason: a.reason, context: a.context, action: a.action, principal: a.principal, revision: a.revision, eventCount: a.eventCount, objectCount: a.objectCount },
    },
  };
}

/**
 * Pages on an incident's first revision and when its severity rises, and resolves it when it closes; later revisions
 * at the same severity would only re-page the same incident (PagerDuty dedupes them by the dedup key anyway, so a
 * restart that forgets what was sent costs nothing). A close is sent for an incident that reached minSeverity.
 */
export function pagerDutyOutput(spec: PagerDutySpec, routingKey: string): AlertOutput {
  const sent = new Map<string, number>();
  const accepts = alertFilter(spec);
  return {
    name: outputName(spec), concurrency: spec.concurrency, type: 'pagerduty',
    accepts: (a) => accepts(a) && (a.closed || SEVERITY_RANK[a.severity] > (sent.get(a.id) ?? -1)),
    deliver: async (alert, hooks) => {
      const done = await postWithRetries(spec.url, JSON.stringify(pagerDutyEvent(alert, routingKey)), { ...retrySettings(spec), ...hooks, headers: () => ({}) });
      if (sent.size >= 100_000) sent.clear();
      if (alert.closed) sent.delete(alert.id);
      else sent.set(alert.id, SEVERITY_RANK[alert.severity]);
      return done;
    },
  };
}
