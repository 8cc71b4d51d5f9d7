import type { Producer } from 'kafkajs';
import type { Alert } from '../alerts/alert.js';
import { alertFromOlderSchema, alertType } from '../events/avro.js';
import { confluentFrame, confluentSchemaId, type SchemaRegistryClient } from '../kafka/schema-registry.js';
import { detectionFinding, OCSF_VERSION, type OcsfRecord } from './ocsf.js';
import type { AlertSink } from './sink.js';

/**
 * Avro alerts on a Kafka topic, keyed by alert id (so a compacted topic keeps each incident's latest revision). With
 * a schema registry, in the Confluent wire format with schemas/alert.avsc registered under `<topic>-value` (once, at
 * the first publish; a registry that does not answer is retried like a broker that does not).
 */
export class KafkaAlertSink implements AlertSink {
  readonly name: string;
  private schemaId?: Promise<number>;

  constructor(private readonly producer: Producer, private readonly topic: string, private readonly registry?: SchemaRegistryClient) {
    this.name = `kafka:${topic}`;
  }

  async publish(alerts: readonly Alert[]): Promise<void> {
    if (alerts.length === 0) return;
    let id: number | undefined;
    if (this.registry) {
      this.schemaId ??= this.registry.register(`${this.topic}-value`, alertType);
      id = await this.schemaId.catch((err: unknown) => {
        this.schemaId = undefined;
        throw err;
      });
    }
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: alerts.map((a) => ({
        key: a.id,
        value: id === undefined ? alertType.toBuffer(a) : confluentFrame(id, alertType.toBuffer(a)),
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
        key: r.metadata.correlation_uid,
        value: JSON.stringify(r),
        timestamp: String(r.time),
        headers: { 'content-type': 'application/json', 'auditwatch-schema': `ocsf:${OCSF_VERSION}:${r.class_uid}` },
      })),
    });
  }

  async close(): Promise<void> {}
}

/**
 * An alert from the alerts topic, raw Avro or Confluent-framed (written with a registry). A raw alert never starts
 * with a 0 byte: that would be an empty id.
 */
export function decodeAlert(value: Buffer): Alert {
  const body = confluentSchemaId(value) === undefined ? value : value.subarray(5);
  try {
    return alertType.fromBuffer(body) as Alert;
  } catch (err) {
    try {
      return alertType.fromBuffer(body, alertFromOlderSchema) as Alert;
    } catch {
      throw err;
    }
  }
}
