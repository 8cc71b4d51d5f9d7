import { describe, expect, it } from 'vitest';
import { emptyModel } from '../../src/baseline/model.js';
import { validateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { buildDetectionPipeline } from '../../src/pipeline/assemble.js';
import { simulateNormalTraffic } from '../../src/sim/cloudtrail-sim.js';
import { simulateKubernetesTraffic } from '../../src/sim/kubernetes-sim.js';
import type { SourceRecord } from '../../src/sources/source.js';

const WINDOWS = [10_000, 60_000, 600_000, 3_600_000];
const START = Date.parse('2026-02-02T00:00:00Z');

/** The value of each series of a metric, by the one label it is split by. */
async function byLabel(metrics: Metrics, name: string, label: string): Promise<Record<string, number>> {
  const metric = await metrics.registry.getSingleMetric(name)!.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels[label]), v.value]));
}

describe('a batch is counted per topic and per source', () => {
  // Records and events are counted by runs of the same topic or source (a batch is usually one throughout); a mixed
  // batch, in short runs and in any order, must be counted exactly as one update per record would.
  it('counts a batch that mixes topics, partitions and sources in short runs', async () => {
    const config = validateConfig({ alerts: { sinks: [] } }, {});
    const metrics = new Metrics();
    const { pipeline, tasks } = buildDetectionPipeline({ config, model: emptyModel(WINDOWS, 0.95), metrics, log: createLogger('silent'), sinks: [], tasks: { by: 'record' } });
    const cloudtrail = simulateNormalTraffic({ seed: 3, from: START, to: START + 86_400_000 }).slice(0, 60);
    const k8s = simulateKubernetesTraffic({ seed: 3, from: START, to: START + 86_400_000 }).slice(0, 40);
    expect(cloudtrail).toHaveLength(60);
    expect(k8s).toHaveLength(40);

    // Runs of 1 to 4 records, switching topic and format between runs; one undecodable record on its own topic.
    const records: SourceRecord[] = [];
    let c = 0;
    let k = 0;
    for (let run = 0; c < cloudtrail.length || k < k8s.length; run++) {
      const length = 1 + (run % 4);
      for (let i = 0; i < length; i++) {
        const useK8s = run % 2 === 1 ? k < k8s.length : c >= cloudtrail.length;
        const value = useK8s ? k8s[k++] : cloudtrail[c++];
        if (value === undefined) break;
        const topic = useK8s ? 'audit.k8s' : 'audit.cloudtrail';
        records.push({ topic, partition: (c + k) % 3, offset: String(records.length), key: null, value: Buffer.from(JSON.stringify(value)), format: useK8s ? 'k8s' : 'cloudtrail' });
      }
      if (run === 5) records.push({ topic: 'audit.broken', partition: 0, offset: String(records.length), key: null, value: Buffer.from('{not json'), format: 'cloudtrail' });
    }

    await pipeline.handle(records);

    expect(await byLabel(metrics, 'auditwatch_records_consumed_total', 'topic')).toEqual({ 'audit.cloudtrail': 60, 'audit.k8s': 40, 'audit.broken': 1 });
    expect(await byLabel(metrics, 'auditwatch_events_decoded_total', 'source')).toEqual({ cloudtrail: 60, kubernetes: 40 });
    expect(pipeline.totals).toMatchObject({ records: 101, events: 100, deadLettered: 1 });
    // Each (topic, partition) got its own detection task, and only those.
    const held = tasks!.refs().map((r) => `${r.topic}/${r.partition}`).sort();
    const expected = [...new Set(records.filter((r) => r.topic !== 'audit.broken').map((r) => `${r.topic}/${r.partition}`))].sort();
    expect(held).toEqual(expected);
  });
});
