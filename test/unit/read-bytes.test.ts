import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { BaselineLearner } from '../../src/baseline/learner.js';
import { validateConfig } from '../../src/config/load.js';
import { DECODERS, decodeContextFrom } from '../../src/decode/index.js';
import { DecodedReader, DecodedWriter } from '../../src/decode/transfer.js';
import { BulkReadDetector } from '../../src/detectors/bulk-read.js';
import { buildDetectors, type Finding } from '../../src/detectors/index.js';
import type { AuditEvent } from '../../src/events/audit-event.js';
import { auditEventType, decodeEventBatch, encodeEventBatch } from '../../src/events/avro.js';
import { detectionFinding } from '../../src/sinks/ocsf.js';
import type { Alert } from '../../src/alerts/alert.js';
import { ocsfProblems } from '../helpers/ocsf.js';
import { formatSize, parseBytes } from '../../src/util/bytes.js';
import { filesUnder, haveDatasets } from '../helpers/datasets.js';

const PROD = '218007301253';
const config = validateConfig({ environments: { awsAccounts: { [PROD]: 'production' } }, alerts: { sinks: [] } }, {});
const ctx = decodeContextFrom(config);
const WINDOWS = [10_000, 60_000, 600_000, 3_600_000];
const GB = 1e9;
const t0 = Date.parse('2026-03-02T10:00:00Z');

const get = (principal: string, i: number, bytesOut?: number, time = t0 + i * 5000): AuditEvent => ({
  id: `${principal}-${i}-${time}`, time, principal: { id: principal, kind: 'service' }, action: 'GetObject', verb: 'read',
  resource: { type: 's3:object', id: `dump-${i}` }, environment: 'production', source: 'test', outcome: 'success', changeTicket: null, objectCount: 1,
  ...(bytesOut === undefined ? {} : { bytesOut }),
});

/** History: `reader` downloads ten 1 MB objects a minute, every day for four days. */
function trained() {
  const learner = new BaselineLearner(WINDOWS, 0.95);
  for (let day = 1; day <= 4; day++) for (let i = 0; i < 10; i++) learner.observe(get('reader', i, 1e6, t0 - day * 86_400_000 + i * 6000));
  return learner.model();
}
const bulkRead = (model = trained(), c = config) => buildDetectors(c, model).find((d) => d.name === 'bulk-read') as BulkReadDetector;

describe('bytes read', () => {
  it.skipIf(!haveDatasets)('CloudTrail\'s additionalEventData.bytesTransferredOut becomes bytesOut on reads, as recorded in a real account', () => {
    const events = filesUnder('cloudtrail/invictus-stratus-run/CloudTrail', '.json').flatMap((f) => DECODERS.cloudtrail(readFileSync(f), ctx).events);
    const acl = events.filter((e) => e.action === 'GetBucketAcl');
    expect(acl.length).toBeGreaterThan(0);
    expect(acl.every((e) => typeof e.bytesOut === 'number' && e.bytesOut > 0)).toBe(true);
    // A delete's response size is not data read: only reads keep it.
    const deletes = events.filter((e) => e.action === 'DeleteBucket');
    expect(deletes.length).toBeGreaterThan(0);
    expect(deletes.every((e) => e.bytesOut === undefined)).toBe(true);
  });

  it('canonical events carry bytesOut as JSON and Avro; a bad one is a decode error naming the field; raw Avro written before the field decodes', () => {
    const json = (extra: Record<string, unknown>) => DECODERS['canonical-json'](Buffer.from(JSON.stringify({ id: 'e', time: t0, principal: { id: 'p', kind: 'service' }, action: 'GetObject', verb: 'read', resource: { type: 's3:object', id: 'k' }, environment: 'production', ...extra })), ctx);
    expect(json({ bytesOut: 5 * GB }).events[0]!.bytesOut).toBe(5 * GB);
    expect(json({ bytesOut: null }).events[0]!.bytesOut).toBeUndefined();
    expect(() => json({ bytesOut: -1 })).toThrow(/bytesOut must be a non-negative integer/);
    expect(() => json({ bytesOut: '12' })).toThrow(/bytesOut/);

    const event = get('p', 1, 5 * GB);
    expect(DECODERS['canonical-avro'](auditEventType.toBuffer(event), ctx).events[0]).toEqual(event);
    expect(decodeEventBatch(encodeEventBatch([event, get('p', 2)])).map((e) => (e as { bytesOut: number | null }).bytesOut)).toEqual([5 * GB, null]);
    // A producer (or an instance of the repartition stage) still on the schema before bytesOut.
    const schema = auditEventType.schema() as { fields: Array<{ name: string }> };
    const before = avro.Type.forSchema({ ...schema, fields: schema.fields.filter((f) => f.name !== 'bytesOut') } as avro.Schema);
    const { bytesOut: _, ...old } = event;
    expect(DECODERS['canonical-avro'](before.toBuffer(old), ctx).events[0]).toEqual(old);
    const oldBatch = Buffer.concat([Buffer.from([0, 0, 0, 1]), (() => { const b = before.toBuffer(old); const h = Buffer.alloc(4); h.writeUInt32BE(b.length); return Buffer.concat([h, b]); })()]);
    expect(DECODERS['canonical-avro-batch'](oldBatch, ctx).events[0]).toEqual(old);
  });

  it('bytesOut crosses from a decode thread to the pipeline', () => {
    const writer = new DecodedWriter();
    const reader = new DecodedReader();
    writer.begin(1);
    writer.record({ line: 1, start: 0, end: 1, decoded: { events: [get('p', 1, 7 * GB), get('p', 2)], ignored: 0 } });
    const [line] = reader.read(writer.finish()).records;
    expect(line!.decoded).toEqual({ events: [get('p', 1, 7 * GB), get('p', 2)], ignored: 0 });
  });

  it('a few huge downloads are a bulk read by bytes though the objects are few; the usual downloads of a reader are not', () => {
    const detector = bulkRead();
    const dump = Array.from({ length: 5 }, (_, i) => detector.observe(get('reader', i, 3 * GB))).filter((f): f is Finding => !!f);
    expect(dump[0]).toMatchObject({ detector: 'bulk-read', entityKey: 'reader\u0001production\u0001s3:object', objectCount: 1 });
    expect(dump[0]!.reason).toMatch(/^2\.79 GiB of s3:object data read in 10s by reader in production; this principal's learned peak here .* is 1\.91 MiB per 10s .*; threshold 1 GiB \(peak × 2, at least 1 GiB\)$/);
    expect(dump[0]!.windows!.every((w) => w.unit === 'bytes')).toBe(true);
    // Its usual traffic, a day later, at its usual pace: nothing by objects, nothing by bytes.
    const usual = bulkRead();
    expect(Array.from({ length: 10 }, (_, i) => usual.observe(get('reader', i, 1e6, t0 + i * 6000))).filter(Boolean)).toEqual([]);
    // Reads whose records say nothing of bytes count by objects only.
    const silent = bulkRead();
    expect(Array.from({ length: 50 }, (_, i) => silent.observe(get('reader', i))).filter(Boolean)).toEqual([]);
  });

  it('minBytes, and an override of it, set the floor; an OCSF finding says bytes', () => {
    const floor = (detectors: Record<string, unknown>) => validateConfig({ detectors: [{ type: 'bulk-read', ...detectors }], alerts: { sinks: [] } }, {});
    // A stranger (no history, no population of its own) crosses at minBytes.
    const stranger = (c: ReturnType<typeof floor>) => {
      const d = bulkRead(trained(), c);
      return Array.from({ length: 6 }, (_, i) => d.observe(get('stranger', i, 1 * GB))).findIndex(Boolean);
    };
    expect(stranger(floor({ minBytes: '2.5GB' }))).toBe(2);
    expect(stranger(floor({ minBytes: '2.5GB', overrides: [{ principal: '^stranger$', minBytes: '4.5GB' }] }))).toBe(4);
    for (const n of [1, 1023, 1024, 1536, 2 ** 30, 3 * 2 ** 40]) expect(parseBytes(formatSize(n))).toBe(n);
    expect(() => floor({ minBytes: 'lots' })).toThrow(/detectors\.0\.minBytes: expected a size such as 500MB or 2GiB/);

    const d = bulkRead();
    const f = Array.from({ length: 3 }, (_, i) => d.observe(get('reader', i, 3 * GB))).find(Boolean)!;
    const alert = {
      id: 'a', revision: 0, principal: 'reader', principalKind: 'service', environment: 'production', resourceType: 's3:object', severity: f.severity, score: f.score,
      detector: f.detector, reason: f.reason, firstEventTime: f.firstEventTime, detectedAt: f.event.time, triggerEventId: f.event.id, eventCount: f.eventCount,
      objectCount: f.objectCount, action: 'none', context: [], contextScore: f.score, windows: f.windows!, closed: false,
    } satisfies Alert;
    const ocsf = detectionFinding(alert);
    expect(ocsfProblems(ocsf)).toEqual([]);
    expect((ocsf.anomaly_analyses as Array<{ anomalies: Array<{ observation_parameter: string }> }>)[0]!.anomalies[0]!.observation_parameter).toBe('bytes per 10s');
  });

  it('each measure keeps its own changelog entries, and a detector restored from them judges the next read as the one it replaced', () => {
    const live = bulkRead();
    for (let i = 0; i < 3; i++) live.observe(get('reader', i, 0.3 * GB));
    const [objects, bytes] = live.stateParts();
    expect([objects!.stateName, bytes!.stateName]).toEqual(['bulk-read', 'bulk-read-bytes']);
    const restored = bulkRead();
    restored.stateParts().forEach((part, i) => { for (const [k, v] of [objects!, bytes!][i]!.entries()) part.restoreEntry(k, JSON.parse(JSON.stringify(v))); });
    const next = get('reader', 3, 0.3 * GB);
    expect(restored.observe(next)).toEqual(live.observe(next));
    expect(live.observe(get('reader', 4, 0.3 * GB))).not.toBeNull();
  });
});
