import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import { listening } from '../util/net.js';
import type { WriteGate } from './write-gate.js';

export interface GateServer {
  server: Server;
  port: number;
  stop(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

/**
 * The write gate over HTTP, for services in any language (a sidecar on loopback):
 *   GET /v1/check?environment=E&principal=P&resourceType=T → 200 {"allowed":true}, or 423 with the freeze;
 *   GET /healthz → 200; GET /readyz → 200 once the control topic has been read to where it stood at start;
 *   GET /metrics → Prometheus text, when a registry is given.
 * Until it is ready, /v1/check answers 503: a gate that has not read the topic cannot say a write is allowed.
 */
export async function startGateServer(gate: WriteGate, opts: { host: string; port: number; registry?: Registry }): Promise<GateServer> {
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://gate');
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'method not allowed' });
    switch (url.pathname) {
      case '/v1/check': {
        if (!gate.ready) return json(res, 503, { error: 'not ready: still reading the control topic' });
        const environment = url.searchParams.get('environment');
        const principal = url.searchParams.get('principal');
        const resourceType = url.searchParams.get('resourceType');
        const missing = [['environment', environment], ['principal', principal], ['resourceType', resourceType]].filter(([, v]) => !v).map(([k]) => k);
        if (missing.length) return json(res, 400, { error: `missing query parameter(s): ${missing.join(', ')}` });
        const freeze = gate.check(environment!, principal!, resourceType!);
        if (!freeze) return json(res, 200, { allowed: true });
        return json(res, 423, {
          allowed: false, error: 'frozen', scope: freeze.scopeKey, alertId: freeze.alertId, reason: freeze.reason,
          until: new Date(freeze.expiresAt).toISOString(), issuedBy: freeze.issuedBy,
        });
      }
      case '/healthz':
        return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      case '/readyz':
        return void res.writeHead(gate.ready ? 200 : 503, { 'content-type': 'text/plain' }).end(gate.ready ? 'ready\n' : 'not ready\n');
      case '/metrics':
        if (!opts.registry) break;
        opts.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': Registry.PROMETHEUS_CONTENT_TYPE }).end(text),
          (err: Error) => res.writeHead(500).end(err.message),
        );
        return;
    }
    json(res, 404, { error: 'not found' });
  };
  const server = createServer(handle);
  // Keep-alive connections from a busy service: the check is sub-millisecond, the TCP handshake would not be.
  server.keepAliveTimeout = 60_000;
  return listening(server, opts.host, opts.port);
}
