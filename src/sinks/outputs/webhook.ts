import type { Alert } from '../../alerts/alert.js';
import type { OutputSpec } from '../../config/schema.js';
import { detectionFinding, type OcsfRecord } from '../ocsf.js';
import { postWithRetries } from '../http/post.js';
import { webhookHeaders } from '../http/standard-webhooks.js';
import { alertFilter, outputName, retrySettings, type AlertOutput, type RetryHooks } from './output.js';

type WebhookSpec = Extract<OutputSpec, { type: 'webhook' }>;

/** The body of an alert webhook: Standard Webhooks' type, timestamp and data. */
export function alertWebhookBody(alert: Alert): string {
  return JSON.stringify({ type: 'auditwatch.alert', timestamp: new Date(alert.detectedAt).toISOString(), data: alert });
}

/**
 * A signed JSON POST per alert revision. The webhook-id is the alert id and revision, the same on every retry and on
 * every redelivery after a restart, so the receiver can drop what it already has; the timestamp and signature are
 * fresh per attempt. With format ocsf the body is the OCSF record itself (a Detection Finding), and each freeze and
 * lift is posted too, as a Remediation Activity whose webhook-id is its metadata.uid.
 */
export function webhookOutput(spec: WebhookSpec, secret: string): AlertOutput {
  const accepts = alertFilter(spec);
  const post = (id: string, body: string, hooks: RetryHooks) =>
    postWithRetries(spec.url, body, { ...retrySettings(spec), ...hooks, headers: () => webhookHeaders(secret, id, body) });
  const ocsf = spec.format === 'ocsf';
  return {
    name: outputName(spec), concurrency: spec.concurrency, type: 'webhook', accepts,
    deliver: (alert, hooks) => post(`${alert.id}.${alert.revision}`, ocsf ? JSON.stringify(detectionFinding(alert)) : alertWebhookBody(alert), hooks),
    ...(ocsf ? { deliverRemediation: (record: OcsfRecord, hooks: RetryHooks) => post(record.metadata.uid, JSON.stringify(record), hooks) } : {}),
  };
}
