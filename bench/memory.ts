/**
 * Memory per tracked entity: one million distinct principals each delete once (each is a new entity with live
 * windows), through the real detection pipeline. Run with --expose-gc; prints one JSON line.
 */
import { emptyModel } from '../src/baseline/model.js';
import { validateConfig } from '../src/config/load.js';
import { createLogger } from '../src/log.js';
import { Metrics } from '../src/metrics/metrics.js';
import { buildDetectionPipeline } from '../src/pipeline/assemble.js';
import type { SourceRecord } from '../src/sources/source.js';

const ENTITIES = Number(process.argv[2] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const config = validateConfig({ alerts: { sinks: [] } }, {});
const { pipeline } = buildDetectionPipeline({ config, model: emptyModel([10_000, 60_000, 600_000, 3_600_000], 0.95), metrics: new Metrics(), log: createLogger('silent'), sinks: [] });
gc();
const before = process.memoryUsage();
const t0 = Date.parse('2026-01-01T00:00:00Z');
for (let i = 0; i < ENTITIES; i += 10_000) {
  const batch: SourceRecord[] = [];
  for (let j = i; j < Math.min(ENTITIES, i + 10_000); j++) {
    batch.push({ topic: 'm', partition: 0, offset: String(j), key: null, format: 'canonical-json', value: Buffer.from(
      `{"id":"e${j}","time":${t0 + j},"principal":{"id":"arn:aws:iam::123456789012:role/service-${j}","kind":"service"},"action":"DeleteObject","verb":"delete","resource":{"type":"s3:object","id":"k"},"environment":"production","objectCount":1}`) });
  }
  await pipeline.handle(batch);
}
gc();
const after = process.memoryUsage();
process.stdout.write(`${JSON.stringify({
  entities: ENTITIES,
  bytesPerEntity: Math.round((after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / ENTITIES),
  rssMiB: Math.round(after.rss / 2 ** 20),
  heapUsedMiB: Math.round(after.heapUsed / 2 ** 20),
  arrayBuffersMiB: Math.round(after.arrayBuffers / 2 ** 20),
})}\n`);
