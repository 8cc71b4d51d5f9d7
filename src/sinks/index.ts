import type { Producer } from 'kafkajs';
import type { SchemaRegistryClient } from '../kafka/schema-registry.js';
import type { Config, OutputSpec, SinkSpec } from '../config/schema.js';
import { isOutput } from './outputs/index.js';
import { KafkaAlertSink, KafkaOcsfSink } from './kafka.js';
import { NdjsonSink } from './ndjson.js';
import type { AlertSink } from './sink.js';

export interface SinkDeps {
  /** Absent when running without Kafka (replay or train from a file): Kafka sinks are then refused. */
  producer?: Producer;
  /** With a schema registry, the Avro alerts topic is written in the Confluent wire format, its schema registered. */
  registry?: SchemaRegistryClient;
}

type SinkFactory<S extends SinkSpec> = (spec: S, deps: SinkDeps) => AlertSink;
type InlineSpec = Exclude<SinkSpec, OutputSpec>;

/** One factory per inline sink `type`; the outputs are built by src/sinks/outputs and delivered from the topic. */
const SINKS: { [T in InlineSpec['type']]: SinkFactory<Extract<InlineSpec, { type: T }>> } = {
  kafka: (spec, deps) => {
    if (!deps.producer) throw new Error(`sink kafka:${spec.topic} needs a Kafka connection`);
    return spec.format === 'ocsf' ? new KafkaOcsfSink(deps.producer, spec.topic) : new KafkaAlertSink(deps.producer, spec.topic, deps.registry);
  },
  ndjson: (spec) => new NdjsonSink(spec.path, spec.format),
};

/** The inline sinks, written as detection emits; outputs (webhook, alertmanager, slack, pagerduty, syslog) are not among them. */
export function buildSinks(specs: Config['alerts']['sinks'], deps: SinkDeps): AlertSink[] {
  return specs.filter((spec): spec is InlineSpec => !isOutput(spec)).map((spec) => (SINKS[spec.type] as SinkFactory<typeof spec>)(spec, deps));
}

export type { AlertSink } from './sink.js';
