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
export const alertType = loadType('alert.avsc');

/** Confluent wire format: magic byte 0, a 4-byte big-endian schema id, then the Avro body. */
export function toConfluentWire(type: avro.Type, value: unknown, schemaId: number): Buffer {
  const body = type.toBuffer(value);
  const head = Buffer.alloc(5);
  head.writeUInt8(0, 0);
  head.writeUInt32BE(schemaId, 1);
  return Buffer.concat([head, body]);
}
