import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { scopeKey, type FreezeCommand } from '../../src/actions/freeze-command.js';
import { buildActuators } from '../../src/actions/index.js';
import { WebhookActuator } from '../../src/actions/webhook.js';
import { signWebhook, verifyWebhook } from '../../src/sinks/http/standard-webhooks.js';
import { validateConfig } from '../../src/config/load.js';
import type { WebhookActuatorSpec } from '../../src/config/schema.js';

interface Received { body: string; headers: IncomingMessage['headers'] }

async function receiver(statuses: number[], delayMs = 0) {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push({ body, headers: req.headers });
      setTimeout(() => res.writeHead(statuses.shift() ?? 200).end(), delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { got, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/freeze` };
}

function spec(url: string, extra: Record<string, unknown> = {}): WebhookActuatorSpec {
  return validateConfig({ freeze: { actuators: [{ type: 'webhook', url, secretEnv: 'HOOK_SECRET', timeout: '300ms', ...extra }] } }, {}).freeze.actuators[0] as WebhookActuatorSpec;
}

const scope = { environment: 'production', principal: 'svc' };
const command: FreezeCommand = { scopeKey: scopeKey(scope), scope, alertId: 'alert-w', reason: 'r', createdAt: 1, expiresAt: 3_600_001, issuedBy: 'auditwatch' };
const noSleep = async () => {};
let close: (() => void) | undefined;
afterEach(() => close?.());

describe('the webhook actuator', () => {
  it('signs id.timestamp.body as Standard Webhooks do, and sends the same webhook-id on every retry', async () => {
    const r = await receiver([500, 503, 200]);
    close = () => r.server.close();
    const hook = new WebhookActuator(spec(r.url), 's3cret', noSleep);
    expect(await hook.apply(command)).toBe('applied');
    expect(r.got).toHaveLength(3);
    for (const g of r.got) expect(verifyWebhook('s3cret', g.headers, g.body)).toBe(true);
    // A captured request replayed later, or with another body, does not verify.
    expect(verifyWebhook('s3cret', r.got[0]!.headers, r.got[0]!.body, Date.now() + 3_600_000)).toBe(false);
    expect(verifyWebhook('s3cret', r.got[0]!.headers, r.got[0]!.body.replace('freeze', 'unfreeze'))).toBe(false);
    expect(new Set(r.got.map((g) => g.headers['webhook-id'])).size).toBe(1);
    expect(new Set(r.got.map((g) => g.headers['idempotency-key'])).size).toBe(1);
    expect(JSON.parse(r.got[0]!.body)).toEqual({ event: 'freeze', command });
    await hook.revert(command);
    expect(r.got[3]!.headers['x-auditwatch-event']).toBe('unfreeze');
    expect(r.got[3]!.headers['idempotency-key']).not.toBe(r.got[0]!.headers['idempotency-key']);
  });

  it('reproduces the Standard Webhooks test vector, so a receiver\'s library accepts what is sent', () => {
    expect(signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}'))
      .toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('a 4xx is final; retries run out on 5xx; a slow receiver times out', async () => {
    const bad = await receiver([400, 200]);
    close = () => bad.server.close();
    await expect(new WebhookActuator(spec(bad.url), 'k', noSleep).apply(command)).rejects.toThrow(/freeze failed: .*refused with HTTP 400/);
    expect(bad.got).toHaveLength(1);
    bad.server.close();
    const down = await receiver([500, 500, 500]);
    close = () => down.server.close();
    await expect(new WebhookActuator(spec(down.url, { retries: 2 }), 'k', noSleep).apply(command)).rejects.toThrow(/HTTP 500/);
    expect(down.got).toHaveLength(3);
    down.server.close();
    const slow = await receiver([200], 1000);
    close = () => slow.server.close();
    await expect(new WebhookActuator(spec(slow.url, { retries: 0 }), 'k', noSleep).apply(command)).rejects.toThrow(/timed out after 300 ms/);
  });

  it('refuses to start without its secret', () => {
    const config = validateConfig({ freeze: { actuators: [spec('http://127.0.0.1:1/x')] } }, {});
    expect(() => buildActuators(config, {})).toThrow('config: freeze.actuators.0.secretEnv: environment variable HOOK_SECRET is not set');
  });
});
