import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { Kafka, logLevel, type Consumer, type KafkaMessage } from 'kafkajs';

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
