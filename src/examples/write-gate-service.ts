import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Kafka } from 'kafkajs';
import { WriteGate } from '../actions/write-gate.js';

/**
 * A small protected service: it embeds the write gate and refuses writes to a frozen scope with 423 Locked.
 * POST /write?environment=production&principal=...&resourceType=... stands for any state-changing call.
 */
export async function startWriteGateService(kafka: Kafka, controlTopic: string, port = 0): Promise<{ server: Server; port: number; gate: WriteGate; stop: () => Promise<void> }> {
  const gate = new WriteGate(kafka, controlTopic);
  await gate.start();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'POST' || url.pathname !== '/write') return void res.writeHead(404).end();
    const environment = url.searchParams.get('environment') ?? '';
    const principal = url.searchParams.get('principal') ?? '';
    const resourceType = url.searchParams.get('resourceType') ?? '';
    const freeze = gate.check(environment, principal, resourceType);
    if (freeze) {
      res.writeHead(423, { 'content-type': 'application/json' }).end(JSON.stringify({
        error: 'frozen', scope: freeze.scopeKey, alertId: freeze.alertId, reason: freeze.reason, until: new Date(freeze.expiresAt).toISOString(),
      }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return {
    server, gate, port: (server.address() as AddressInfo).port,
    stop: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await gate.stop();
    },
  };
}
