/**
 * One bare kafkajs consumer (JSON.parse of every value) as its own process, for the baseline with as many processes
 * as auditwatch has workers. Prints one JSON line per batch: {count, first, at} with wall-clock ms, so the parent
 * can add the processes up. Args: brokers topic groupId.
 */
import { Kafka, logLevel } from 'kafkajs';

const [brokers, topic, groupId] = process.argv.slice(2) as [string, string, string];
const kafka = new Kafka({ clientId: groupId, brokers: brokers.split(','), logLevel: logLevel.ERROR });
const consumer = kafka.consumer({ groupId, maxBytesPerPartition: 8 * 2 ** 20, maxBytes: 32 * 2 ** 20, maxWaitTimeInMs: 100 });
await consumer.connect();
await consumer.subscribe({ topics: [topic], fromBeginning: true });
let count = 0;
let first = 0;
await consumer.run({
  partitionsConsumedConcurrently: 8,
  eachBatch: async ({ batch }) => {
    if (!first) first = Date.now();
    for (const m of batch.messages) JSON.parse(m.value!.toString());
    count += batch.messages.length;
    process.stdout.write(`${JSON.stringify({ count, first, at: Date.now() })}\n`);
  },
});
process.once('SIGTERM', () => void consumer.disconnect().then(() => process.exit(0)));
