import type { Kafka, Producer } from 'kafkajs';
import { ControlPublisher, controlKeys } from '../actions/control-publisher.js';
import { publishAlert, reportRejections } from '../actions/control-watch.js';
import type { ActionDispatcher } from '../actions/dispatcher.js';
import { FreezeExecutor } from '../actions/executor.js';
import { remediationFeed } from '../actions/freeze-ocsf.js';
import { buildActuators, type Actuator } from '../actions/index.js';
import { WriteGate } from '../actions/write-gate.js';
import { ChangeFeed } from '../actions/change-feed.js';
import { AlertDelivery } from '../sinks/delivery.js';
import { buildOutputs } from '../sinks/outputs/index.js';
import { alertsTopicOf } from '../config/select.js';
import { readModel, type BaselineModel } from '../baseline/model.js';
import type { Config } from '../config/schema.js';
import { ConfigError, errorMessage } from '../errors.js';
import { createKafka, ensureOutputTopics } from '../kafka/client.js';
import { checkControlTopic } from '../kafka/control-acls.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { loadAutoencoder, type Autoencoder } from '../model/autoencoder.js';
import { useBestBackend } from '../model/backend.js';
import { EventTimeBounds } from '../pipeline/admission.js';
import { buildDetectionPipeline, connectProducer } from '../pipeline/assemble.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { Repartitioner } from '../pipeline/repartition.js';
import { KafkaDeadLetterSink } from '../sinks/dead-letter.js';
import type { AlertSink } from '../sinks/sink.js';
import { KafkaGroupSource } from '../sources/kafka/group.js';
import { liveSource } from '../sources/kafka/live.js';
import { decodeSettingsOf } from '../decode/index.js';
import { PartitionState } from './partition-state.js';
import { ensureInternalTopics, planTopology } from './topology.js';

export interface RuntimeOptions {
  log: Logger;
  metrics: Metrics;
  /** Whether this instance says who may write the control topic (worker 0, or a single process). */
  checkControlAcls?: boolean;
  /** Defaults: read from `config.modelDir`. The demo trains one in process when the directory has none. */
  model?: BaselineModel;
  autoencoder?: Autoencoder | null;
  env?: NodeJS.ProcessEnv;
  /** Wraps detection's batch handler (the benches time batches with it). */
  wrapHandle?: (handle: Pipeline['handle']) => Pipeline['handle'];
}

/**
 * Everything `auditwatch run` runs: the live source (and the repartition stage for unkeyed inputs), detection with
 * per-partition state, the freeze stage and dispatcher, the FreezeExecutor with its actuators following the control
 * topic, and the sinks. `run`, `run --workers`, the demo and the benches build it here, so what they measure and
 * show is what production does.
 */
export interface Runtime {
  readonly kafka: Kafka;
  readonly producer: Producer;
  readonly pipeline: Pipeline;
  readonly dispatcher: ActionDispatcher;
  readonly sinks: readonly AlertSink[];
  /** The executor's view of the control topic: every freeze in force, verified. */
  readonly gate: WriteGate;
  readonly actuators: readonly Actuator[];
  /** Every stage is consuming. */
  isReady(): boolean;
  /** A reloaded config (see buildDetectionPipeline): refused as a whole, or applied between batches. */
  reconfigure(next: Config): { refused: string[]; needsRestart: string[] };
  /** Runs every stage until `stop` or a consumer fails; then drains, and rejects with that failure. */
  run(): Promise<void>;
  stop(reason: string): void;
  /** After `run`: writes the state snapshot, closes the sinks, the executor and the producer. */
  close(): Promise<void>;
}

/**
 * Every actuator's preconditions, before anything is consumed. One that cannot work (an IAM endpoint that refuses,
 * a role that does not exist) is a bad config: one line per actuator, naming its key.
 */
async function checkActuators(actuators: readonly Actuator[], log: Logger): Promise<void> {
  const problems: string[] = [];
  for (const [i, a] of actuators.entries()) {
    try {
      for (const warning of (await a.check()) ?? []) log.warn({ actuator: a.name }, warning);
    } catch (err) {
      problems.push(`config: freeze.actuators.${i} (${a.name}): ${errorMessage(err)}`);
    }
  }
  if (problems.length) {
    await Promise.all(actuators.map((a) => a.close().catch(() => {})));
    throw new ConfigError(problems);
  }
}

export async function buildRuntime(config: Config, opts: RuntimeOptions): Promise<Runtime> {
  const { log, metrics } = opts;
  // Keys first, then the actuators: a key that does not load, or an actuator that cannot work, is a bad config
  // (exit 2), found before anything connects.
  const { signer, keys } = controlKeys(config, opts.env);
  const actuators = buildActuators(config, opts.env);
  // Outputs too: a missing secret variable is a bad config before anything connects.
  const outputs = config.alerts.delivery === 'inline' ? buildOutputs(config, opts.env) : [];
  await checkActuators(actuators, log);
  const model = opts.model ?? readModel(config.modelDir);
  const kafka = createKafka(config.kafka, log);
  await ensureOutputTopics(kafka, config);
  if (opts.checkControlAcls ?? true) await checkControlTopic(kafka, config, log.child({ component: 'control' }));
  const producer = await connectProducer(kafka);
  const autoencoder = opts.autoencoder !== undefined ? opts.autoencoder : await loadAutoencoder(config.modelDir);
  const backend = autoencoder ? await useBestBackend() : 'none';
  if (autoencoder) metrics.modelBackend.set({ backend }, 1);
  log.info({ backend, samples: autoencoder?.manifest.samples }, autoencoder ? 'learned model loaded' : 'no learned model in the model directory: the model detector is off');

  const topology = planTopology(config);
  const { repartitionPartitions } = await ensureInternalTopics(kafka, config, topology);
  // Approved changes are read before the first event is judged, as the control topic is.
  const changeFeed = new ChangeFeed(kafka, config.changes.topic, keys, metrics, log.child({ component: 'changes' }));
  await changeFeed.start();
  const { pipeline, dispatcher, sinks, audit, reconfigure, tasks, decodeContext } = buildDetectionPipeline({
    config, model, autoencoder, metrics, log, producer, signer, tasks: config.state.changelog ? { by: 'record' } : undefined, changes: changeFeed.book,
  });
  // Freezes already in force are reconciled before the first event, and seed the dispatcher's scope and cap state.
  // A record on the control topic that does not verify is skipped, counted and raised as a control-tamper alert.
  const gate = new WriteGate(kafka, config.freeze.controlTopic, { keys, onReject: reportRejections(metrics, log.child({ component: 'control' }), sinks) });
  // Freezes by other instances in the group (or operators) hold their scopes here too.
  gate.onChange((change) => dispatcher.observeRecord(change.record));
  const publisher = signer ? new ControlPublisher(producer, config.freeze.controlTopic, signer) : undefined;
  const executor = new FreezeExecutor(gate, publisher, actuators, audit, metrics,
    log.child({ component: 'freeze-executor' }), Date.now, publishAlert(sinks, log));
  await executor.start();
  // The outputs join their groups before detection writes its first alert, so none is missed.
  const delivery = outputs.length ? new AlertDelivery(kafka, alertsTopicOf(config)!, config.kafka.groupId, outputs, producer, metrics, log.child({ component: 'delivery' }), remediationFeed(config.freeze.auditTopic)) : undefined;
  await delivery?.start();

  const state = tasks ? new PartitionState(kafka, producer, tasks, { topic: topology.changelogTopic, dir: config.state.dir }, metrics, log.child({ component: 'state' })) : undefined;
  const source = liveSource(kafka, config, config.kafka.groupId, topology.detection, metrics, log, { hooks: state });
  // Inputs not keyed by principal go through the repartition stage first: its own group, the same process.
  const ingest = topology.repartition.length
    ? {
      source: new KafkaGroupSource(kafka, `${config.kafka.groupId}-repartition`, topology.repartition, config.kafka.consumer, metrics, log.child({ stage: 'repartition' })),
      stage: new Repartitioner(producer, topology.repartitionTopic, repartitionPartitions, decodeContext, new EventTimeBounds(config.admission.maxFutureSkew),
        new KafkaDeadLetterSink(producer, config.deadLetter.topic, log.child({ component: 'dead-letter' })), metrics, log.child({ stage: 'repartition' })),
    }
    : undefined;

  let stopping = false;
  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'stopping: draining the current batch and committing');
    pipeline.stop();
    void ingest?.source.stop();
    void source.stop();
  };
  log.info({ entities: Object.keys(model.entities).length, freeze: config.freeze.mode, actuators: actuators.map((a) => a.name) }, 'auditwatch running');

  return {
    kafka, producer, pipeline, dispatcher, sinks, gate, actuators,
    isReady: () => source.running && (ingest?.source.running ?? true),
    reconfigure: (next) => {
      const outcome = reconfigure(next);
      if (!outcome.refused.length) source.decodeSettingsChanged?.(decodeSettingsOf(next));
      return outcome;
    },
    stop,
    run: async () => {
      // A stage that fails (its consumer refused by the cluster, say) stops the other, which drains; then it fails.
      let failure: unknown;
      const failed = (err: unknown) => {
        failure ??= err;
        stop('a consumer failed');
      };
      const ingesting = stopping ? undefined : ingest?.source.run(ingest.stage.handle).catch(failed);
      if (!stopping) await source.run(opts.wrapHandle ? opts.wrapHandle(pipeline.handle) : pipeline.handle).catch(failed);
      await ingesting;
      if (failure !== undefined) throw failure;
    },
    close: async () => {
      state?.close();
      await Promise.all(sinks.map((s) => s.close()));
      await delivery?.stop();
      await executor.stop();
      await changeFeed.stop();
      await producer.disconnect();
      log.info(pipeline.totals, 'stopped');
    },
  };
}
