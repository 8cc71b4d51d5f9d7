import { createHash } from 'node:crypto';
import type { WebhookActuatorSpec } from '../config/schema.js';
import { AuditwatchError, errorMessage } from '../errors.js';
import { postWithRetries } from '../sinks/http/post.js';
import { webhookHeaders } from '../sinks/http/standard-webhooks.js';
import type { Actuator, ApplyOutcome, RevertOutcome } from './actuator.js';
import type { FreezeCommand } from './freeze-command.js';

/**
 * Tells an HTTP endpoint to freeze or unfreeze: a JSON body signed as Standard Webhooks do (webhook-id,
 * webhook-timestamp, webhook-signature over id.timestamp.body, so a captured request cannot be replayed later), a
 * per-attempt timeout, and retries with jittered backoff on network errors, 408, 429 and 5xx (another 4xx is final).
 * The webhook-id (and the Idempotency-Key, for receivers that read that) is the same on every retry and on every
 * re-delivery of the same command, so the receiver can dedupe.
 */
export class WebhookActuator implements Actuator {
  readonly name: string;

  /** `secret`: the value of the spec's `secretEnv` (buildActuators reads it). */
  constructor(private readonly spec: WebhookActuatorSpec, private readonly secret: string, private readonly sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))) {
    this.name = `webhook:${new URL(spec.url).host}`;
  }

  async check(): Promise<void> {
    // Nothing to verify without sending: a probe request would itself be an action at the receiver.
  }

  private async send(event: 'freeze' | 'unfreeze', c: FreezeCommand): Promise<void> {
    const body = JSON.stringify({ event, command: c });
    const id = createHash('sha256').update(`${event}\u0000${c.alertId}\u0000${c.scopeKey}\u0000${c.expiresAt}`).digest('hex');
    try {
      await postWithRetries(this.spec.url, body, {
        timeout: this.spec.timeout, retries: this.spec.retries, backoff: 100, maxBackoff: 5000, sleep: this.sleep,
        headers: () => ({ ...webhookHeaders(this.secret, id, body), 'idempotency-key': id, 'x-auditwatch-event': event }),
      });
    } catch (err) {
      throw new AuditwatchError('ACTION_FAILED', `${this.name}: ${event} failed: ${errorMessage(err)}`, { retriable: (err as AuditwatchError).retriable ?? true, cause: err });
    }
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
