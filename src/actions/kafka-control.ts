import type { Producer } from 'kafkajs';
import type { Actuator } from './actuator.js';
import type { FreezeCommand } from './freeze-command.js';

/** Publishes freezes to the compacted control topic that write gates follow; unfreeze is a tombstone. */
export class KafkaControlActuator implements Actuator {
  readonly name: string;

  constructor(private readonly producer: Producer, private readonly topic: string) {
    this.name = `kafka-control:${topic}`;
  }

  async check(): Promise<void> {
    // The producer is connected by the caller; the topic is created at start with cleanup.policy=compact.
  }

  async apply(command: FreezeCommand): Promise<void> {
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: [{ key: command.scopeKey, value: JSON.stringify(command), headers: { 'auditwatch-alert-id': command.alertId } }],
    });
  }

  async revert(scopeKey: string): Promise<void> {
    await this.producer.send({ topic: this.topic, acks: -1, messages: [{ key: scopeKey, value: null }] });
  }
}
