import type { Producer } from 'kafkajs';
import type { Alert } from '../alerts/alert.js';
import { alertType } from '../events/avro.js';
import type { AlertSink } from './sink.js';

/** Avro alerts on a Kafka topic, keyed by alert id (so a compacted topic keeps each incident's latest revision). */
export class KafkaAlertSink implements AlertSink {
  readonly name: string;

  constructor(private readonly producer: Producer, private readonly topic: string) {
    this.name = `kafka:${topic}`;
  }

  async publish(alerts: readonly Alert[]): Promise<void> {
    if (alerts.length === 0) return;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: alerts.map((a) => ({
        key: a.id,
        value: alertType.toBuffer(a),
        timestamp: String(a.detectedAt),
        headers: { 'content-type': 'application/avro', 'auditwatch-schema': 'dev.auditwatch.Alert', 'auditwatch-revision': String(a.revision) },
      })),
    });
  }

  async close(): Promise<void> {}
}

export function decodeAlert(value: Buffer): Alert {
  return alertType.fromBuffer(value) as Alert;
}
