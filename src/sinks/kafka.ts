import type { Producer } from 'kafkajs';
import type { Alert } from '../alerts/alert.js';
import { alertType } from '../events/avro.js';
import { detectionFinding, OCSF_VERSION, type OcsfRecord } from './ocsf.js';
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

/**
 * OCSF JSON on a Kafka topic: alerts as Detection Findings keyed by alert id, remediations keyed by the alert they
 * answer (correlation_uid), so one incident's records stay in one partition, in order.
 */
export class KafkaOcsfSink implements AlertSink {
  readonly name: string;

  constructor(private readonly producer: Producer, private readonly topic: string) {
    this.name = `kafka:${topic}`;
  }

  publish(alerts: readonly Alert[]): Promise<void> {
    return this.publishOcsf(alerts.map(detectionFinding));
  }

  async publishOcsf(records: readonly OcsfRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: records.map((r) => ({
        key: (r.metadata as { correlation_uid: string }).correlation_uid,
        value: JSON.stringify(r),
        timestamp: String(r.time),
        headers: { 'content-type': 'application/json', 'auditwatch-schema': `ocsf:${OCSF_VERSION}:${r.class_uid}` },
      })),
    });
  }

  async close(): Promise<void> {}
}

export function decodeAlert(value: Buffer): Alert {
  return alertType.fromBuffer(value) as Alert;
}
