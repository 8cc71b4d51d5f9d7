import type { TestProject } from 'vitest/node';
import { startLocalBroker, type LocalBroker } from '../../src/kafka/local-broker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    brokers: string;
  }
}

let broker: LocalBroker | undefined;

/** One real Kafka for the whole test run (or the cluster in KAFKA_BROKERS); tests use fresh topic and group names. */
export async function setup(project: TestProject): Promise<void> {
  let brokers = process.env.KAFKA_BROKERS;
  if (!brokers) {
    const started = Date.now();
    broker = await startLocalBroker({ log: (l) => console.log(l) });
    brokers = broker.brokers;
    console.log(`test broker: Apache Kafka (KRaft) at ${brokers}, ready in ${Date.now() - started} ms`);
  }
  project.provide('brokers', brokers);
}

export async function teardown(): Promise<void> {
  await broker?.stop();
}
