import type { Consumer, Kafka } from 'kafkajs';
import { validateConfig } from '../src/config/load.js';

const defaults = validateConfig({}, {}).kafka.consumer;
/** The fetch sizes `run` uses by default (kafka.consumer), so that the baseline reads the way auditwatch does. */
const CONSUMER_TUNING = { maxBytesPerPartition: defaults.maxBytesPerPartition, maxBytes: defaults.maxBytes, maxWaitTimeInMs: defaults.maxWaitTime };

/**
 * The baseline: a bare kafkajs consumer that JSON.parses every value (the unavoidable work) and nothing else.
 * `onBatch` gets the number of messages of each batch, after they are parsed.
 */
export async function runBareConsumer(kafka: Kafka, groupId: string, topic: string, partitions: number, onBatch: (messages: number) => void): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId, ...CONSUMER_TUNING });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: partitions,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) JSON.parse(m.value!.toString());
      onBatch(batch.messages.length);
    },
  });
  return consumer;
}
