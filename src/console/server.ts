import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Kafka, Producer } from 'kafkajs';
import { approvalOf, liftOf, publishOperatorRecord, requireSigner, type Operator } from '../actions/operator.js';
import type { Signer } from '../actions/signing.js';
import type { Config } from '../config/schema.js';
import { AuditwatchError, errorMessage, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { renderReportHtml } from '../report/html.js';
import { generateReport } from '../report/generate.js';
import { listening } from '../util/net.js';
import { consolePage, incidentPage, messagePage, renderTables } from './page.js';
import type { AlertFilter, ConsoleState } from './state.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Where it may listen: loopback, or anywhere with authentication. */
export function checkConsoleHost(host: string, auth: boolean): void {
  if (!LOOPBACK.has(host) && !auth) throw new UsageError(`console.host ${host} is not loopback: set console.auth (usernameEnv, passwordEnv) before serving the console beyond this machine`);
}

export interface ConsoleDeps {
  config: Config;
  state: ConsoleState;
  kafka: Kafka;
  producer: Producer;
  signer: Signer | undefined;
  operator: Operator;
  /** Basic-auth credentials, when configured. */
  credentials?: { username: string; password: string };
  /** The audit-event topic a report replays. */
  reportTopic: string;
  topics: { alerts: string; control: string; audit: string };
  log: Logger;
}

const filterOf = (url: URL): AlertFilter => ({
  severity: url.searchParams.get('severity') || undefined,
  environment: url.searchParams.get('environment') || undefined,
  detector: url.searchParams.get('detector') || undefined,
  principal: url.searchParams.get('principal') || undefined,
});

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The console's HTTP server. Reads are pages and JSON; the two writes (approve a proposal, lift a freeze) go through
 * the same signed, audited path as the CLI, named after the console's operator. Writes need the page's CSRF token
 * and a same-origin request, so another site open in the operator's browser cannot make them; with auth configured,
 * every request needs it.
 */
export async function startConsoleServer(deps: ConsoleDeps, host: string, port: number): Promise<{ port: number; stop: () => Promise<void> }> {
  const csrf = randomBytes(24).toString('hex');
  const reports = new Map<string, Promise<string>>();
  const cannotAct = deps.signer ? null : 'no freeze.signing key: approving and lifting are refused';
  const topics = `alerts ${deps.topics.alerts} · control ${deps.topics.control} · audit ${deps.topics.audit} · reports from ${deps.reportTopic}`;

  const send = (res: ServerResponse, status: number, type: string, body: string, nonce?: string) => {
    res.writeHead(status, {
      'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer',
      'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'${nonce ? `; script-src 'nonce-${nonce}'` : ''}`,
    });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, body: unknown) => send(res, status, 'application/json', JSON.stringify(body));

  const authorised = (req: IncomingMessage): boolean => {
    if (!deps.credentials) return true;
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Basic ')) return false;
    const [user, ...rest] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
    return same(user ?? '', deps.credentials.username) && same(rest.join(':'), deps.credentials.password);
  };

  const readBody = (req: IncomingMessage): Promise<Record<string, unknown>> => new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString('utf8');
      if (body.length > 16_384) req.destroy(new Error('request body too large'));
    });
    req.on('end', () => {
      try {
        const parsed = JSON.parse(body || '{}') as unknown;
        resolve(typeof parsed === 'object' && parsed !== null ? parsed as Record<string, unknown> : {});
      } catch {
        reject(new UsageError('the request body is not JSON'));
      }
    });
    req.on('error', reject);
  });

  /** A write: same origin, the page's token; then the operator's signed record and its audit entry. */
  const write = async (req: IncomingMessage, res: ServerResponse, act: (body: Record<string, unknown>) => Promise<string>) => {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}` && origin !== `https://${req.headers.host}`) return json(res, 403, { error: `refused: a request from ${origin}, not this console` });
    if (!same(String(req.headers['x-auditwatch-csrf'] ?? ''), csrf)) return json(res, 403, { error: 'refused: the console\'s page token is missing or stale; reload the page' });
    try {
      const message = await act(await readBody(req));
      json(res, 200, { message });
    } catch (err) {
      const usage = err instanceof AuditwatchError && err.code === 'USAGE';
      if (!usage) deps.log.error({ err: errorMessage(err) }, 'console action failed');
      json(res, usage ? 400 : 500, { error: errorMessage(err) });
    }
  };

  const approve = async (body: Record<string, unknown>): Promise<string> => {
    requireSigner(deps.signer);
    const alertId = typeof body.alertId === 'string' ? body.alertId : '';
    if (!alertId) throw new UsageError('approve: no alert id');
    const { command, entry } = approvalOf(deps.config, deps.state.auditEntries(), alertId, deps.operator, Date.now());
    await publishOperatorRecord(deps.config, deps.producer, deps.state.gate, deps.signer, 'freeze', command, entry);
    deps.log.info({ alertId, scope: command.scopeKey, operator: deps.operator.id }, 'freeze approved from the console');
    return `frozen: ${command.scopeKey} until ${new Date(command.expiresAt).toISOString()} (alert ${alertId}, approved by ${deps.operator.id})`;
  };

  const lift = async (body: Record<string, unknown>): Promise<string> => {
    requireSigner(deps.signer);
    const scopeKey = typeof body.scopeKey === 'string' ? body.scopeKey : '';
    if (!scopeKey) throw new UsageError('lift: no scope');
    const { command, entry } = liftOf(deps.state.gate, scopeKey, deps.operator, Date.now());
    await publishOperatorRecord(deps.config, deps.producer, deps.state.gate, deps.signer, 'lift', command, entry);
    deps.log.info({ scope: scopeKey, operator: deps.operator.id }, 'freeze lifted from the console');
    return `unfrozen: ${scopeKey} (was alert ${command.alertId}, lifted by ${deps.operator.id})`;
  };

  /** The incident's report: its window replayed from the audit-event topic with the live code, once per incident. */
  const report = (id: string): Promise<string> => {
    const inc = deps.state.incident(id);
    if (!inc) return Promise.reject(new UsageError(`no incident ${id} in this console`));
    let html = reports.get(id);
    if (!html) {
      const a = inc.latest;
      // An hour before its first event (the longest default window) to a quarter of an hour after its last revision.
      const input = { kind: 'topic' as const, topic: deps.reportTopic, from: a.firstEventTime - 3_600_000, to: a.detectedAt + 900_000 };
      html = generateReport(deps.config, input, deps.config.sources[0]?.format ?? 'auto', deps.kafka, deps.log, id).then((r) => renderReportHtml(r));
      reports.set(id, html);
      html.catch(() => reports.delete(id));
    }
    return html;
  };

  // Without auth, only requests addressed to this machine by a loopback name: a page on another site that rebinds
  // its own name to 127.0.0.1 (DNS rebinding) would otherwise be same-origin with the console, token and all.
  const allowedHost = (hostHeader: string | undefined): boolean => {
    if (deps.credentials) return true;
    const name = (hostHeader ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    return LOOPBACK.has(name) || name === host;
  };

  const server = createServer((req, res) => {
    const nonce = randomBytes(16).toString('base64');
    const page = { nonce, csrf };
    if (!allowedHost(req.headers.host)) {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end(`refused: requests to this console must name it by a loopback address, not ${req.headers.host ?? '(no host)'}\n`);
      return;
    }
    if (!authorised(req)) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="auditwatch console", charset="UTF-8"', 'content-type': 'text/plain' });
      res.end('authentication required\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://console');
    const route = `${req.method} ${url.pathname}`;
    void (async () => {
      try {
        if (route === 'GET /') return send(res, 200, 'text/html; charset=utf-8', consolePage(deps.state.snapshot(filterOf(url)), filterOf(url), { operator: deps.operator.id, cannotAct, nonce, csrf, topics }), nonce);
        if (route === 'GET /api/tables') return send(res, 200, 'text/html; charset=utf-8', renderTables(deps.state.snapshot(filterOf(url))));
        if (route === 'GET /api/state') return json(res, 200, deps.state.snapshot(filterOf(url)));
        if (route === 'POST /api/approve') return await write(req, res, approve);
        if (route === 'POST /api/lift') return await write(req, res, lift);
        if (req.method === 'GET' && url.pathname.startsWith('/incident/')) {
          const inc = deps.state.incident(decodeURIComponent(url.pathname.slice('/incident/'.length)));
          return inc ? send(res, 200, 'text/html; charset=utf-8', incidentPage(inc, page)) : send(res, 404, 'text/html; charset=utf-8', messagePage('Not found', 'No such incident in this console.', page));
        }
        if (req.method === 'GET' && url.pathname.startsWith('/report/')) {
          const id = decodeURIComponent(url.pathname.slice('/report/'.length));
          try {
            return send(res, 200, 'text/html; charset=utf-8', await report(id));
          } catch (err) {
            return send(res, err instanceof AuditwatchError && (err.code === 'USAGE' || err.code === 'INPUT_EMPTY') ? 404 : 500, 'text/html; charset=utf-8', messagePage('No report', errorMessage(err), page));
          }
        }
        send(res, 404, 'text/html; charset=utf-8', messagePage('Not found', `${route}: no such page`, page));
      } catch (err) {
        deps.log.error({ err: errorMessage(err), route }, 'console request failed');
        if (!res.headersSent) send(res, 500, 'text/html; charset=utf-8', messagePage('Error', errorMessage(err), page));
      }
    })();
  });
  const { port: bound, stop } = await listening(server, host, port);
  return { port: bound, stop };
}
