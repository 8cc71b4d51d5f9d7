import type { Message, Producer } from 'kafkajs';
import { DECODERS, type DecodeContext } from '../decode/index.js';
import { AuditwatchError, DecodeError } from '../errors.js';
import { auditEventType } from '../events/avro.js';
import type { Metrics } from '../metrics/metrics.js';
import type { DeadLetter, DeadLetterSink } from '../sinks/dead-letter.js';
import type { SourceRecord } from '../sources/source.js';
import type { EventAdmission } from './admission.js';

/** Most events per produce request: well under the broker's 1 MB limit at a few hundred bytes of Avro each. */
const CHUNK = 1000;

/**
 * The repartition stage, for input topics not keyed by principal: decodes each record and writes its events as
 * canonical Avro to the internal repartition topic, keyed by principal id, so that every event of a principal
 * reaches the one detection task that holds its state. A record that cannot be decoded, or whose event time is
 * impossible, is dead-lettered here, with its original bytes. Resolves only when every event is on the
 * repartition topic, so the source commits the input only then.
 */
export class Repartitioner {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly decode: () => DecodeContext,
    private readonly admission: EventAdmission,
    private readonly deadLetter: DeadLetterSink,
    private readonly metrics: Metrics,
  ) {}

  handle = async (records: SourceRecord[]): Promise<void> => {
    const messages: Message[] = [];
    const dead: DeadLetter[] = [];
    const ctx = this.decode();
    for (const record of records) {
      try {
        if (record.value === null) throw new DecodeError('DECODE_EMPTY', 'record has no value (tombstone)');
        const { events } = DECODERS[record.format](record.value, ctx);
        let rejected: DecodeError | null = null;
        // As in detection: the admissible events of a record go on; the record is dead-lettered with the first reason.
        for (const e of events) {
          const error = this.admission.checkTime(e);
          if (error) rejected ??= error;
          else messages.push({ key: e.principal.id, value: auditEventType.toBuffer(e), timestamp: String(e.time) });
        }
        if (rejected) dead.push({ record, error: rejected });
      } catch (err) {
        dead.push({ record, error: err instanceof AuditwatchError ? err : new DecodeError('DECODE_BAD_FIELD', `decoder failed: ${(err as Error).message}`, err) });
      }
    }
    for (let i = 0; i < messages.length; i += CHUNK) await this.producer.send({ topic: this.topic, acks: -1, messages: messages.slice(i, i + CHUNK) });
    await this.deadLetter.publish(dead);
    const perTopic = new Map<string, number>();
    for (const r of records) perTopic.set(r.topic, (perTopic.get(r.topic) ?? 0) + 1);
    for (const [topic, n] of perTopic) this.metrics.recordsConsumed.inc({ topic }, n);
    if (messages.length) this.metrics.repartitioned.inc(messages.length);
    for (const d of dead) this.metrics.recordsFailed.inc({ code: d.error.code });
    if (dead.length) this.metrics.deadLettered.inc(dead.length);
  };
}
