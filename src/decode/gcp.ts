import { DecodeError } from '../errors.js';
import type { AuditEvent, Verb } from '../events/audit-event.js';
import { stableId } from '../util/hash.js';
import { countObjects, singular } from './cloudtrail.js';
import type { DecodeContext, DecodeResult } from './context.js';
import { parseDocument, unwrapCompressed } from './envelopes.js';
import { isObject, optionalString, parseJson, parseTime, type JsonObject } from './json.js';
import { cloudTrailVerb } from './verbs.js';

/** GCP method verbs in lower case (compute's `instances.delete`, storage's `objects.insert`), then CamelCase. */
const GCP_VERBS: Record<string, Verb> = {
  delete: 'delete', remove: 'delete', destroy: 'delete', purge: 'delete', deletecollection: 'delete', undelete: 'create',
  insert: 'create', create: 'create', add: 'create', import: 'create', copy: 'create', clone: 'create',
  get: 'read', list: 'read', aggregatedlist: 'read', search: 'read', query: 'read', read: 'read', lookup: 'read',
  watch: 'read', getiampolicy: 'read', testiampermissions: 'read', jobcompleted: 'read',
  update: 'update', patch: 'update', set: 'update', setiampolicy: 'update', modify: 'update', replace: 'update',
  attach: 'update', detach: 'update', enable: 'update', disable: 'update', start: 'update', stop: 'update',
  reset: 'update', resize: 'update', move: 'update', rewrite: 'update', compose: 'update',
};

/** `v1.compute.instances.delete` → delete; `google.pubsub.v1.Publisher.CreateTopic` → create; `SetIamPolicy` → update. */
export function gcpVerb(methodName: string): Verb {
  const last = methodName.slice(methodName.lastIndexOf('.') + 1);
  const known = GCP_VERBS[last.toLowerCase()];
  if (known) return known;
  return cloudTrailVerb(last.charAt(0).toUpperCase() + last.slice(1)).verb;
}

/** The collection an operation acts on: `projects/p/zones/z/instances/i` → instance; else from the method. */
function nounOf(resourceName: string | undefined, methodName: string): string {
  if (resourceName) {
    const parts = resourceName.split('/').filter(Boolean);
    // …/<collection>/<id>: the collection is the segment before the last (`global` and zones sit further up).
    if (parts.length >= 2) return singular(parts[parts.length - 2]!);
  }
  const segments = methodName.split('.');
  return segments.length >= 2 ? singular(segments[segments.length - 2]!) : 'unknown';
}

function projectOf(entry: JsonObject, resourceName: string | undefined): string | undefined {
  const labels = isObject(entry.resource) && isObject(entry.resource.labels) ? entry.resource.labels : undefined;
  return optionalString(labels?.project_id)
    ?? /^projects\/([^/]+)\//.exec(optionalString(entry.logName) ?? '')?.[1]
    ?? /(?:^|\/)projects\/([^/]+)/.exec(resourceName ?? '')?.[1];
}

/** A LogEntry whose protoPayload is an AuditLog (by its @type, or its shape where an exporter dropped the type). */
export function isAuditLogEntry(doc: unknown): doc is JsonObject {
  if (!isObject(doc) || !isObject(doc.protoPayload)) return false;
  const p = doc.protoPayload;
  const type = optionalString(p['@type']) ?? optionalString(p.at_sign_type) ?? optionalString(p.at_type);
  return type ? type.endsWith('google.cloud.audit.AuditLog') : typeof p.methodName === 'string';
}

/** A LogEntry (with or without an audit payload), or a Pub/Sub message carrying one, as sinks export them. */
export function looksLikeGcp(doc: unknown): boolean {
  if (Array.isArray(doc)) return doc.length > 0 && looksLikeGcp(doc[0]);
  if (!isObject(doc)) return false;
  if (isObject(doc.message) && typeof doc.message.data === 'string') return true;
  return isObject(doc.protoPayload) || (typeof doc.logName === 'string' && typeof doc.insertId === 'string');
}

export function gcpEntryToEvent(entry: JsonObject, ctx: DecodeContext): AuditEvent {
  const p = entry.protoPayload as JsonObject;
  const methodName = optionalString(p.methodName);
  if (!methodName) throw new DecodeError('DECODE_MISSING_FIELD', 'gcp-audit: protoPayload.methodName is missing');
  const when = optionalString(entry.timestamp) ?? optionalString(entry.receiveTimestamp);
  if (!when) throw new DecodeError('DECODE_MISSING_FIELD', 'gcp-audit: timestamp is missing');
  const auth = isObject(p.authenticationInfo) ? p.authenticationInfo : {};
  const email = optionalString(auth.principalEmail) ?? optionalString(auth.principalSubject);
  const service = optionalString(p.serviceName)?.replace(/\.googleapis\.com$/, '') ?? methodName.split('.')[1] ?? 'gcp';
  const resourceName = optionalString(p.resourceName);
  const status = isObject(p.status) ? p.status : undefined;
  const verb = gcpVerb(methodName);
  const kind = !email ? 'unknown'
    : email.endsWith('.gserviceaccount.com') || auth.serviceAccountKeyName !== undefined ? 'service'
      : ctx.classifyPrincipalName(email) ?? 'human';
  const insertId = optionalString(entry.insertId) ?? optionalString(entry.insertid);
  return {
    id: insertId ? `gcp:${insertId}` : stableId('gcp', methodName, when, resourceName ?? '', email ?? ''),
    time: parseTime(when, 'gcp-audit: timestamp'),
    principal: { id: email ?? 'unknown', kind },
    action: methodName,
    verb,
    resource: { type: `${service}:${nounOf(resourceName, methodName).toLowerCase()}`, id: resourceName ?? '' },
    environment: ctx.environmentForProject(projectOf(entry, resourceName)),
    source: 'gcp',
    outcome: status && typeof status.code === 'number' && status.code !== 0 ? 'failure' : 'success',
    changeTicket: null,
    objectCount: verb === 'read' ? 1 : Math.max(1, countObjects(p.request)),
  };
}

/** The entries in a document: one, an array, or a Pub/Sub message whose base64 `data` is one. */
function entriesOf(doc: unknown, out: unknown[]): void {
  if (Array.isArray(doc)) for (const d of doc) entriesOf(d, out);
  else if (isObject(doc) && isObject(doc.message) && typeof doc.message.data === 'string') {
    entriesOf(parseJson(unwrapCompressed(Buffer.from(doc.message.data, 'base64'))), out);
  } else out.push(doc);
}

/**
 * Google Cloud Audit Logs: LogEntry JSON whose protoPayload is an AuditLog, one per message, an array, one per line,
 * or inside Pub/Sub messages as Logging sinks publish them. Entries that are not audit logs are counted as ignored.
 */
export function decodeGcpAudit(value: Buffer, ctx: DecodeContext): DecodeResult {
  return gcpFromDocument(parseDocument(value), ctx);
}

export function gcpFromDocument(doc: unknown, ctx: DecodeContext): DecodeResult {
  const entries: unknown[] = [];
  entriesOf(doc, entries);
  const events: AuditEvent[] = [];
  let ignored = 0;
  for (const e of entries) {
    if (isAuditLogEntry(e)) events.push(gcpEntryToEvent(e, ctx));
    else if (isObject(e) && (typeof e.logName === 'string' || typeof e.logname === 'string')) ignored++;
    else throw new DecodeError('DECODE_MISSING_FIELD', 'gcp-audit: not a LogEntry (no protoPayload and no logName)');
  }
  return { events, ignored };
}
