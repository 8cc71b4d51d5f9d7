import { createKafka, ensureOutputTopics } from '../../kafka/client.js';
import { remediationFeed } from '../../actions/freeze-ocsf.js';
import { alertsTopicOf } from '../../config/select.js';
import { createLogger } from '../../log.js';
import { Metrics } from '../../metrics/metrics.js';
import { startMetricsServer } from '../../metrics/server.js';
import { connectProducer } from '../../pipeline/assemble.js';
import { AlertDelivery } from '../../sinks/delivery.js';
import { buildOutputs } from '../../sinks/outputs/index.js';
import { configFrom, untilSignal, UsageError } from '../common.js';

/**
 * `auditwatch deliver`: the outputs (webhook, Alertmanager …) as a process of their own, reading the alerts topic in
 * the same consumer groups `run` would use, until SIGTERM or SIGINT. With `alerts.delivery: separate`, `run` leaves
 * them to it; run several for more throughput, the group shares the partitions.
 */
export async function deliverCommand(args: { config?: string }): Promise<number> {
  const config = configFrom(args);
  const outputs = buildOutputs(config);
  if (outputs.length === 0) throw new UsageError('the config has no outputs to deliver (alerts.sinks of type webhook, alertmanager, slack, pagerduty or syslog)');
  const log = createLogger(config.log.level).child({ component: 'delivery' });
  const metrics = new Metrics({ defaultMetrics: true });
  const kafka = createKafka(config.kafka, log);
  await ensureOutputTopics(kafka, config);
  const producer = await connectProducer(kafka);
  const delivery = new AlertDelivery(kafka, alertsTopicOf(config)!, config.kafka.groupId, outputs, producer, metrics, log, remediationFeed(config.freeze.auditTopic));
  let ready = false;
  const server = config.metrics.enabled ? await startMetricsServer(() => metrics.registry.metrics(), config.metrics.host, config.metrics.port, () => ready) : undefined;
  const done = untilSignal();
  await Promise.race([delivery.start().then(() => (ready = true)), done]);
  await done;
  await delivery.stop();
  await producer.disconnect();
  server?.server.close();
  return 0;
}
