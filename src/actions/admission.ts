import { createServer, type Server } from 'node:https';
import { readConfigFile } from '../config/files.js';
import type { DecodeContext } from '../decode/context.js';
import { ConfigError } from '../errors.js';
import { listening } from '../util/net.js';
import type { FreezeCommand } from './freeze-command.js';

/** The part of an AdmissionReview v1 request the webhook reads. */
export interface AdmissionRequest {
  uid: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT' | string;
  resource?: { group?: string; version?: string; resource?: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  userInfo?: { username?: string; groups?: string[] };
  dryRun?: boolean;
}

export interface AdmissionVerdict {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason: string; message: string };
}

/** Operations that change state; CONNECT (exec, attach, port-forward) is not a write of production state. */
const WRITES = new Set(['CREATE', 'UPDATE', 'DELETE']);

type Check = (environment: string, principal: string, resourceType: string) => FreezeCommand | null;

/**
 * The decision for one admission request: denied when the request writes and its user, or one of its groups, is
 * frozen in the environment its namespace maps to (the same mapping the Kubernetes audit decoder uses). Resource
 * types are named as the decoder names them (k8s:deployments, k8s:deployments/scale), so a freeze narrowed to a type
 * binds here too. A dry-run request gets the answer the real one would.
 */
export function admissionVerdict(req: AdmissionRequest, check: Check, ctx: DecodeContext): AdmissionVerdict {
  if (!WRITES.has(req.operation)) return { uid: req.uid, allowed: true };
  const resource = req.resource?.resource;
  // A Namespace object is named by itself: deleting prod-web is a write in prod-web's environment.
  const namespace = resource === 'namespaces' && !req.namespace ? req.name : req.namespace;
  const environment = ctx.environmentForNamespace(namespace || undefined);
  const types = resource ? [...(req.subResource ? [`k8s:${resource}/${req.subResource}`] : []), `k8s:${resource}`] : ['k8s:non-resource'];
  const principals = [req.userInfo?.username, ...(req.userInfo?.groups ?? [])].filter((p): p is string => !!p);
  for (const principal of principals) {
    for (const type of types) {
      const freeze = check(environment, principal, type);
      if (!freeze) continue;
      const what = `${req.operation.toLowerCase()} ${types[0]!.slice(4)}${req.name ? ` ${req.name}` : ''}${namespace ? ` in ${namespace}` : ''}`;
      return {
        uid: req.uid,
        allowed: false,
        status: {
          code: 403,
          reason: 'Forbidden',
          message: `auditwatch: ${what}${req.dryRun ? ' (dry run)' : ''} refused: ${principal === req.userInfo?.username ? principal : `group ${principal}`} is frozen in ${environment} `
            + `until ${new Date(freeze.expiresAt).toISOString()} (freeze ${freeze.scopeKey}, alert ${freeze.alertId}): ${freeze.reason}`,
        },
      };
    }
  }
  return { uid: req.uid, allowed: true };
}

export interface AdmissionServer {
  server: Server;
  port: number;
  stop(): Promise<void>;
}

/**
 * A validating admission webhook over TLS: POST /validate takes an AdmissionReview v1 and answers one. /healthz and
 * /readyz (the control topic read to where it stood at start) for the kubelet's probes. Until it is ready it denies
 * writes with 503-coded status: an unready webhook cannot know a freeze, and failurePolicy decides the rest.
 */
export async function startAdmissionServer(opts: {
  host: string; port: number; certFile: string; keyFile: string;
  check: Check; ready: () => boolean; ctx: DecodeContext;
  onDecision?: (verdict: AdmissionVerdict, req: AdmissionRequest, ms: number) => void;
}): Promise<AdmissionServer> {
  const cert = readConfigFile(opts.certFile, 'admissionWebhook.certFile');
  const key = readConfigFile(opts.keyFile, 'admissionWebhook.keyFile');
  let server: Server;
  try {
    server = createServer({ cert, key });
  } catch (err) {
    throw new ConfigError([`config: admissionWebhook.certFile: the certificate and key do not load (${(err as Error).message})`]);
  }
  server.on('request', (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') return void res.writeHead(200).end('ok\n');
    if (req.method === 'GET' && path === '/readyz') return void res.writeHead(opts.ready() ? 200 : 503).end(opts.ready() ? 'ready\n' : 'not ready\n');
    if (req.method !== 'POST' || path !== '/validate') return void res.writeHead(404).end();
    const started = performance.now();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size <= 3 * 1024 * 1024) chunks.push(d);
    });
    req.on('end', () => {
      let review: { apiVersion?: string; kind?: string; request?: AdmissionRequest };
      try {
        review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return void res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"not an AdmissionReview: not JSON"}');
      }
      const request = review.request;
      if (review.kind !== 'AdmissionReview' || !request || typeof request.uid !== 'string') {
        return void res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"not an AdmissionReview v1 with a request"}');
      }
      const verdict: AdmissionVerdict = opts.ready()
        ? admissionVerdict(request, opts.check, opts.ctx)
        : { uid: request.uid, allowed: !WRITES.has(request.operation), status: { code: 503, reason: 'ServiceUnavailable', message: 'auditwatch: the admission webhook is still reading the control topic' } };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: verdict }));
      opts.onDecision?.(verdict, request, performance.now() - started);
    });
  });
  server.keepAliveTimeout = 60_000;
  return listening(server, opts.host, opts.port);
}
