import { DecodeError } from '../errors.js';
import { OUTCOMES, PRINCIPAL_KINDS, VERBS, type AuditEvent } from '../events/audit-event.js';
import { auditEventType, decodeEventBatch, decodeRawEvent } from '../events/avro.js';
import { confluentSchemaId, type WriterSchemas } from '../kafka/schema-registry.js';
import type { DecodeContext, DecodeResult } from './context.js';
import { isObject, optionalString, parseJson, parseTime, requireString, type JsonObject } from './json.js';

function oneOf<T extends string>(value: unknown, allowed: readonly T[], what: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new DecodeError('DECODE_BAD_FIELD', `canonical: ${what} must be one of ${allowed.join('/')}, got ${JSON.stringify(value)}`);
}

function eventTime(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'string') return parseTime(v, 'canonical time');
  throw new DecodeError('DECODE_MISSING_FIELD', 'canonical: missing time (epoch ms or ISO-8601)');
}

/** Validates a canonical event object (from JSON or Avro) and returns it as an AuditEvent. */
export function canonicalToEvent(obj: JsonObject): AuditEvent {
  const principal = isObject(obj.principal) ? obj.principal : undefined;
  const resource = isObject(obj.resource) ? obj.resource : undefined;
  if (!principal) throw new DecodeError('DECODE_MISSING_FIELD', 'canonical: missing object "principal"');
  if (!resource) throw new DecodeError('DECODE_MISSING_FIELD', 'canonical: missing object "resource"');
  const count = obj.objectCount === undefined ? 1 : obj.objectCount;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
    throw new DecodeError('DECODE_BAD_FIELD', `canonical: objectCount must be a non-negative integer, got ${JSON.stringify(count)}`);
  }
  const bytesOut = obj.bytesOut ?? undefined;
  if (bytesOut !== undefined && (typeof bytesOut !== 'number' || !Number.isSafeInteger(bytesOut) || bytesOut < 0)) {
    throw new DecodeError('DECODE_BAD_FIELD', `canonical: bytesOut must be a non-negative integer or null, got ${JSON.stringify(bytesOut)}`);
  }
  const event: AuditEvent = {
    id: requireString(obj, 'id', 'canonical'),
    time: eventTime(obj.time),
    principal: { id: requireString(principal, 'id', 'canonical principal'), kind: oneOf(principal.kind ?? 'unknown', PRINCIPAL_KINDS, 'principal.kind') },
    action: requireString(obj, 'action', 'canonical'),
    verb: oneOf(obj.verb, VERBS, 'verb'),
    resource: { type: requireString(resource, 'type', 'canonical resource'), id: typeof resource.id === 'string' ? resource.id : '' },
    environment: requireString(obj, 'environment', 'canonical'),
    source: optionalString(obj.source) ?? 'canonical',
    outcome: oneOf(obj.outcome ?? 'success', OUTCOMES, 'outcome'),
    changeTicket: optionalString(obj.changeTicket) ?? null,
    objectCount: count,
  };
  if (bytesOut !== undefined) event.bytesOut = bytesOut;
  return event;
}

export function decodeCanonicalJson(value: Buffer, _ctx: DecodeContext): DecodeResult {
  return canonicalFromDocument(parseJson(value));
}

export function canonicalFromDocument(doc: unknown): DecodeResult {
  const items = Array.isArray(doc) ? doc : [doc];
  return {
    events: items.map((item) => {
      if (!isObject(item)) throw new DecodeError('DECODE_BAD_FIELD', 'canonical: event is not an object');
      return canonicalToEvent(item);
    }),
    ignored: 0,
  };
}

/**
 * Canonical Avro, raw or in the Confluent wire format. With a schema registry the body is read with the writer schema
 * its id names (Avro schema resolution: a field added with a default decodes); without one the schema id is not
 * looked up, the body is read with schemas/audit-event.avsc, and a body that does not fit is rejected.
 */
export function decodeCanonicalAvro(value: Buffer, ctx: DecodeContext): DecodeResult {
  if (value.length === 0) throw new DecodeError('DECODE_EMPTY', 'empty record');
  const schemaId = confluentSchemaId(value);
  if (schemaId !== undefined && ctx.writerSchemas) return { events: [canonicalToEvent(withWriterSchema(value, schemaId, ctx.writerSchemas))], ignored: 0 };
  const body = schemaId !== undefined ? value.subarray(5) : value;
  let decoded: unknown;
  try {
    decoded = decodeRawEvent(body);
  } catch (err) {
    // A raw body can itself begin with a 0 byte (an empty id string); try it whole before giving up.
    if (body !== value) {
      try {
        decoded = decodeRawEvent(value);
      } catch {
        /* report the first error */
      }
    }
    if (decoded === undefined) throw new DecodeError('DECODE_NOT_AVRO', `not a canonical Avro AuditEvent: ${(err as Error).message}`, err);
  }
  return { events: [canonicalToEvent(decoded as JsonObject)], ignored: 0 };
}

/** Many canonical events in one record (what the repartition topic carries; see encodeEventBatch). */
export function decodeCanonicalAvroBatch(value: Buffer, _ctx: DecodeContext): DecodeResult {
  if (value.length === 0) throw new DecodeError('DECODE_EMPTY', 'empty record');
  let decoded: unknown[];
  try {
    decoded = decodeEventBatch(value);
  } catch (err) {
    throw new DecodeError('DECODE_NOT_AVRO', `not a canonical Avro event batch: ${(err as Error).message}`, err);
  }
  return { events: (decoded as JsonObject[]).map(canonicalToEvent), ignored: 0 };
}

function withWriterSchema(value: Buffer, schemaId: number, writers: WriterSchemas): JsonObject {
  const writer = writers.lookup(schemaId);
  if (!writer) throw new DecodeError('DECODE_SCHEMA_PENDING', `schema id ${schemaId} not looked up yet`);
  if ('unreadable' in writer) throw new DecodeError('DECODE_SCHEMA_UNKNOWN', writer.unreadable);
  try {
    return auditEventType.fromBuffer(value.subarray(5), writer.resolver) as JsonObject;
  } catch (err) {
    throw new DecodeError('DECODE_NOT_AVRO', `does not decode with schema id ${schemaId}: ${(err as Error).message}`, err);
  }
}
