import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { decodeContextFrom, DECODERS, type DecodeResult } from '../../src/decode/index.js';
import type { AuditEvent } from '../../src/events/audit-event.js';
import { simulateNormalTraffic } from '../../src/sim/cloudtrail-sim.js';
import { FileSource } from '../../src/sources/file.js';
import type { SourceRecord } from '../../src/sources/source.js';
import { filesUnder, haveDatasets } from '../helpers/datasets.js';

const ctx = decodeContextFrom(validateConfig({}, {}));
const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const events = (format: 'cloudtrail' | 'auto', value: Buffer): AuditEvent[] => DECODERS[format](value, ctx).events;
const alone = (records: unknown[]) => records.flatMap((r) => events('cloudtrail', json(r)));

/** The three ways CloudTrail reaches a stream, around the same records. */
const eventBridge = (records: unknown[]) => records.map((detail, i) => ({
  version: '0', id: `eb-${i}`, 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.ec2', account: '111111111111',
  time: '2026-02-02T10:00:00Z', region: 'us-east-1', resources: [], detail,
}));
const cloudWatchLogs = (records: unknown[]) => ({
  messageType: 'DATA_MESSAGE', owner: '111111111111', logGroup: 'aws-cloudtrail-logs', logStream: '111111111111_CloudTrail_us-east-1',
  subscriptionFilters: ['to-kafka'], logEvents: records.map((r, i) => ({ id: String(i), timestamp: 0, message: JSON.stringify(r) })),
});

describe('CloudTrail as it is delivered', () => {
  const records = simulateNormalTraffic({ seed: 5, from: Date.parse('2026-02-02T10:00:00Z'), to: Date.parse('2026-02-02T10:10:00Z') }).slice(0, 60);

  it('an envelope around N records decodes to the same N events as the records alone, however it is wrapped and compressed', () => {
    fc.assert(fc.property(
      fc.subarray(records, { minLength: 1 }),
      fc.constantFrom('log-file', 'eventbridge-array', 'eventbridge-lines', 'cloudwatch-logs'),
      fc.constantFrom('plain', 'gzip', 'base64-gzip'),
      fc.constantFrom('cloudtrail' as const, 'auto' as const),
      (some, envelope, compression, format) => {
        let body: Buffer;
        if (envelope === 'log-file') body = json({ Records: some });
        else if (envelope === 'eventbridge-array') body = json(eventBridge(some));
        else if (envelope === 'eventbridge-lines') body = Buffer.from(eventBridge(some).map((e) => JSON.stringify(e)).join('\n'));
        else body = json(cloudWatchLogs(some));
        if (compression === 'gzip') body = gzipSync(body);
        if (compression === 'base64-gzip') body = Buffer.from(gzipSync(body).toString('base64'));
        expect(events(format, body)).toEqual(alone(some));
      },
    ), { numRuns: 60 });
  });

  it('a CloudWatch Logs control message and an EventBridge event of another kind carry no record: ignored and counted', () => {
    const control: DecodeResult = DECODERS.cloudtrail(json({ messageType: 'CONTROL_MESSAGE', owner: 'CloudwatchLogs', logGroup: '', logStream: '', subscriptionFilters: [], logEvents: [{ id: '', timestamp: 0, message: 'CWL CONTROL MESSAGE: Checking health of destination Kinesis stream.' }] }), ctx);
    expect(control).toEqual({ events: [], ignored: 1 });
    const other = DECODERS.cloudtrail(json([{ 'detail-type': 'EC2 Instance State-change Notification', detail: { state: 'running' } }, ...eventBridge(records.slice(0, 2))]), ctx);
    expect(other.events).toHaveLength(2);
    expect(other.ignored).toBe(1);
  });

  it('a payload whose message is not a record fails with the reason naming it, never a crash', () => {
    const bad = cloudWatchLogs(records.slice(0, 3));
    bad.logEvents[1]!.message = '{"truncated": ';
    expect(() => DECODERS.cloudtrail(json(bad), ctx)).toThrow(/logEvents\[1\]\.message is not a JSON CloudTrail record/);
    expect(() => DECODERS.cloudtrail(Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01]), ctx)).toThrow(/gzip'd record does not decompress/);
  });

  describe.skipIf(!haveDatasets)('real deliveries (../shared/datasets)', () => {
    it('every EventBridge event decodes to the event its detail gives alone', () => {
      const files = filesUnder('cloudtrail/eventbridge/custodian-cwe', '.json');
      expect(files.length).toBe(10);
      for (const f of files) {
        const envelope = JSON.parse(readFileSync(f, 'utf8')) as { detail: unknown };
        for (const format of ['cloudtrail', 'auto'] as const) expect(events(format, readFileSync(f)), basename(f)).toEqual(alone([envelope.detail]));
      }
    });

    it('both CloudWatch Logs payloads decode, plain, gzip\'d and base64 of gzip\'d, to the records they carry', () => {
      for (const f of filesUnder('cloudtrail/cloudwatch-logs/otel-awslogs', '.json')) {
        const raw = readFileSync(f);
        const payload = JSON.parse(raw.toString()) as { logEvents: Array<{ message: string }> };
        const want = alone(payload.logEvents.map((e) => JSON.parse(e.message)));
        expect(want.length).toBeGreaterThan(0);
        for (const body of [raw, gzipSync(raw), Buffer.from(gzipSync(raw).toString('base64'))]) expect(events('auto', body), basename(f)).toEqual(want);
      }
    });

    it('an S3 export tree of gzip\'d log files is read recursively, every record counted, the same events as the plain files', async () => {
      const plain = filesUnder('cloudtrail/invictus-stratus-run/CloudTrail', '.json');
      const root = mkdtempSync(join(tmpdir(), 'aw-s3-'));
      for (const f of plain) {
        // AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/<name>.json.gz, as AWS writes it.
        const [, account, region, stamp] = /^(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8})T/.exec(basename(f))!;
        const dir = join(root, 'AWSLogs', account!, 'CloudTrail', region!, stamp!.slice(0, 4), stamp!.slice(4, 6), stamp!.slice(6, 8));
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, `${basename(f)}.gz`), gzipSync(readFileSync(f)));
      }
      const read = async (path: string): Promise<{ events: AuditEvent[]; source: FileSource }> => {
        const source = new FileSource(path, 'cloudtrail');
        const out: AuditEvent[] = [];
        await source.run(async (batch: SourceRecord[]) => {
          for (const r of batch) out.push(...DECODERS.cloudtrail(r.value!, ctx).events);
        });
        return { events: out, source };
      };
      const fromTree = await read(root);
      expect(fromTree.source.stats).toMatchObject({ files: plain.length, gzipFiles: plain.length, records: plain.length });
      expect(fromTree.events).toHaveLength(2900);
      const fromPlain = await read(join(plain[0]!, '..'));
      expect(new Set(fromTree.events.map((e) => e.id))).toEqual(new Set(fromPlain.events.map((e) => e.id)));
    });
  });
});
