import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin, Producer } from 'kafkajs';
import { validateConfig } from '../../src/config/load.js';
import { decodeContextFrom, decodeRecord, decodeSettingsOf, type DecodeSettings } from '../../src/decode/index.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import type { PartitionHooks } from '../../src/sources/kafka/member.js';
import { KafkaThreadSource } from '../../src/sources/kafka/thread.js';
import type { SourceRecord } from '../../src/sources/source.js';
import { committedTotal, highTotal } from '../helpers/offsets.js';
import { brokers, fresh, inputProducer, testKafka, waitFor } from '../helpers/kafka.js';

const log = createLogger(process.env.TEST_LOG ?? 'silent');
const PARTITIONS = 4;

const event = (i: number) => JSON.stringify({ id: `e-${i}`, time: 1_780_000_000_000 + i, principal: { id: `svc-${i % 7}`, kind: 'service' }, action: 'Get', verb: 'read', resource: { type: 'db:table', id: String(i) }, environment: 'production' });

/** A member of the group: the thread source, with hooks that note when it settled what, and when it was given what. */
function member(group: string, topic: string, tuning: Record<string, unknown>, handleMs: () => number, dedupeWindow?: number) {
  const config = validateConfig({ kafka: { brokers: brokers(), groupId: group, consumer: { heartbeatInterval: 300, sessionTimeout: 10_000, ...tuning } }, admission: { dedupeWindow } }, {});
  const settledAt: Array<{ partition: number; next: bigint; at: number }> = [];
  const heldFrom: Array<{ partitions: number[]; at: number }> = [];
  const handled: SourceRecord[] = [];
  const hooks: PartitionHooks = {
    rebalanced: (held) => void heldFrom.push({ partitions: held.map((p) => p.partition), at: Date.now() }),
    ready: async () => null,
    settled: async (_topic, partition, next) => void settledAt.push({ partition, next: BigInt(next), at: Date.now() }),
  };
  const source = new KafkaThreadSource(config.kafka, group, [{ topics: [topic], format: 'canonical-json', fromBeginning: true }], new Metrics(), log, decodeSettingsOf(config), config.admission.dedupeWindow, hooks);
  const running = source.run(async (records) => {
    handled.push(...records);
    await new Promise((r) => setTimeout(r, handleMs()));
  });
  return { source, running, settledAt, heldFrom, handled };
}

describe('the consumer thread (kafka.consumer.thread) on a real broker', () => {
  const kafka = testKafka();
  let producer: Producer;
  let admin: Admin;
  beforeAll(async () => {
    producer = inputProducer(kafka);
    admin = kafka.admin();
    await Promise.all([producer.connect(), admin.connect()]);
  });
  afterAll(async () => {
    await Promise.all([producer.disconnect(), admin.disconnect()]);
  });

  /** A fresh topic, and a fresh group to read it. */
  async function freshTopic(prefix: string, numPartitions = 1): Promise<{ topic: string; group: string }> {
    const topic = fresh(prefix);
    await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
    return { topic, group: fresh('thread.group') };
  }

  it('a member joining mid-stream gets a partition only after the batches in hand for it settled; every offset handled and committed', async () => {
    const { topic, group } = await freshTopic('thread.in', PARTITIONS);
    // Sent a few at a time: record batches small enough that a fetch of 16 KiB per partition holds several.
    const N = 6000;
    for (let from = 0; from < N; from += 25) {
      await producer.send({ topic, messages: Array.from({ length: 25 }, (_, k) => ({ key: `k${(from + k) % 97}`, value: event(from + k) })) });
    }
    // Small fetches, slow handling and room for many: a backlog of batches in hand when the rebalance comes.
    const tuning = { maxBytesPerPartition: 16 * 1024, maxBatchesInFlight: 100 };
    let slow = false;
    const a = member(group, topic, tuning, () => (slow ? 250 : 10));
    await waitFor('the first member under way', () => a.handled.length >= 1000, 30_000);
    // From here the first member's batches take longer: when the rebalance comes, it has a backlog in hand.
    slow = true;
    const joining = Date.now();
    const b = member(group, topic, tuning, () => 10);
    await waitFor('both members holding partitions', () => a.heldFrom.length >= 2 && b.heldFrom.length >= 1, 30_000);
    await waitFor('every record committed', async () => (await committedTotal(admin, group, topic)) === (await highTotal(admin, topic)), 60_000);
    await Promise.all([a.source.stop(), b.source.stop()]);
    await Promise.all([a.running, b.running]);
    const given = b.heldFrom[0]!;
    expect(given.partitions.length).toBeGreaterThan(0);
    for (const p of given.partitions) {
      const late = a.settledAt.filter((s) => s.partition === p && s.at > given.at);
      // The first member settled this partition's batches before the second was given it, and none after.
      expect(late, `partition ${p}: settled by the first member after the second was given it`).toEqual([]);
    }
    // Not vacuous: the first member was still settling batches of those partitions after the second began to join.
    expect(a.settledAt.filter((s) => given.partitions.includes(s.partition) && s.at > joining).length).toBeGreaterThan(0);
    // At least once: every offset of every partition was handled by one member or the other.
    const seen = new Set([...a.handled, ...b.handled].map((r) => `${r.partition}:${r.offset}`));
    expect(seen.size).toBe(N);
  }, 120_000);

  it('keeps at most half the redelivery check\'s window of records unacknowledged (past one batch)', async () => {
    const { topic, group } = await freshTopic('thread.cap');
    for (let from = 0; from < 3000; from += 20) {
      await producer.send({ topic, messages: Array.from({ length: 20 }, (_, k) => ({ value: event(from + k) })) });
    }
    // A window of 400 ids: at most 200 records in hand, where batches hold about 20 to 200 each.
    const m = member(group, topic, { maxBytesPerPartition: 16 * 1024, maxBatchesInFlight: 1000 }, () => 20, 400);
    const source = m.source as unknown as { accept: (b: { offsets: BigInt64Array }, ...rest: unknown[]) => void };
    const accept = source.accept.bind(m.source);
    let received = 0;
    let largestBatch = 0;
    let mostInHand = 0;
    source.accept = (b, ...rest) => {
      received += b.offsets.length;
      largestBatch = Math.max(largestBatch, b.offsets.length);
      mostInHand = Math.max(mostInHand, received - m.handled.length);
      accept(b, ...rest);
    };
    await waitFor('every record handled', () => m.handled.length >= 3000, 60_000);
    await m.source.stop();
    await m.running;
    expect(largestBatch).toBeLessThan(200);
    expect(mostInHand).toBeGreaterThan(largestBatch);
    expect(mostInHand).toBeLessThanOrEqual(200 + largestBatch);
  }, 90_000);

  it('stopped as it starts: run returns, and the group is left empty', async () => {
    const { topic, group } = await freshTopic('thread.early');
    const m = member(group, topic, {}, () => 0);
    await m.source.stop();
    await m.running;
    const { groups } = await admin.describeGroups([group]);
    expect(groups[0]?.members ?? []).toEqual([]);
  }, 30_000);

  it('a consumer thread that dies fails the source with a clear error instead of leaving it waiting', async () => {
    const { topic, group } = await freshTopic('thread.dies');
    const m = member(group, topic, {}, () => 0);
    await waitFor('consuming', () => m.source.running, 30_000);
    // As if the thread had crashed: it goes without being told to stop.
    await (m.source as unknown as { thread: { terminate(): Promise<number> } }).thread.terminate();
    await expect(m.running).rejects.toThrow(/consumer thread exited \(1\) while consuming/);
  }, 30_000);

  it('hands each batch over in offset order, decoded or raw; a record that fails to decode comes raw, key and value intact', async () => {
    const { topic, group } = await freshTopic('thread.mixed');
    const values = Array.from({ length: 300 }, (_, i) => (i % 50 === 7 ? `not json ${i}` : event(i)));
    await producer.send({ topic, messages: values.map((value, i) => ({ key: i % 50 === 7 ? `bad-${i}` : null, value })) });
    const m = member(group, topic, { decodeShare: 0.7 }, () => 0);
    await waitFor('every record handed over', () => m.handled.length >= values.length, 30_000);
    await m.source.stop();
    await m.running;
    expect(m.handled.map((r) => Number(r.offset))).toEqual(values.map((_, i) => i));
    const decodedOnThread = m.handled.filter((r) => r.decoded).length;
    expect(decodedOnThread).toBeGreaterThan(0);
    expect(decodedOnThread).toBeLessThan(values.length);
    for (const [i, r] of m.handled.entries()) {
      if (i % 50 === 7) {
        expect(r.decoded).toBeUndefined();
        expect(r.value?.toString()).toBe(values[i]);
        expect(r.key?.toString()).toBe(`bad-${i}`);
      } else if (r.decoded) {
        expect('events' in r.decoded && r.decoded.events[0]!.id).toBe(`e-${i}`);
      } else {
        expect(r.value?.toString()).toBe(values[i]);
        expect(r.key).toBeNull();
      }
    }
    expect(await committedTotal(admin, group, topic)).toBe(values.length);
  }, 60_000);

  it('a config reload reaches the consumer thread; a batch it decoded before the reload is decoded whole with the old settings', async () => {
    const { topic, group } = await freshTopic('thread.reload');
    const account = '123456789012';
    const settingsFor = (environment: string): DecodeSettings => decodeSettingsOf(validateConfig({ environments: { awsAccounts: { [account]: environment } } }, {}));
    const cloudtrail = (i: number) => JSON.stringify({
      eventVersion: '1.08', eventID: `ct-${i}`, eventTime: new Date(1_780_000_000_000 + i).toISOString(), eventSource: 'dynamodb.amazonaws.com',
      eventName: 'DeleteItem', recipientAccountId: account, userIdentity: { type: 'AssumedRole', arn: `arn:aws:iam::${account}:role/janitor` },
    });
    const send = (from: number) => producer.send({ topic, messages: Array.from({ length: 40 }, (_, k) => ({ value: cloudtrail(from + k) })) });
    let pipelineSettings = settingsFor('staging');
    const config = validateConfig({ kafka: { brokers: brokers(), groupId: group } }, {});
    const source = new KafkaThreadSource(config.kafka, group, [{ topics: [topic], format: 'cloudtrail', fromBeginning: true }], new Metrics(), log, pipelineSettings, config.admission.dedupeWindow);
    // Per batch as it arrived: how many records came decoded on the consumer thread, and how many raw.
    const arrived: Array<{ decoded: number; raw: number }> = [];
    const internals = source as unknown as { accept: (b: unknown, all: SourceRecord[], ...rest: unknown[]) => void };
    const accept = internals.accept.bind(source);
    internals.accept = (b, all, ...rest) => {
      arrived.push({ decoded: all.filter((r) => r.decoded).length, raw: all.filter((r) => !r.decoded).length });
      accept(b, all, ...rest);
    };
    // As the pipeline does: a record not decoded ahead is decoded with the pipeline's settings of the moment.
    const environments: string[][] = [];
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    const running = source.run(async (records) => {
      const ctx = decodeContextFrom(pipelineSettings);
      environments.push(records.map((r) => {
        const decoded = decodeRecord(r, ctx);
        return 'error' in decoded ? decoded.error.message : decoded.events[0]!.environment;
      }));
      if (environments.length === 1) await firstHeld;
    });
    await send(0);
    await waitFor('the first batch in handling', () => environments.length === 1, 30_000);
    // The second batch is fetched, and decoded in part on the consumer thread, while the first is still handled.
    await send(40);
    await waitFor('the second batch handed over', () => arrived.length === 2, 30_000);
    pipelineSettings = settingsFor('production');
    source.decodeSettingsChanged(pipelineSettings);
    releaseFirst();
    await waitFor('the second batch handled', () => environments.length === 2, 30_000);
    await send(80);
    await waitFor('the third batch handled', () => environments.length === 3, 30_000);
    await source.stop();
    await running;
    // Not vacuous: the second batch came part decoded on the consumer thread, with the old settings, and part raw.
    expect(arrived[1]!.decoded).toBeGreaterThan(0);
    expect(arrived[1]!.raw).toBeGreaterThan(0);
    expect(environments[0]).toEqual(Array(40).fill('staging'));
    expect(environments[1], 'a batch decoded half with the old settings and half with the new').toEqual(Array(40).fill('staging'));
    expect(environments[2], 'what is fetched after the reload').toEqual(Array(40).fill('production'));
  }, 60_000);
});
