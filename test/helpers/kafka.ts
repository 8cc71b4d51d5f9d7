import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { Kafka, logLevel, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';

export function brokers(): string[] {
  return inject('brokers').split(',');
}

/** A fresh name per test, so tests never see each other's data on the shared broker. */
export function fresh(prefix: string): string {
  return `${prefix}.${randomBytes(5).toString('hex')}`;
}

export function testKafka(): Kafka {
  return new Kafka({ clientId: fresh('test'), brokers: brokers(), logLevel: logLevel.NOTHING });
}

/**
 * The producer tests write their input with: its retries never write a record twice. kafkajs resends a broker's whole
 * produce request when one partition in it fails (NOT_LEADER on a topic whose leaders are still settling), which with
 * a plain producer writes the partitions that had succeeded a second time; a test that counts records or offsets
 * would then see input it never meant to send.
 */
export function inputProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
}

/** Collects everything on a topic from the beginning, as it arrives. */
export async function collect(kafka: Kafka, topic: string): Promise<{ messages: Array<KafkaMessage & { receivedAt: number }>; stop: () => Promise<void>; consumer: Consumer }> {
  const messages: Array<KafkaMessage & { receivedAt: number }> = [];
  const consumer = kafka.consumer({ groupId: fresh('collect'), maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void messages.push({ ...message, receivedAt: Date.now() }) });
  return { messages, consumer, stop: () => consumer.disconnect() };
}

export { waitFor } from './wait.js';

/** A fresh compacted topic of one partition, as auditwatch creates its control topic. */
export async function createControlTopic(kafka: Kafka): Promise<string> {
  const topic = fresh('control');
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  return topic;
}
