import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';

/** schemas/ at the package root, from src/events (tests) or dist/events (built). */
const SCHEMA_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');

function loadType(file: string): avro.Type {
  return avro.Type.forSchema(JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')) as avro.Schema);
}

export const auditEventType = loadType('audit-event.avsc');
/** The fields added to the event schema since events were first written as raw Avro, in the order they came. */
const ADDED_EVENT_FIELDS = ['bytesOut'] as const;
export const alertType = loadType('alert.avsc');
/** The fields added to the alert schema since alerts were first written as raw Avro, in the order they came. */
const ADDED_ALERT_FIELDS = ['windows', 'closed'] as const;

/** Reads what `type` wrote before `added` were in its schema, through Avro schema resolution (their defaults). */
function olderSchemaResolver(type: avro.Type, added: readonly string[]): avro.Resolver {
  const schema = type.schema() as { fields: Array<{ name: string }> };
  return type.createResolver(avro.Type.forSchema({ ...schema, fields: schema.fields.filter((f) => !added.includes(f.name)) } as avro.Schema));
}

/**
 * Alerts written before ADDED_ALERT_FIELDS were added (raw Avro carries no schema): read through Avro schema
 * resolution, the new fields from their defaults. Alerts written with a registry carry their schema id instead.
 */
export const alertFromOlderSchema = olderSchemaResolver(alertType, ADDED_ALERT_FIELDS);
const eventFromOlderSchema = olderSchemaResolver(auditEventType, ADDED_EVENT_FIELDS);

/**
 * A raw canonical Avro event, written with this schema or with the one before ADDED_EVENT_FIELDS (a producer or an
 * instance not upgraded yet). The older body is always shorter than the current schema needs, so the two never
 * read the same bytes differently: a body that fails the first way is tried the second.
 */
export function decodeRawEvent(body: Buffer): unknown {
  try {
    return auditEventType.fromBuffer(body);
  } catch (err) {
    try {
      return auditEventType.fromBuffer(body, eventFromOlderSchema);
    } catch {
      throw err;
    }
  }
}
/**
 * Many events in one record, as the repartition topic carries them: a 4-byte big-endian count, then each event as
 * a 4-byte length and its Avro body. Framed by hand rather than as an Avro array: an array's item count comes
 * from the bytes, and arbitrary bytes could make the reader allocate without bound.
 */
export function encodeEventBatch(events: readonly unknown[]): Buffer {
  const bodies = events.map((e) => auditEventType.toBuffer(e));
  const out = Buffer.allocUnsafe(4 + bodies.reduce((n, b) => n + 4 + b.length, 0));
  out.writeUInt32BE(bodies.length, 0);
  let at = 4;
  for (const b of bodies) {
    out.writeUInt32BE(b.length, at);
    b.copy(out, at + 4);
    at += 4 + b.length;
  }
  return out;
}

/** The events of a batch; throws on any framing that does not add up to exactly the buffer. */
export function decodeEventBatch(value: Buffer): unknown[] {
  if (value.length < 4) throw new Error('shorter than its count');
  const count = value.readUInt32BE(0);
  // Each event takes at least its 4-byte length: a count the bytes cannot hold is refused before any work.
  if (count > (value.length - 4) / 4) throw new Error(`count ${count} does not fit in ${value.length} bytes`);
  const events: unknown[] = new Array(count);
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (at + 4 > value.length) throw new Error(`event ${i}: truncated length`);
    const length = value.readUInt32BE(at);
    if (at + 4 + length > value.length) throw new Error(`event ${i}: truncated body`);
    events[i] = decodeRawEvent(value.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  if (at !== value.length) throw new Error(`${value.length - at} bytes after the last event`);
  return events;
}

/** Confluent wire format: magic byte 0, a 4-byte big-endian schema id, then the Avro body. */
export function toConfluentWire(type: avro.Type, value: unknown, schemaId: number): Buffer {
  const body = type.toBuffer(value);
  const head = Buffer.alloc(5);
  head.writeUInt8(0, 0);
  head.writeUInt32BE(schemaId, 1);
  return Buffer.concat([head, body]);
}
