/**
 * The pipeline alone, without Kafka: 14 simulated days of CloudTrail through decode, every detector (with and
 * without the learned model, and without data-read scoring) and the alert policy, one detection task per partition as `run` builds it.
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

/** One pass: `without` names detectors left out (the learned model, or the data-read scoring whose cost is shown). */
async function pass(without: readonly string[]): Promise<{ rate: number }> {
  const config = loadConfig(join(PROJECT_ROOT, 'config', 'simulation.yaml'), {});
  config.detectors = config.detectors.filter((d) => !without.includes(d.type));
  const withModel = !without.includes('model');
  const { pipeline } = buildDetectionPipeline({ config, model: readModel(models), autoencoder: withModel ? autoencoder : null, metrics: new Metrics(), log: createLogger('error'), sinks: [], tasks: { by: 'record' } });
  const t = performance.now();
  for (let i = 0; i < records.length; i += 2000) await pipeline.handle(records.slice(i, i + 2000));
  return { rate: records.length / ((performance.now() - t) / 1000) };
}

const PASSES: Array<[string, string[]]> = [
  ['without the learned model', ['model']],
  ['without the learned model and without bulk-read (the cost of scoring reads)', ['model', 'bulk-read']],
  ['every detector, learned model included', []],
];
const medians = new Map<string, number>();
for (const [name, without] of PASSES) {
  await pass(without);
  const rates: number[] = [];
  for (let r = 0; r < REPEATS; r++) rates.push((await pass(without)).rate);
  medians.set(name, median(rates));
  process.stdout.write(`${name}: ${Math.round(median(rates))} events/s (median of ${REPEATS}; ${records.length} events)\n`);
}
const reads = records.filter((r) => r.value!.includes('"eventName":"GetObject"')).length;
const withReads = medians.get(PASSES[0]![0])!;
const withoutReads = medians.get(PASSES[1]![0])!;
process.stdout.write(`bulk-read: ${(withReads / withoutReads).toFixed(2)} of the throughput without it; ` +
  `${Math.round((1e9 / withReads - 1e9 / withoutReads) * records.length / reads)} ns per data read (${reads} of ${records.length} events are data reads)\n`);
