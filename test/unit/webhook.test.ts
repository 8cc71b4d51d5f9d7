import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { scopeKey, type FreezeCommand } from '../../src/actions/freeze-command.js';
import { signBody, WebhookActuator } from '../../src/actions/webhook.js';
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
  it('signs the exact body with HMAC-SHA256 and sends the same idempotency key on every retry', async () => {
    const r = await receiver([500, 503, 200]);
    close = () => r.server.close();
    const hook = new WebhookActuator(spec(r.url), { HOOK_SECRET: 's3cret' }, noSleep);
    expect(await hook.apply(command)).toBe('applied');
    expect(r.got).toHaveLength(3);
    for (const g of r.got) expect(g.headers['x-auditwatch-signature']).toBe(signBody('s3cret', g.body));
    expect(new Set(r.got.map((g) => g.headers['idempotency-key'])).size).toBe(1);
    expect(JSON.parse(r.got[0]!.body)).toEqual({ event: 'freeze', command });
    await hook.revert(command);
    expect(r.got[3]!.headers['x-auditwatch-event']).toBe('unfreeze');
    expect(r.got[3]!.headers['idempotency-key']).not.toBe(r.got[0]!.headers['idempotency-key']);
  });

  it('a 4xx is final; retries run out on 5xx; a slow receiver times out', async () => {
    const bad = await receiver([400, 200]);
    close = () => bad.server.close();
    await expect(new WebhookActuator(spec(bad.url), { HOOK_SECRET: 'k' }, noSleep).apply(command)).rejects.toThrow(/freeze failed: HTTP 400/);
    expect(bad.got).toHaveLength(1);
    bad.server.close();
    const down = await receiver([500, 500, 500]);
    close = () => down.server.close();
    await expect(new WebhookActuator(spec(down.url, { retries: 2 }), { HOOK_SECRET: 'k' }, noSleep).apply(command)).rejects.toThrow(/HTTP 500/);
    expect(down.got).toHaveLength(3);
    down.server.close();
    const slow = await receiver([200], 1000);
    close = () => slow.server.close();
    await expect(new WebhookActuator(spec(slow.url, { retries: 0 }), { HOOK_SECRET: 'k' }, noSleep).apply(command)).rejects.toThrow(/timed out after 300 ms/);
  });

  it('refuses to start without its secret', () => {
    expect(() => new WebhookActuator(spec('http://127.0.0.1:1/x'), {})).toThrow(/HOOK_SECRET is not set/);
  });
});
