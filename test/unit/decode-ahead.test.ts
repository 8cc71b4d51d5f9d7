import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InputFormat } from '../../src/config/schema.js';
import { loadConfig } from '../../src/config/load.js';
import { decodeContextFrom, decodeRecord, decodeSettingsOf, type Decoded } from '../../src/decode/index.js';
import { DecodedReader, DecodedWriter, type DecodedLine } from '../../src/decode/transfer.js';
import { DecodeError } from '../../src/errors.js';
import { OUTCOMES, PRINCIPAL_KINDS, VERBS, type AuditEvent } from '../../src/events/audit-event.js';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { simulateNormalTraffic } from '../../src/sim/cloudtrail-sim.js';
import { FileSource } from '../../src/sources/file.js';

const config = loadConfig(join(PROJECT_ROOT, 'config', 'simulation.yaml'), {});
const settings = decodeSettingsOf(config);
const ctx = decodeContextFrom(settings);

/** A decode result as plain data: events, or the error's class, code, message and retriable flag. */
function plain(d: Decoded): unknown {
  if ('error' in d) return { error: [d.error instanceof DecodeError, d.error.code, d.error.message, d.error.retriable] };
  return { events: d.events.map((e) => ({ ...e, principal: { ...e.principal }, resource: { ...e.resource } })), ignored: d.ignored };
}

const text = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('arn:aws:iam::111111111111:role/elb-janitor', 'production', 'cloudtrail', 'ünïcødé ☃', '𝄞'));
const event: fc.Arbitrary<AuditEvent> = fc.record({
  id: text,
  time: fc.integer({ min: 946_684_800_000, max: 4_102_444_800_000 }),
  principal: fc.record({ id: text, kind: fc.constantFrom(...PRINCIPAL_KINDS) }),
  action: text,
  verb: fc.constantFrom(...VERBS),
  resource: fc.record({ type: text, id: text }),
  environment: text,
  source: text,
  outcome: fc.constantFrom(...OUTCOMES),
  changeTicket: fc.option(text, { nil: null }),
  objectCount: fc.nat({ max: 2 ** 40 }),
});
const decoded: fc.Arbitrary<Decoded> = fc.oneof(
  fc.record({ events: fc.array(event, { maxLength: 4 }), ignored: fc.nat({ max: 3 }) }),
  fc.tuple(fc.constantFrom('DECODE_NOT_JSON', 'DECODE_BAD_FIELD', 'DECODE_MISSING_FIELD') as fc.Arbitrary<'DECODE_NOT_JSON'>, text)
    .map(([code, message]) => ({ error: new DecodeError(code, message) })),
);

describe('decoded records between threads', () => {
  it('read back as they were written, piece after piece, across restarts of the string table', () => {
    fc.assert(fc.property(fc.array(fc.array(decoded, { maxLength: 6 }), { maxLength: 5 }), fc.integer({ min: 1, max: 8 }), (pieces, maxTable) => {
      const writer = new DecodedWriter(maxTable);
      const reader = new DecodedReader();
      for (const piece of pieces) {
        const lines: DecodedLine[] = piece.map((d, i) => ({ line: i + 1, start: i * 1000, end: i * 1000 + 999, decoded: d }));
        writer.begin(piece.length + 2);
        for (const l of lines) writer.record(l);
        // A copy, as a transfer would leave it: the reader keeps nothing of the writer's buffer.
        const back = reader.read(Buffer.from(writer.finish()));
        expect(back.lines).toBe(piece.length + 2);
        expect(back.records.map((r) => [r.line, r.start, r.end, plain(r.decoded)])).toEqual(lines.map((r) => [r.line, r.start, r.end, plain(r.decoded)]));
      }
    }), { numRuns: 300 });
  });
});

describe('decoding a file ahead on threads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-ahead-'));
  const start = Date.parse('2026-02-02T00:00:00Z');
  const cloudTrail = simulateNormalTraffic({ seed: 3, from: start, to: start + 3_600_000 }).slice(0, 300).map((r) => JSON.stringify(r));
  const line = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...cloudTrail) },
    fc.constantFrom('', '  \r', '{', '{"eventName":"DeleteLoadBalancer"}', 'not json', '{"eventName":"Délété","eventSource":"élb","eventID":"ü","eventTime":"2026-02-02T00:00:00Z"}'),
    // A line longer than a piece makes a piece of its own.
    fc.constantFrom(...cloudTrail).map((l) => l.replace('"eventVersion"', `"padding":"${'x'.repeat(3000)}","eventVersion"`)),
  );

  async function records(path: string, format: InputFormat, opts: ConstructorParameters<typeof FileSource>[2]) {
    const out: unknown[] = [];
    await new FileSource(path, format, opts).run(async (batch) => {
      for (const r of batch) out.push([r.offset, r.value!.toString('latin1'), plain(decodeRecord(r, ctx))]);
    });
    return out;
  }

  it('gives the records, line numbers and decode results that decoding in place gives', async () => {
    let n = 0;
    await fc.assert(fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 120 }), fc.boolean(), fc.integer({ min: 64, max: 8192 }), fc.integer({ min: 1, max: 2 }), fc.constantFrom<InputFormat>('auto', 'cloudtrail'),
      async (lines, trailingNewline, chunkBytes, threads, format) => {
        const path = join(dir, `f${n++}`);
        writeFileSync(path, lines.join('\n') + (trailingNewline ? '\n' : ''));
        const inPlace = await records(path, format, { chunkBytes });
        const ahead = await records(path, format, { chunkBytes, decodeAhead: { threads, settings } });
        expect(ahead).toEqual(inPlace);
      }), { numRuns: 25 });
  });
});
