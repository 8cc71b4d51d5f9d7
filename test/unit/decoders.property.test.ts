import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { DECODERS, decodeContextFrom } from '../../src/decode/index.js';
import { AuditwatchError } from '../../src/errors.js';
import { OUTCOMES, PRINCIPAL_KINDS, VERBS, type AuditEvent } from '../../src/events/audit-event.js';
import { auditEventType, encodeEventBatch, toConfluentWire } from '../../src/events/avro.js';
import { INPUT_FORMATS } from '../../src/config/schema.js';
import { EventAdmission, EventTimeBounds } from '../../src/pipeline/admission.js';
import { parseTime } from '../../src/decode/json.js';

const ctx = decodeContextFrom(validateConfig({ environments: { awsAccounts: { '111111111111': 'production' } } }, {}));
const RUNS = { numRuns: 300 };

const canonicalEvent: fc.Arbitrary<AuditEvent> = fc.record({
  id: fc.string({ minLength: 1, maxLength: 40 }),
  time: fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2099-12-31T00:00:00Z') }),
  principal: fc.record({ id: fc.string({ minLength: 1, maxLength: 60 }), kind: fc.constantFrom(...PRINCIPAL_KINDS) }),
  action: fc.string({ minLength: 1, maxLength: 30 }),
  verb: fc.constantFrom(...VERBS),
  resource: fc.record({ type: fc.string({ minLength: 1, maxLength: 30 }), id: fc.string({ maxLength: 30 }) }),
  environment: fc.string({ minLength: 1, maxLength: 20 }),
  source: fc.string({ minLength: 1, maxLength: 20 }),
  outcome: fc.constantFrom(...OUTCOMES),
  changeTicket: fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: null }),
  objectCount: fc.integer({ min: 0, max: 1_000_000 }),
});

/** Every failure a decoder may have is a coded AuditwatchError: the dead-letter path reads only that. */
function decodesOrRejects(decode: () => unknown): void {
  try {
    decode();
  } catch (err) {
    expect(err).toBeInstanceOf(AuditwatchError);
    expect((err as AuditwatchError).code).toMatch(/^DECODE_/);
    expect((err as AuditwatchError).retriable).toBe(false);
  }
}

describe('decoders, property-based', () => {
  it('arbitrary bytes: every format decodes or rejects with a coded DecodeError, never anything else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...INPUT_FORMATS), (bytes, format) => {
      decodesOrRejects(() => DECODERS[format](Buffer.from(bytes), ctx));
    }), { numRuns: 2000 });
  });

  it('event times: the hand-read ISO form agrees with Date.parse, out-of-range fields included', () => {
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    const iso = fc.tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 25 }),
      fc.integer({ min: 0, max: 61 }), fc.integer({ min: 0, max: 61 }), fc.option(fc.integer({ min: 0, max: 999 })), fc.constantFrom('Z', 'z', '+00:00', ''))
      .map(([y, mo, d, h, mi, s, ms, zone]) => `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${ms === null ? '' : `.${pad(ms, 3)}`}${zone}`);
    fc.assert(fc.property(fc.oneof(iso, fc.string({ maxLength: 24 })), (text) => {
      const expected = Date.parse(text);
      if (Number.isNaN(expected)) expect(() => parseTime(text, 't')).toThrow(/unparseable time/);
      else expect(parseTime(text, 't')).toBe(expected);
    }), { numRuns: 20_000 });
  });

  it('arbitrary JSON values: the same', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.constantFrom(...INPUT_FORMATS), (value, format) => {
      decodesOrRejects(() => DECODERS[format](Buffer.from(JSON.stringify(value) ?? 'null'), ctx));
    }), { numRuns: 2000 });
  });

  it('canonical events round-trip through JSON, raw Avro and the Confluent wire format', () => {
    fc.assert(fc.property(canonicalEvent, fc.integer({ min: 0, max: 2 ** 31 - 1 }), (e, schemaId) => {
      expect(DECODERS['canonical-json'](Buffer.from(JSON.stringify(e)), ctx).events).toEqual([e]);
      expect(DECODERS['canonical-avro'](auditEventType.toBuffer(e), ctx).events).toEqual([e]);
      expect(DECODERS['canonical-avro'](toConfluentWire(auditEventType, e, schemaId), ctx).events).toEqual([e]);
    }), RUNS);
  });

  it('event batches (the repartition topic) round-trip, and a truncated or padded batch is rejected, never misread', () => {
    fc.assert(fc.property(fc.array(canonicalEvent, { maxLength: 20 }), fc.nat(), (events, cut) => {
      const batch = encodeEventBatch(events);
      expect(DECODERS['canonical-avro-batch'](batch, ctx).events).toEqual(events);
      const short = batch.subarray(0, cut % batch.length);
      expect(() => DECODERS['canonical-avro-batch'](short, ctx)).toThrow(AuditwatchError);
      expect(() => DECODERS['canonical-avro-batch'](Buffer.concat([batch, Buffer.from([0])]), ctx)).toThrow(/bytes after the last event/);
    }), RUNS);
  });

  it('a truncated canonical record never decodes to a different event', () => {
    fc.assert(fc.property(canonicalEvent, fc.nat(), (e, cut) => {
      const json = Buffer.from(JSON.stringify(e));
      const avro = auditEventType.toBuffer(e);
      const j = json.subarray(0, cut % json.length);
      const a = avro.subarray(0, cut % avro.length);
      decodesOrRejects(() => DECODERS['canonical-json'](j, ctx));
      decodesOrRejects(() => DECODERS['canonical-avro'](a, ctx));
      try {
        const got = DECODERS['canonical-avro'](a, ctx).events[0];
        expect(got).toEqual(e); // if a prefix happens to decode, it must be the same event (never a corrupted one)
      } catch {
        /* rejected: fine */
      }
    }), RUNS);
  });

  it('CloudTrail-shaped records with random field values decode or reject with a code', () => {
    const record = fc.record({
      eventID: fc.oneof(fc.uuid(), fc.constant(''), fc.integer()),
      eventTime: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string()),
      eventSource: fc.oneof(fc.constantFrom('ec2.amazonaws.com', 's3.amazonaws.com'), fc.string()),
      eventName: fc.oneof(fc.constantFrom('DeleteBucket', 'TerminateInstances', 'GetObject'), fc.string()),
      recipientAccountId: fc.oneof(fc.constant('111111111111'), fc.string()),
      userIdentity: fc.oneof(fc.constant(null), fc.record({ type: fc.constantFrom('IAMUser', 'AssumedRole', 'Root', 'AWSService', 'Weird'), arn: fc.string() }, { requiredKeys: [] })),
      requestParameters: fc.oneof(fc.constant(null), fc.dictionary(fc.string(), fc.jsonValue())),
      errorCode: fc.option(fc.string()),
    }, { requiredKeys: [] });
    fc.assert(fc.property(record, (r) => {
      decodesOrRejects(() => {
        const [e] = DECODERS.cloudtrail(Buffer.from(JSON.stringify(r)), ctx).events;
        expect(e!.objectCount).toBeGreaterThanOrEqual(1);
        expect(VERBS).toContain(e!.verb);
      });
    }), { numRuns: 1000 });
  });
});

describe('the future bound', () => {
  // The clock is not read for every event: a reading is reused while events stay within its bound.
  it('follows a clock that moves on, and notices one stepped back within 1,025 events', () => {
    const t0 = Date.parse('2026-06-01T00:00:00Z');
    let clock = t0;
    const bounds = new EventTimeBounds(1000, () => clock);
    const at = (offset: number) => bounds.admit({ id: `e${offset}`, time: t0 + offset } as AuditEvent).ok;
    expect(at(500)).toBe(true);
    expect(at(1001)).toBe(false);
    // Past the bound as last read, but not the clock's bound now: the clock is read again.
    clock = t0 + 10_000;
    expect(at(10_500)).toBe(true);
    expect(at(11_001)).toBe(false);
    // Stepped back: the older, later reading may still be used for a while, but not past 1,024 further events.
    clock = t0;
    for (let i = 0; i < 1025; i++) at(0);
    expect(at(10_500)).toBe(false);
    expect(at(900)).toBe(true);
  });
});

describe('admission, property-based', () => {
  it('admits each id once within the window, and never an event too far in the future', () => {
    const now = Date.parse('2026-06-01T00:00:00Z');
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: -10 * 86_400_000, max: 2 * 3_600_000 })), { maxLength: 200 }), (items) => {
      const admission = new EventAdmission({ maxFutureSkewMs: 900_000, dedupeWindow: 1000 }, () => now);
      const admitted = new Set<string>();
      for (const [id, offset] of items) {
        const verdict = admission.admit({ id: `e${id}`, time: now + offset } as AuditEvent);
        if (offset > 900_000) expect(verdict.ok).toBe(false);
        if (verdict.ok) {
          expect(admitted.has(`e${id}`)).toBe(false);
          admitted.add(`e${id}`);
        }
      }
    }), RUNS);
  });
});
