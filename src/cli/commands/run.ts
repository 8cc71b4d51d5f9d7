import { buildActuators } from '../../actions/index.js';
import { FreezeExecutor } from '../../actions/executor.js';
import { KafkaFreezeAuditLog } from '../../actions/freeze-audit.js';
import { WriteGate } from '../../actions/write-gate.js';
import { readModel } from '../../baseline/model.js';
import { loadAutoencoder } from '../../model/autoencoder.js';
import { useBestBackend } from '../../model/backend.js';
import { ConfigWatcher } from '../../config/watch.js';
import { createKafka, ensureOutputTopics } from '../../kafka/client.js';
import { createLogger } from '../../log.js';
import { Metrics } from '../../metrics/metrics.js';
import { startMetricsServer } from '../../metrics/server.js';
import { buildDetectionPipeline, connectProducer } from '../../pipeline/assemble.js';
import { KafkaGroupSource } from '../../sources/kafka-group.js';
import { configFrom } from '../common.js';

export interface RunArgs {
  config?: string;
  modelDir?: string;
}

/** The live job: a consumer group on the configured topics until SIGTERM or SIGINT, then drain, commit, exit 0. */
export async function runCommand(args: RunArgs): Promise<number> {
  const config = configFrom(args);
  const log = createLogger(config.log.level);
  const model = readModel(config.modelDir);
  const metrics = new Metrics({ defaultMetrics: true });
  const kafka = createKafka(config.kafka, log);
  await ensureOutputTopics(kafka, config);
  const producer = await connectProducer(kafka);
  const actuators = buildActuators(config);
  for (const a of actuators) await a.check();
  const autoencoder = await loadAutoencoder(config.modelDir);
  if (autoencoder) metrics.modelBackend.set({ backend: await useBestBackend() }, 1);
  log.info({ backend: autoencoder ? await useBestBackend() : 'none', samples: autoencoder?.manifest.samples }, autoencoder ? 'learned model loaded' : 'no learned model in the model directory: the model detector is off');
  const { pipeline, dispatcher, sinks, reconfigure } = buildDetectionPipeline({ config, model, autoencoder, metrics, log, producer });
  const watcher = args.config
    ? new ConfigWatcher(args.config, (next) => {
      if (args.modelDir) next.modelDir = args.modelDir;
      return reconfigure(next);
    }, log.child({ component: 'config' }), (outcome) => metrics.configReloads.inc({ outcome }))
    : undefined;
  watcher?.start();
  // Freezes already in force are reconciled before the first event, and seed the dispatcher's scope and cap state.
  const executor = new FreezeExecutor(new WriteGate(kafka, config.freeze.controlTopic), producer, config.freeze.controlTopic, actuators,
    new KafkaFreezeAuditLog(producer, config.freeze.auditTopic), metrics, log.child({ component: 'freeze-executor' }));
  dispatcher.restore(await executor.start());
  const source = new KafkaGroupSource(kafka, config.kafka.groupId, config.sources, config.kafka.consumer, metrics, log);
  const server = config.metrics.enabled
    ? await startMetricsServer(metrics, config.metrics.host, config.metrics.port, () => source.running)
    : undefined;
  if (server) log.info({ port: server.port, host: config.metrics.host }, 'metrics and health endpoints up');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: draining the current batch and committing');
    void source.stop();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  metrics.ready.set(1);
  log.info({ entities: Object.keys(model.entities).length, freeze: config.freeze.mode, actuators: actuators.map((a) => a.name) }, 'auditwatch running');
  await source.run(pipeline.handle);
  metrics.ready.set(0);
  await Promise.all(sinks.map((s) => s.close()));
  await executor.stop();
  watcher?.stop();
  await producer.disconnect();
  server?.server.close();
  log.info(pipeline.totals, 'stopped');
  return 0;
}
