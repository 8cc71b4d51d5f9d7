import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import type { Alert } from '../../src/alerts/alert.js';
import { emptyModel } from '../../src/baseline/model.js';
import { validateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { buildDetectionPipeline, connectProducer } from '../../src/pipeline/assemble.js';
import type { SourceRecord } from '../../src/sources/source.js';
import { PartitionState } from '../../src/runtime/partition-state.js';
import { fresh, testKafka, waitFor } from '../helpers/kafka.js';

const log = createLogger('silent');
const WINDOWS = [10_000, 60_000, 600_000, 3_600_000];
const INPUT = 'audit.input';

/** One "instance": a partitioned detection pipeline with its changelog-backed state, as `run` builds them. */
function instance(producer: Producer, changelog: string, dir?: string) {
  const config = validateConfig({ alerts: { sinks: [] }, detectors: [{ type: 'bulk-delete', minObjects: 10 }] }, {});
  const alerts: Alert[] = [];
  const built = buildDetectionPipeline({ config, model: emptyModel(WINDOWS, 0.95), metrics: new Metrics(), log, tasks: { by: 'record' }, sinks: [{ name: 'c', publish: async (a) => void alerts.push(...a), close: async () => {} }] });
  const metrics = new Metrics();
  const state = new PartitionState(testKafka(), producer, built.tasks!, { topic: changelog, dir }, metrics, log);
  /** Like the source: wait for the restore, skip what the state already holds, process, write the state. */
  const consume = async (partition: number, from: number, events: object[]) => {
    const position = await state.ready(INPUT, partition);
    const records = events.map((e, i): SourceRecord => ({ topic: INPUT, partition, offset: String(from + i), key: null, value: Buffer.from(JSON.stringify(e)), format: 'canonical-json' }))
      .filter((r) => position === null || BigInt(r.offset) >= BigInt(position));
    if (records.length) await built.pipeline.handle(records);
    await state.settled(INPUT, partition, String(from + events.length));
    return records.length;
  };
  return { built, state, alerts, consume, metrics };
}

const t0 = Date.now() - 600_000;
const del = (i: number, principal = 'svc-a') => ({ id: `${principal}-${i}`, time: t0 + i * 100, principal: { id: principal, kind: 'service' }, action: 'Drop', verb: 'delete', resource: { type: 'db:table', id: String(i) }, environment: 'production', objectCount: 1 });
const range = (from: number, to: number, principal?: string) => Array.from({ length: to - from }, (_, k) => del(from + k, principal));

describe('per-partition state on a real broker changelog', () => {
  const kafka = testKafka();
  let producer: Producer;
  beforeAll(async () => {
    producer = await connectProducer(kafka);
  });
  afterAll(async () => {
    await producer.disconnect();
  });

  async function changelogTopic(): Promise<string> {
    const topic = fresh('changelog');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }], waitForLeaders: true });
    await admin.disconnect();
    return topic;
  }

  it('a partition moved to another instance continues its incident: same alert id, windows intact, nothing re-applied', async () => {
    const topic = await changelogTopic();
    const first = instance(producer, topic);
    first.state.rebalanced([{ topic: INPUT, partition: 0 }, { topic: INPUT, partition: 1 }]);
    // 12 deletes: an incident opens (minObjects 10); another principal on partition 1 stays below it.
    await first.consume(0, 0, range(0, 12));
    await first.consume(1, 0, range(0, 5, 'svc-b'));
    expect(first.alerts.map((a) => a.principal)).toEqual(['svc-a']);
    const id = first.alerts[0]!.id;

    // The second instance takes partition 0 over; the source would start from the last commit (12), but say the
    // commit was lost: it re-reads from 8, and the restored position makes it skip what the state already holds.
    const second = instance(producer, topic);
    second.state.rebalanced([{ topic: INPUT, partition: 0 }]);
    expect(await second.consume(0, 8, range(8, 12))).toBe(0);
    // 40 more deletes past the incident's update interval: the same incident, revised.
    const more = range(12, 52).map((e) => ({ ...e, time: e.time + 30_000 }));
    await second.consume(0, 12, more);
    expect(second.alerts.length).toBeGreaterThan(0);
    expect(new Set(second.alerts.map((a) => a.id))).toEqual(new Set([id]));
    // The windows and the run hold the 12 restored deletes: the first new one is the 13th in the 1 m window (an
    // update, 30 s after the last), and the 8th new one makes 20, twice minObjects: critical. Fresh state would say 1.
    expect(second.alerts[0]).toMatchObject({ revision: 1, eventCount: 13, severity: 'warning' });
    expect(second.alerts[0]!.reason).toMatch(/^13 db:table objects deleted in 1m/);
    expect(second.alerts[1]).toMatchObject({ revision: 2, eventCount: 20, severity: 'critical' });
    expect(second.built.tasks!.has(INPUT, 1)).toBe(false);
    expect(await second.metrics.registry.getSingleMetricAsString('auditwatch_state_restored_entries_total')).toMatch(/ [1-9]\d*$/m);
  }, 60_000);

  it('a partition given up while its state is being restored is not brought back when the restore ends', async () => {
    const topic = await changelogTopic();
    const a = instance(producer, topic);
    a.state.rebalanced([{ topic: INPUT, partition: 0 }]);
    await a.consume(0, 0, range(0, 12));
    const b = instance(producer, topic);
    b.state.rebalanced([{ topic: INPUT, partition: 0 }]);
    b.state.rebalanced([]); // the next rebalance takes it away before the changelog read ends
    await waitFor('the overtaken restore to end', async () => /_count 1$/m.test(await b.metrics.registry.getSingleMetricAsString('auditwatch_state_restore_seconds')), 20_000);
    expect(b.built.tasks!.has(INPUT, 0)).toBe(false);
  }, 60_000);

  it('a local snapshot plus the changelog after it restores exactly what the changelog alone would', async () => {
    const topic = await changelogTopic();
    const dir = mkdtempSync(join(tmpdir(), 'aw-state-'));
    const a = instance(producer, topic, dir);
    a.state.rebalanced([{ topic: INPUT, partition: 0 }]);
    await a.consume(0, 0, range(0, 12));
    a.state.close();
    expect(readdirSync(dir)).toEqual([`${encodeURIComponent(`${INPUT}:0`)}.json`]);

    // Meanwhile another instance held the partition and went on: its changes are in the changelog only.
    const b = instance(producer, topic);
    b.state.rebalanced([{ topic: INPUT, partition: 0 }]);
    await b.consume(0, 12, range(12, 20));

    // Back on the first machine: the stale snapshot, then the changelog after it.
    const fromSnapshot = instance(producer, topic, dir);
    const fromChangelog = instance(producer, topic);
    for (const x of [fromSnapshot, fromChangelog]) x.state.rebalanced([{ topic: INPUT, partition: 0 }]);
    const next = range(20, 25);
    await fromSnapshot.consume(0, 20, next);
    await fromChangelog.consume(0, 20, next);
    expect(fromSnapshot.alerts).toEqual(fromChangelog.alerts);
    const entries = (x: typeof a) => x.built.tasks!.get(INPUT, 0).state.map((s) => [...s.entries()]);
    const runEvents = (x: typeof a) => ((entries(x)[0]!.find(([k]) => k.startsWith('svc-a'))![1]) as { runEvents: number }).runEvents;
    expect(entries(fromSnapshot)).toEqual(entries(fromChangelog));
    expect(runEvents(fromSnapshot)).toBe(25);

    // The snapshot alone (against an empty changelog) holds what the first instance had: it is really read.
    const snapshotOnly = instance(producer, await changelogTopic(), dir);
    snapshotOnly.state.rebalanced([{ topic: INPUT, partition: 0 }]);
    expect(await snapshotOnly.state.ready(INPUT, 0)).toBe('12');
    expect(runEvents(snapshotOnly)).toBe(12);
  }, 60_000);
});
