import type { Alert } from '../../alerts/alert.js';
import type { OutputSpec } from '../../config/schema.js';
import { postWithRetries } from '../http/post.js';
import { webhookHeaders } from '../http/standard-webhooks.js';
import { alertFilter, outputName, retrySettings, type AlertOutput } from './output.js';

type WebhookSpec = Extract<OutputSpec, { type: 'webhook' }>;

/** The body of an alert webhook: Standard Webhooks' type, timestamp and data. */
export function alertWebhookBody(alert: Alert): string {
  return JSON.stringify({ type: 'auditwatch.alert', timestamp: new Date(alert.detectedAt).toISOString(), data: alert });
}

/**
 * A signed JSON POST per alert revision. The webhook-id is the alert id and revision, the same on every retry and on
 * every redelivery after a restart, so the receiver can drop what it already has; the timestamp and signature are
 * fresh per attempt.
 */
export function webhookOutput(spec: WebhookSpec, secret: string): AlertOutput {
  const accepts = alertFilter(spec);
  return {
    name: outputName(spec), concurrency: spec.concurrency, type: 'webhook', accepts,
    deliver: (alert, onRetry) => {
      const body = alertWebhookBody(alert);
      const id = `${alert.id}.${alert.revision}`;
      return postWithRetries(spec.url, body, { ...retrySettings(spec), onRetry, headers: () => webhookHeaders(secret, id, body) });
    },
  };
}
