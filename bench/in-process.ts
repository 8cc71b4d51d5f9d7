/**
 * The pipeline alone, without Kafka: 14 simulated days of CloudTrail through decode, every detector (with and
 * without the learned model) and the alert policy, one detection task per partition as `run` builds it.
 * Isolates the per-event cost of auditwatch's own code for profiling: `node --cpu-prof --import tsx bench/in-process.ts`.
 * Prints medians of BENCH_REPEATS (5) passes after one warm-up pass.
 */
import { join } from 'node:path';
import { readModel } from '../src/baseline/model.js';
import { loadConfig } from '../src/config/load.js';
import { PROJECT_ROOT } from '../src/kafka/local-broker.js';
import { createLogger } from '../src/log.js';
import { Metrics } from '../src/metrics/metrics.js';
import { loadAutoencoder } from '../src/model/autoencoder.js';
import { buildDetectionPipeline } from '../src/pipeline/assemble.js';
import { simulateNormalTraffic } from '../src/sim/cloudtrail-sim.js';
import type { SourceRecord } from '../src/sources/source.js';
import { median } from './stats.js';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const start = Date.parse('2026-02-02T00:00:00Z');
const records: SourceRecord[] = simulateNormalTraffic({ seed: 9, from: start, to: start + 14 * 86_400_000 })
  .map((r, i) => ({ topic: 'audit', partition: 0, offset: String(i), key: null, value: Buffer.from(JSON.stringify(r)), format: 'cloudtrail' }));
const models = join(PROJECT_ROOT, 'models');
const autoencoder = await loadAutoencoder(models);

async function pass(withModel: boolean): Promise<{ rate: number }> {
  const config = loadConfig(join(PROJECT_ROOT, 'config', 'simulation.yaml'), {});
  if (!withModel) config.detectors = config.detectors.filter((d) => d.type !== 'model');
  const { pipeline } = buildDetectionPipeline({ config, model: readModel(models), autoencoder: withModel ? autoencoder : null, metrics: new Metrics(), log: createLogger('error'), sinks: [], partitioned: true });
  const t = performance.now();
  for (let i = 0; i < records.length; i += 2000) await pipeline.handle(records.slice(i, i + 2000));
  return { rate: records.length / ((performance.now() - t) / 1000) };
}

for (const withModel of [false, true]) {
  await pass(withModel);
  const rates: number[] = [];
  for (let r = 0; r < REPEATS; r++) rates.push((await pass(withModel)).rate);
  process.stdout.write(`${withModel ? 'every detector, learned model included' : 'without the learned model'}: ${Math.round(median(rates))} events/s (median of ${REPEATS}; ${records.length} events)\n`);
}
