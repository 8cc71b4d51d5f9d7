import type { Producer } from 'kafkajs';
import type { AuditwatchError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SourceRecord } from '../sources/source.js';

export interface DeadLetter {
  record: SourceRecord;
  error: AuditwatchError;
}

/** Where records that cannot be decoded go, with the reason. Nothing is dropped silently. */
export interface DeadLetterSink {
  publish(entries: readonly DeadLetter[]): Promise<void>;
}

export function deadLetterHeaders(d: DeadLetter): Record<string, string> {
  return {
    'auditwatch-error-code': d.error.code,
    'auditwatch-error-reason': d.error.message.slice(0, 1000),
    'auditwatch-source-topic': d.record.topic,
    'auditwatch-source-partition': String(d.record.partition),
    'auditwatch-source-offset': d.record.offset,
    'auditwatch-source-format': d.record.format,
  };
}

/** The original bytes, unchanged, on the dead-letter topic; the reason and origin ride in the headers. */
export class KafkaDeadLetterSink implements DeadLetterSink {
  constructor(private readonly producer: Producer, private readonly topic: string, private readonly log: Logger) {}

  async publish(entries: readonly DeadLetter[]): Promise<void> {
    if (entries.length === 0) return;
    for (const d of entries) this.log.warn({ topic: d.record.topic, partition: d.record.partition, offset: d.record.offset, code: d.error.code }, `dead-letter: ${d.error.message}`);
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: entries.map((d) => ({ key: d.record.key, value: d.record.value, headers: deadLetterHeaders(d) })),
    });
  }
}

/** Without Kafka (file replay or training): each rejected record is logged with its reason and origin. */
export class LogDeadLetterSink implements DeadLetterSink {
  constructor(private readonly log: Logger) {}

  async publish(entries: readonly DeadLetter[]): Promise<void> {
    for (const d of entries) {
      this.log.warn({ ...deadLetterHeaders(d), record: d.record.value?.subarray(0, 200).toString('utf8') }, `dead-letter: ${d.error.message}`);
    }
  }
}
