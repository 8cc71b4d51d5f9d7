import { beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { KafkaTopicReader, type ReadRecord } from '../../src/sources/kafka/topic-reader.js';
import { fresh, inputProducer, testKafka, waitFor } from '../helpers/kafka.js';

/** The topic reader's two modes on a real broker: where each ends, and what a handler that throws does. */
describe('the topic reader (range and follow) on a real broker', () => {
  let kafka: Kafka;
  let topic: string;
  const produce = async (values: string[]) => {
    const producer = inputProducer(kafka);
    await producer.connect();
    await producer.send({ topic, messages: values.map((v, i) => ({ key: `k${i % 3}`, value: v, partition: i % 2, headers: { from: 'test' } })) });
    await producer.disconnect();
  };

  beforeAll(async () => {
    kafka = testKafka();
    topic = fresh('reader');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    await produce(Array.from({ length: 10 }, (_, i) => `r${i}`));
  });

  it('range mode ends at where the topic ended when the read began, every record once', async () => {
    const seen: string[] = [];
    await new KafkaTopicReader(kafka, { topic, format: 'auto' }, 'range').read((records) => {
      for (const r of records) seen.push(r.value!.toString());
    });
    expect(seen.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`).sort());
  });

  it('range mode ends with the error of a handler that throws', async () => {
    const reader = new KafkaTopicReader(kafka, { topic, format: 'auto' }, 'range');
    await expect(reader.read(() => {
      throw new Error('cannot process');
    })).rejects.toThrow('cannot process');
  });

  it('follow mode catches up, keeps reading past a handler that throws, and hands over headers and timestamps', async () => {
    const seen: ReadRecord[] = [];
    const reader = new KafkaTopicReader(kafka, { topic, format: 'auto' }, 'follow');
    try {
      await reader.read((records) => {
        seen.push(...records);
        // Every batch throws: a follower must go on to the records after it all the same.
        throw new Error('the handler failed');
      });
      expect(reader.caughtUp).toBe(true);
      expect(seen.length).toBe(10);
      await produce(['late-0', 'late-1']);
      await waitFor('the two records written after catching up', () => seen.length === 12);
      expect(seen.map((r) => r.value!.toString()).filter((v) => v.startsWith('late')).sort()).toEqual(['late-0', 'late-1']);
      expect(seen.every((r) => r.headers.from === 'test' && r.timestamp > 0)).toBe(true);
    } finally {
      await reader.stop();
    }
  });
});
