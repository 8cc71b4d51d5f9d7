import type { Message, Producer } from 'kafkajs';
import type { DecodeContext } from '../decode/index.js';
import type { AuditEvent } from '../events/audit-event.js';
import { encodeEventBatch } from '../events/avro.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { DeadLetterSink } from '../sinks/dead-letter.js';
import type { SourceRecord } from '../sources/source.js';
import { admitRecords, type EventTimeBounds } from './admission.js';
import { lookUpWriterSchemas } from './schema-lookup.js';
import { fnv1a } from '../util/hash.js';

/** Events per repartition record: a few hundred KB of Avro, under the broker's 1 MB limit. */
const EVENTS_PER_RECORD = 1000;

/** A stable partition for a principal, the same in every instance and every run. */
export function partitionOf(principal: string, partitions: number): number {
  return fnv1a(principal) % partitions;
}

/**
 * The repartition stage, for input topics not keyed by principal: decodes each record and writes its events to
 * the internal repartition topic, on the partition of their principal, so that every event of a principal reaches
 * the one detection task that holds its state. Events bound for one partition travel together, many to a record
 * (format canonical-avro-batch): one record per event held the stage to what a kafkajs producer
 * sends per second (about 30,000 messages here). A record that cannot be decoded, or whose event time is
 * impossible, is dead-lettered here, with its original bytes. Resolves only when every event is on the repartition
 * topic, so the source commits the input only then.
 */
export class Repartitioner {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly partitions: number,
    private readonly decode: () => DecodeContext,
    private readonly bounds: EventTimeBounds,
    private readonly deadLetter: DeadLetterSink,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  handle = async (records: SourceRecord[]): Promise<void> => {
    const byPartition: AuditEvent[][] = Array.from({ length: this.partitions }, () => []);
    let events = 0;
    const decode = this.decode();
    await lookUpWriterSchemas(records, decode, this.log, () => false);
    const { dead } = admitRecords(records, decode, this.bounds, (e) => {
      byPartition[partitionOf(e.principal.id, this.partitions)]!.push(e);
      events++;
    });
    // Partitions in parallel; within one, records in order (a principal's events keep their order), one per request
    // so that no request's batch for a partition outgrows the broker's limit.
    const sendPartition = async (list: AuditEvent[], partition: number) => {
      for (let i = 0; i < list.length; i += EVENTS_PER_RECORD) {
        const chunk = list.slice(i, i + EVENTS_PER_RECORD);
        const message: Message = { partition, value: encodeEventBatch(chunk), timestamp: String(chunk[chunk.length - 1]!.time) };
        await this.producer.send({ topic: this.topic, acks: -1, messages: [message] });
      }
    };
    await Promise.all([...byPartition.map(sendPartition), this.deadLetter.publish(dead)]);
    this.metrics.countBatch(records, dead);
    if (events) this.metrics.repartitioned.inc(events);
  };
}
