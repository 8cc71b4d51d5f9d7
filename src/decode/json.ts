import { DecodeError } from '../errors.js';

export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

export function parseJson(value: Buffer): unknown {
  if (value.length === 0) throw new DecodeError('DECODE_EMPTY', 'empty record');
  if (value.length > MAX_RECORD_BYTES) throw new DecodeError('DECODE_TOO_LARGE', `record of ${value.length} bytes exceeds ${MAX_RECORD_BYTES}`);
  try {
    return JSON.parse(value.toString('utf8'));
  } catch (err) {
    throw new DecodeError('DECODE_NOT_JSON', `not JSON: ${(err as Error).message}`, err);
  }
}

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function requireString(obj: JsonObject, key: string, what: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v.length === 0) throw new DecodeError('DECODE_MISSING_FIELD', `${what}: missing string field "${key}"`);
  return v;
}

export function optionalString(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

export function parseTime(text: string, what: string): number {
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new DecodeError('DECODE_BAD_FIELD', `${what}: unparseable time "${text}"`);
  return t;
}
