import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { decodeContextFrom, DECODERS } from '../../src/decode/index.js';
import { AuditwatchError } from '../../src/errors.js';
import { simulateAzureWipe, simulateGcpWipe } from '../../src/sim/cloud-wipes.js';
import { simulateNormalTraffic } from '../../src/sim/cloudtrail-sim.js';

const ctx = decodeContextFrom(validateConfig({}, {}));
const trail = simulateNormalTraffic({ seed: 8, from: Date.parse('2026-02-02T10:00:00Z'), to: Date.parse('2026-02-02T10:05:00Z') }).slice(0, 20);

/** Real-shaped records of each new format, with the decoder meant for them. */
const SAMPLES: Array<{ format: 'cloudtrail' | 'gcp-audit' | 'azure-activity' | 'github-audit'; doc: unknown }> = [
  { format: 'github-audit', doc: { '@timestamp': 1738317507000, _document_id: 'abc', action: 'repo.destroy', actor: 'octocat', org: 'acme', repo: 'acme/site', operation_type: 'remove' } },
  ...trail.slice(0, 5).map((r) => ({ format: 'cloudtrail' as const, doc: { version: '0', 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.ec2', detail: r } })),
  { format: 'cloudtrail', doc: { messageType: 'DATA_MESSAGE', logEvents: trail.slice(0, 5).map((r, i) => ({ id: String(i), timestamp: 0, message: JSON.stringify(r) })) } },
  ...simulateGcpWipe({ seed: 2, at: Date.parse('2026-02-02T10:00:00Z'), disks: 4 }).map((doc) => ({ format: 'gcp-audit' as const, doc })),
  ...simulateAzureWipe({ seed: 2, at: Date.parse('2026-02-02T10:00:00Z'), accounts: 3 }).map((e) => ({ format: 'azure-activity' as const, doc: { records: [e] } })),
];

/** Every leaf path of a document. */
function paths(doc: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (doc === null || typeof doc !== 'object') return [prefix];
  const entries = Array.isArray(doc) ? doc.map((v, i) => [i, v] as const) : Object.entries(doc);
  return [prefix, ...entries.flatMap(([k, v]) => paths(v, [...prefix, k]))];
}

function withValueAt(doc: unknown, path: Array<string | number>, value: unknown, drop: boolean): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  if (drop) delete node[path.at(-1)!];
  else node[path.at(-1)!] = value;
  return copy;
}

/** Decodes to events, or refuses with a coded DecodeError: nothing else, and never a crash. */
function decodesOrRefuses(format: 'cloudtrail' | 'gcp-audit' | 'azure-activity' | 'github-audit' | 'auto', bytes: Buffer): void {
  try {
    const r = DECODERS[format](bytes, ctx);
    expect(Array.isArray(r.events)).toBe(true);
  } catch (err) {
    expect(err).toBeInstanceOf(AuditwatchError);
    expect((err as AuditwatchError).code).toMatch(/^DECODE_/);
  }
}

describe('the delivered formats under malformed input', () => {
  it('a field removed or given the wrong type anywhere decodes or is refused with a code, never a crash', () => {
    fc.assert(fc.property(
      fc.constantFrom(...SAMPLES), fc.nat(), fc.constantFrom<unknown>(null, 0, -1, 1e300, '', 'x', [], {}, true, [1, 2], { a: 1 }), fc.boolean(), fc.boolean(),
      (sample, pick, value, drop, auto) => {
        const all = paths(sample.doc);
        const doc = withValueAt(sample.doc, all[pick % all.length]!, value, drop);
        decodesOrRefuses(auto ? 'auto' : sample.format, Buffer.from(JSON.stringify(doc) ?? 'null'));
      },
    ), { numRuns: 600 });
  });

  it('a record cut short anywhere, plain or gzip\'d, is refused with a code', () => {
    fc.assert(fc.property(fc.constantFrom(...SAMPLES), fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean(), (sample, at, gz) => {
      const full = Buffer.from(JSON.stringify(sample.doc));
      const body = gz ? gzipSync(full) : full;
      decodesOrRefuses(sample.format, body.subarray(0, Math.floor(body.length * at)));
    }), { numRuns: 300 });
  });
});
