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

/**
 * `2026-02-02T10:11:12Z` or `2026-02-02T10:11:12.345Z`, the form CloudTrail and most producers write, read digit
 * by digit: Date.parse costs more than the rest of mapping a record. Only values every field of which is plainly in
 * range take this path, so it agrees with Date.parse wherever it answers (a property test checks); anything else
 * (another form, an offset, 24:00, 31 February) is Date.parse's to judge.
 */
function parseUtcIso(text: string): number | undefined {
  const len = text.length;
  if ((len !== 20 && len !== 24) || text.charCodeAt(len - 1) !== 0x5a /* Z */) return undefined;
  if (text.charCodeAt(4) !== 0x2d || text.charCodeAt(7) !== 0x2d || text.charCodeAt(10) !== 0x54 || text.charCodeAt(13) !== 0x3a || text.charCodeAt(16) !== 0x3a) return undefined;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  let ms = 0;
  if (len === 24) {
    if (text.charCodeAt(19) !== 0x2e) return undefined;
    ms = digits(text, 20, 3);
  }
  // Date.parse's range for this form; Date.UTC would also read years 0-99 as 1900-1999.
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > 28 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || ms < 0) {
    return undefined;
  }
  return daysFromCivil(year, month, day) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + ms;
}

/**
 * Days from 1970-01-01 to a date of the proleptic Gregorian calendar (H. Hinnant's days_from_civil): what Date.UTC
 * computes, in plain arithmetic at a quarter of its cost, for the years 1000-9999 that reach it.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** The decimal number in text[at, at+count), or -1 if any of it is not a digit. */
function digits(text: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** 'YYYY-MM-DD hh:mm:ss[.f]' with no zone, as some exporters write it: UTC, not this machine's local time. */
const SPACED_UTC = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/;

export function parseTime(text: string, what: string): number {
  const t = parseUtcIso(text) ?? Date.parse(SPACED_UTC.test(text) ? `${text.replace(' ', 'T')}Z` : text);
  if (Number.isNaN(t)) throw new DecodeError('DECODE_BAD_FIELD', `${what}: unparseable time "${text}"`);
  return t;
}
