import type { Producer } from 'kafkajs';
import type { Config, SinkSpec } from '../config/schema.js';
import { KafkaAlertSink } from './kafka.js';
import { NdjsonSink } from './ndjson.js';
import type { AlertSink } from './sink.js';

export interface SinkDeps {
  /** Absent when running without Kafka (replay or train from a file): Kafka sinks are then refused. */
  producer?: Producer;
}

type SinkFactory<S extends SinkSpec> = (spec: S, deps: SinkDeps) => AlertSink;

/** One factory per sink `type`. */
const SINKS: { [T in SinkSpec['type']]: SinkFactory<Extract<SinkSpec, { type: T }>> } = {
  kafka: (spec, deps) => {
    if (!deps.producer) throw new Error(`sink kafka:${spec.topic} needs a Kafka connection`);
    return new KafkaAlertSink(deps.producer, spec.topic);
  },
  ndjson: (spec) => new NdjsonSink(spec.path),
};

export function buildSinks(specs: Config['alerts']['sinks'], deps: SinkDeps): AlertSink[] {
  return specs.map((spec) => (SINKS[spec.type] as SinkFactory<typeof spec>)(spec, deps));
}

export type { AlertSink } from './sink.js';
