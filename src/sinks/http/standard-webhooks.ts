import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks (standardwebhooks.com): the signature covers `id.timestamp.body` with HMAC-SHA256, so a captured
 * request cannot be replayed later (the receiver checks the timestamp) nor with another body. A `whsec_` secret is
 * base64 after the prefix, as the reference libraries read it; any other string is used as its UTF-8 bytes.
 */
export function webhookKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
}

/** The `webhook-signature` header's value for one request: `v1,<base64 HMAC>`. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  return `v1,${createHmac('sha256', webhookKey(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/** The three headers a Standard Webhooks request carries. */
export function webhookHeaders(secret: string, id: string, body: string, nowMs = Date.now()): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000);
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secret, id, timestamp, body) };
}

/**
 * A receiver's check (what the tests and a user's receiver run): one of the space-separated signatures matches, and
 * the timestamp is within `toleranceSeconds` of now.
 */
export function verifyWebhook(secret: string, headers: Record<string, string | string[] | undefined>, body: string, nowMs = Date.now(), toleranceSeconds = 300): boolean {
  const id = String(headers['webhook-id'] ?? '');
  const timestamp = Number(headers['webhook-timestamp']);
  const given = String(headers['webhook-signature'] ?? '').split(' ');
  if (!id || !Number.isInteger(timestamp) || Math.abs(nowMs / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, id, timestamp, body));
  return given.some((s) => s.length === expected.length && timingSafeEqual(Buffer.from(s), expected));
}
