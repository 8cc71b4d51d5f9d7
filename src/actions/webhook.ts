import { createHash, createHmac } from 'node:crypto';
import type { WebhookActuatorSpec } from '../config/schema.js';
import { AuditwatchError } from '../errors.js';
import type { Actuator, ApplyOutcome, RevertOutcome } from './actuator.js';
import type { FreezeCommand } from './freeze-command.js';

export const SIGNATURE_HEADER = 'x-auditwatch-signature';

/** sha256=<hex HMAC of the exact body bytes>, as receivers should recompute and compare in constant time. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Tells an HTTP endpoint to freeze or unfreeze. JSON body, HMAC-SHA256 signature, a per-attempt timeout, retries
 * with exponential backoff on network errors, 429 and 5xx (a 4xx other than 429 is final), and an Idempotency-Key
 * that is the same on every retry and on every re-delivery of the same command, so the receiver can dedupe.
 */
export class WebhookActuator implements Actuator {
  readonly name: string;
  private readonly secret: string;

  constructor(private readonly spec: WebhookActuatorSpec, env: NodeJS.ProcessEnv = process.env, private readonly sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))) {
    this.name = `webhook:${new URL(spec.url).host}`;
    const secret = env[spec.secretEnv];
    if (!secret) throw new AuditwatchError('CONFIG_INVALID', `actuator webhook: environment variable ${spec.secretEnv} is not set`);
    this.secret = secret;
  }

  async check(): Promise<void> {
    // Nothing to verify without sending: a probe request would itself be an action at the receiver.
  }

  private async send(event: 'freeze' | 'unfreeze', c: FreezeCommand): Promise<void> {
    const body = JSON.stringify({ event, command: c });
    const idempotencyKey = createHash('sha256').update(`${event}\u0000${c.alertId}\u0000${c.scopeKey}\u0000${c.expiresAt}`).digest('hex');
    let lastError = '';
    for (let attempt = 0; attempt <= this.spec.retries; attempt++) {
      if (attempt > 0) await this.sleep(Math.min(5000, 100 * 2 ** (attempt - 1)));
      try {
        const res = await fetch(this.spec.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signBody(this.secret, body), 'idempotency-key': idempotencyKey, 'x-auditwatch-event': event },
          body,
          signal: AbortSignal.timeout(this.spec.timeout),
        });
        await res.arrayBuffer();
        if (res.ok) return;
        lastError = `HTTP ${res.status}`;
        if (res.status < 500 && res.status !== 429) break;
      } catch (err) {
        lastError = (err as Error).name === 'TimeoutError' ? `timed out after ${this.spec.timeout} ms` : (err as Error).message;
      }
    }
    throw new AuditwatchError('ACTION_FAILED', `${this.name}: ${event} failed: ${lastError}`, { retriable: true });
  }

  async apply(c: FreezeCommand): Promise<ApplyOutcome> {
    await this.send('freeze', c);
    return 'applied';
  }

  async revert(c: FreezeCommand): Promise<RevertOutcome> {
    await this.send('unfreeze', c);
    return 'reverted';
  }

  async close(): Promise<void> {}
}
