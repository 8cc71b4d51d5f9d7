import { startLocalBroker } from '../../kafka/local-broker.js';

/** A local Kafka in the foreground, for trying `auditwatch run` by hand; Ctrl-C stops it. */
export async function brokerCommand(): Promise<number> {
  const broker = await startLocalBroker({ log: (l) => process.stderr.write(`${l}\n`) });
  process.stdout.write(`Kafka (KRaft) ready at ${broker.brokers}  (export KAFKA_BROKERS=${broker.brokers}); Ctrl-C stops it\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await broker.stop();
  return 0;
}
