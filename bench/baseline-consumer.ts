/**
 * One bare kafkajs consumer (JSON.parse of every value) as its own process, for the baseline with as many processes
 * as auditwatch has workers. Prints one JSON line per batch: {count, first, at} with wall-clock ms, so the parent
 * can add the processes up. Args: brokers topic groupId partitions.
 */
import { Kafka, logLevel } from 'kafkajs';
import { runBareConsumer } from './bare-consumer.js';

const [brokers, topic, groupId, partitions] = process.argv.slice(2) as [string, string, string, string];
const kafka = new Kafka({ clientId: groupId, brokers: brokers.split(','), logLevel: logLevel.ERROR });
let count = 0;
let first = 0;
const consumer = await runBareConsumer(kafka, groupId, topic, Number(partitions), (messages) => {
  if (!first) first = Date.now();
  count += messages;
  process.stdout.write(`${JSON.stringify({ count, first, at: Date.now() })}\n`);
});
process.once('SIGTERM', () => void consumer.disconnect().then(() => process.exit(0)));
