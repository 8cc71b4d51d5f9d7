/**
 * npm run bench decoders — each input format's decoder against `JSON.parse` of the same bytes (the unavoidable
 * work), in one process: events/s and the ratio, medians of BENCH_REPEATS passes over BENCH_RECORDS records.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { validateConfig } from '../src/config/load.js';
import { decodeContextFrom, DECODERS } from '../src/decode/index.js';
import type { InputFormat } from '../src/config/schema.js';
import { simulateAzureWipe, simulateGcpWipe } from '../src/sim/cloud-wipes.js';
import { simulateNormalTraffic } from '../src/sim/cloudtrail-sim.js';
import { median, saveResults } from './stats.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 20_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const ctx = decodeContextFrom(validateConfig({}, {}));
const say = (s: string) => process.stdout.write(`${s}\n`);

const trail = simulateNormalTraffic({ seed: 3, from: Date.parse('2026-02-02T00:00:00Z'), to: Date.parse('2026-02-03T00:00:00Z') }).slice(0, RECORDS);
const cases: Array<{ name: string; format: InputFormat; values: Buffer[]; events: number }> = [
  { name: 'CloudTrail record', format: 'cloudtrail', values: trail.map((r) => Buffer.from(JSON.stringify(r))), events: trail.length },
  // The default input format: the record's shape picks the decoder, from one parse.
  { name: 'CloudTrail record, format auto', format: 'auto', values: trail.map((r) => Buffer.from(JSON.stringify(r))), events: trail.length },
  { name: 'CloudTrail in EventBridge', format: 'cloudtrail', values: trail.map((r) => Buffer.from(JSON.stringify({ version: '0', 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.ec2', detail: r }))), events: trail.length },
  // 50 records per CloudWatch Logs payload, gzip'd as Firehose delivers them.
  { name: 'CloudTrail in CloudWatch Logs, gzip\'d', format: 'cloudtrail', values: Array.from({ length: Math.ceil(trail.length / 50) }, (_, i) => gzipSync(JSON.stringify({ messageType: 'DATA_MESSAGE', logEvents: trail.slice(i * 50, i * 50 + 50).map((r, j) => ({ id: String(j), timestamp: 0, message: JSON.stringify(r) })) }))), events: trail.length },
  { name: 'GCP audit LogEntry', format: 'gcp-audit', values: simulateGcpWipe({ seed: 1, at: 0, disks: RECORDS - 1 }).map((e) => Buffer.from(JSON.stringify(e))), events: RECORDS },
  // Each delete is a Start record (counted, not an event) and a Success one.
  { name: 'Azure activity record', format: 'azure-activity', values: simulateAzureWipe({ seed: 1, at: 0, accounts: RECORDS / 2 }).map((e) => Buffer.from(JSON.stringify({ records: [e] }))), events: RECORDS / 2 },
];

const results: Record<string, { decodeEventsPerSecond: number; parseEventsPerSecond: number; ratio: number }> = {};
say(`decoders: ${RECORDS} records, medians of ${REPEATS} passes`);
say('| input | decode events/s | JSON.parse of the same bytes, events/s | ratio |');
say('|---|---|---|---|');
for (const c of cases) {
  const decodeRates: number[] = [];
  const parseRates: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    let t = performance.now();
    let n = 0;
    for (const v of c.values) n += DECODERS[c.format](v, ctx).events.length;
    decodeRates.push(n / ((performance.now() - t) / 1000));
    t = performance.now();
    // The baseline is the unavoidable part of the decoder's work: gunzip a gzip'd payload, parse it, and parse the
    // records a CloudWatch Logs payload carries as strings.
    for (const v of c.values) {
      const doc = JSON.parse((v[0] === 0x1f ? gunzipSync(v) : v).toString('utf8')) as { logEvents?: Array<{ message: string }> };
      if (doc.logEvents) for (const e of doc.logEvents) JSON.parse(e.message);
    }
    parseRates.push(c.events / ((performance.now() - t) / 1000));
  }
  const d = Math.round(median(decodeRates));
  const p = Math.round(median(parseRates));
  results[c.name] = { decodeEventsPerSecond: d, parseEventsPerSecond: p, ratio: +(d / p).toFixed(2) };
  say(`| ${c.name} | ${d.toLocaleString('en')} | ${p.toLocaleString('en')} | ${(d / p).toFixed(2)} |`);
}
say(`written to ${saveResults('decoders', { records: RECORDS, repeats: REPEATS, formats: results })}`);
