import { parse as parseCsv } from 'csv-parse/sync';
import { DecodeError } from '../errors.js';
import type { AuditEvent } from '../events/audit-event.js';
import type { DecodeContext, DecodeResult } from './context.js';
import { parseDocument } from './envelopes.js';
import { isObject, optionalString, parseTime, requireString, type JsonObject } from './json.js';
import { kubernetesVerb } from './verbs.js';

/** Only a finished request is an event; the earlier stages of the same request repeat its auditID. */
const FINAL_STAGES = new Set(['ResponseComplete', 'Panic']);

interface K8sFields {
  auditID: string;
  stage: string | undefined;
  verb: string;
  username: string;
  resource: string | undefined;
  subresource: string | undefined;
  namespace: string | undefined;
  name: string | undefined;
  requestURI: string;
  code: number | undefined;
  time: number;
  deletedItems: number | undefined;
  changeTicket: string | null;
}

function toEvent(f: K8sFields, ctx: DecodeContext): AuditEvent {
  const kind = f.username.startsWith('system:serviceaccount:') || f.username.startsWith('system:') ? 'service'
    : f.username === '' ? 'unknown' : ctx.classifyPrincipalName(f.username) ?? 'human';
  const type = f.resource ? `k8s:${f.resource}${f.subresource ? `/${f.subresource}` : ''}` : 'k8s:non-resource';
  const id = f.resource ? (f.namespace ? `${f.namespace}/${f.name ?? '*'}` : f.name ?? '*') : f.requestURI;
  const verb = kubernetesVerb(f.verb);
  return {
    id: f.auditID,
    time: f.time,
    principal: { id: f.username || 'unknown', kind },
    action: f.verb,
    verb,
    resource: { type, id },
    environment: ctx.environmentForNamespace(f.namespace),
    source: 'kubernetes',
    outcome: f.code !== undefined && f.code >= 400 ? 'failure' : 'success',
    changeTicket: f.changeTicket,
    objectCount: f.verb === 'deletecollection' ? Math.max(1, f.deletedItems ?? 1) : 1,
  };
}

function namespaceFromUri(uri: string): string | undefined {
  return /\/namespaces\/([^/?]+)\//.exec(uri)?.[1];
}

function fromAuditObject(obj: JsonObject): K8sFields {
  const user = isObject(obj.user) ? obj.user : {};
  const ref = isObject(obj.objectRef) ? obj.objectRef : {};
  const status = isObject(obj.responseStatus) ? obj.responseStatus : {};
  const response = isObject(obj.responseObject) ? obj.responseObject : {};
  const annotations = isObject(obj.annotations) ? obj.annotations : {};
  const when = optionalString(obj.requestReceivedTimestamp) ?? optionalString(obj.stageTimestamp) ?? optionalString(obj.timestamp);
  if (!when) throw new DecodeError('DECODE_MISSING_FIELD', 'k8s: missing requestReceivedTimestamp/stageTimestamp/timestamp');
  const requestURI = optionalString(obj.requestURI) ?? '';
  return {
    auditID: requireString(obj, 'auditID', 'k8s'),
    stage: optionalString(obj.stage),
    verb: requireString(obj, 'verb', 'k8s'),
    username: optionalString(user.username) ?? '',
    resource: optionalString(ref.resource),
    subresource: optionalString(ref.subresource),
    namespace: optionalString(ref.namespace) ?? namespaceFromUri(requestURI),
    name: optionalString(ref.name),
    requestURI,
    code: typeof status.code === 'number' ? status.code : undefined,
    time: parseTime(when, 'k8s timestamp'),
    deletedItems: Array.isArray(response.items) ? response.items.length : undefined,
    changeTicket: optionalString(annotations['auditwatch.dev/change-ticket']) ?? null,
  };
}

function collect(all: K8sFields[], ctx: DecodeContext): DecodeResult {
  const events: AuditEvent[] = [];
  let ignored = 0;
  for (const f of all) {
    if (f.stage === undefined || FINAL_STAGES.has(f.stage)) events.push(toEvent(f, ctx));
    else ignored++;
  }
  return { events, ignored };
}

/** audit.k8s.io/v1 (or v1beta1) Event, an EventList, an array of events, or one event per line. */
export function decodeKubernetes(value: Buffer, ctx: DecodeContext): DecodeResult {
  return kubernetesFromDocument(parseDocument(value), ctx);
}

export function kubernetesFromDocument(doc: unknown, ctx: DecodeContext): DecodeResult {
  const items = Array.isArray(doc) ? doc : isObject(doc) && Array.isArray(doc.items) ? doc.items : [doc];
  return collect(items.map((item) => {
    if (!isObject(item)) throw new DecodeError('DECODE_BAD_FIELD', 'k8s: audit event is not an object');
    return fromAuditObject(item);
  }), ctx);
}

export function looksLikeKubernetes(doc: unknown): boolean {
  if (Array.isArray(doc)) return doc.length > 0 && looksLikeKubernetes(doc[0]);
  return isObject(doc) && typeof doc.apiVersion === 'string' && doc.apiVersion.startsWith('audit.k8s.io/');
}

/**
 * Audit events flattened to CSV by Logstash (the hkerma helm-churn data set): host, timestamp, user, verb,
 * resource, subresource, name, namespace, requestURI, auditID, stage, code. The namespace column is often empty;
 * the request URI still names it.
 */
export function decodeKubernetesCsv(value: Buffer, ctx: DecodeContext): DecodeResult {
  if (value.length === 0) throw new DecodeError('DECODE_EMPTY', 'empty record');
  let rows: string[][];
  try {
    rows = parseCsv(value, { relax_column_count: true, skip_empty_lines: true });
  } catch (err) {
    throw new DecodeError('DECODE_BAD_FIELD', `k8s-csv: ${(err as Error).message}`, err);
  }
  return collect(rows.map((r) => {
    const [, timestamp, username, verb, resource, subresource, name, namespace, requestURI, auditID, stage, code] = r;
    if (!timestamp || !verb || !auditID) throw new DecodeError('DECODE_MISSING_FIELD', 'k8s-csv: row lacks timestamp, verb or auditID');
    const uri = requestURI ?? '';
    return {
      auditID, stage: stage || undefined, verb, username: username ?? '', resource: resource || undefined,
      subresource: subresource || undefined, namespace: namespace || namespaceFromUri(uri), name: name || undefined,
      requestURI: uri, code: code ? Number(code) : undefined, time: parseTime(timestamp, 'k8s-csv timestamp'),
      deletedItems: undefined, changeTicket: null,
    };
  }), ctx);
}
