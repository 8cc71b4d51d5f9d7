import { DecodeError } from '../errors.js';
import type { AuditEvent, Verb } from '../events/audit-event.js';
import { stableId } from '../util/hash.js';
import type { DecodeContext, DecodeResult } from './context.js';
import { parseDocument } from './envelopes.js';
import { isObject, optionalString, parseTime, type JsonObject } from './json.js';

/** A field that diagnostic-settings exports write as a string and the SDK/CLI as `{value, localizedValue}`. */
function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v || undefined;
  if (isObject(v)) return optionalString(v.value);
  return undefined;
}

/** The first of several spellings: camelCase (diagnostic settings), snake_case (the Python SDK and the CLI). */
function field(r: JsonObject, ...names: string[]): unknown {
  for (const n of names) if (r[n] !== undefined) return r[n];
  return undefined;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CLAIM = {
  upn: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn',
  email: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
};

/** `Microsoft.Compute/virtualMachines/delete` → delete; `/write` → update (create or update); `/read` → read. */
export function azureVerb(operationName: string): Verb {
  const last = operationName.slice(operationName.lastIndexOf('/') + 1).toLowerCase();
  if (last === 'delete') return 'delete';
  if (last === 'write') return 'update';
  if (last === 'read') return 'read';
  return 'other';
}

/** Operation stages that are not the outcome: the final record of the same operation follows. */
const NOT_FINAL = new Set(['start', 'started', 'accept', 'accepted', 'beginrequest']);

/** Records as diagnostic settings export them (`{"records": [...]}`), or one Activity Log event (camel or snake case). */
export function looksLikeAzure(doc: unknown): boolean {
  if (Array.isArray(doc)) return doc.length > 0 && looksLikeAzure(doc[0]);
  if (!isObject(doc)) return false;
  if (Array.isArray(doc.records)) return doc.records.length > 0 && looksLikeAzure(doc.records[0]);
  return field(doc, 'operationName', 'operation_name') !== undefined && field(doc, 'resourceId', 'resource_id', 'authorization') !== undefined;
}

function principalOf(r: JsonObject, ctx: DecodeContext): AuditEvent['principal'] {
  const identity = isObject(r.identity) ? r.identity : undefined;
  const claims = isObject(identity?.claims) ? identity.claims : isObject(r.claims) ? r.claims : undefined;
  const caller = optionalString(r.caller) ?? optionalString(claims?.[CLAIM.upn]) ?? optionalString(claims?.[CLAIM.email]) ?? optionalString(claims?.appid);
  if (!caller) return { id: 'unknown', kind: 'unknown' };
  // A service principal calls as its application id; a person as a user name.
  const app = GUID.test(caller) || claims?.idtyp === 'app';
  return { id: caller, kind: app ? 'service' : ctx.classifyPrincipalName(caller) ?? 'human' };
}

export function azureRecordToEvent(r: JsonObject, ctx: DecodeContext): AuditEvent | undefined {
  const operationName = text(field(r, 'operationName', 'operation_name'));
  if (!operationName) throw new DecodeError('DECODE_MISSING_FIELD', 'azure-activity: operationName is missing');
  const status = (text(field(r, 'resultType', 'status')) ?? '').toLowerCase();
  if (NOT_FINAL.has(status)) return undefined;
  const when = optionalString(field(r, 'time', 'eventTimestamp', 'event_timestamp', 'submission_timestamp'));
  if (!when) throw new DecodeError('DECODE_MISSING_FIELD', 'azure-activity: time is missing');
  const authorization = isObject(r.authorization) ? r.authorization : undefined;
  const resourceId = optionalString(field(r, 'resourceId', 'resource_id')) ?? optionalString(authorization?.scope) ?? '';
  const subscription = /\/subscriptions\/([^/]+)/i.exec(resourceId)?.[1];
  const type = operationName.includes('/') ? operationName.slice(0, operationName.lastIndexOf('/')) : operationName;
  const id = optionalString(field(r, 'eventDataId', 'event_data_id'))
    ?? stableId('azure', when, operationName, resourceId, optionalString(field(r, 'correlationId', 'correlation_id')) ?? '', status);
  return {
    id: `azure:${id}`,
    time: parseTime(when, 'azure-activity: time'),
    principal: principalOf(r, ctx),
    action: operationName,
    verb: azureVerb(operationName),
    resource: { type: `azure:${type.toLowerCase()}`, id: resourceId },
    environment: ctx.environmentForSubscription(subscription),
    source: 'azure',
    outcome: status === 'failure' || status === 'failed' ? 'failure' : 'success',
    changeTicket: null,
    objectCount: 1,
  };
}

/**
 * Azure Activity Log: the records diagnostic settings export to Event Hubs and storage (`{"records": [...]}`), one
 * event per message, an array, or one per line, in the camelCase of exports or the snake_case of the SDK and CLI.
 * A stage that is not an operation's outcome (Started, Accepted) is counted as ignored: its outcome follows.
 */
export function decodeAzureActivity(value: Buffer, ctx: DecodeContext): DecodeResult {
  return azureFromDocument(parseDocument(value), ctx);
}

export function azureFromDocument(doc: unknown, ctx: DecodeContext): DecodeResult {
  const records: unknown[] = [];
  const collect = (d: unknown) => {
    if (Array.isArray(d)) d.forEach(collect);
    else if (isObject(d) && Array.isArray(d.records)) d.records.forEach(collect);
    else records.push(d);
  };
  collect(doc);
  const events: AuditEvent[] = [];
  let ignored = 0;
  for (const r of records) {
    if (!isObject(r)) throw new DecodeError('DECODE_BAD_FIELD', 'azure-activity: a record is not an object');
    const e = azureRecordToEvent(r, ctx);
    if (e) events.push(e);
    else ignored++;
  }
  return { events, ignored };
}
