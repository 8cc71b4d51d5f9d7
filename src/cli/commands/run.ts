import cluster from 'node:cluster';
import { setTimeout as sleep } from 'node:timers/promises';
import { availableParallelism } from 'node:os';
import { buildActuators, type Actuator } from '../../actions/index.js';
import { ConfigError, errorMessage } from '../../errors.js';
import { FreezeExecutor } from '../../actions/executor.js';
import { KafkaFreezeAuditLog } from '../../actions/freeze-audit.js';
import { ControlPublisher, controlKeys } from '../../actions/control-publisher.js';
import { publishAlert, reportRejections } from '../../actions/control-watch.js';
import { WriteGate } from '../../actions/write-gate.js';
import { readModel } from '../../baseline/model.js';
import { loadAutoencoder } from '../../model/autoencoder.js';
import { useBestBackend } from '../../model/backend.js';
import { ConfigWatcher } from '../../config/watch.js';
import { createKafka, ensureOutputTopics, missingInputTopics } from '../../kafka/client.js';
import { checkControlTopic } from '../../kafka/control-acls.js';
import { createLogger, type Logger } from '../../log.js';
import { Metrics } from '../../metrics/metrics.js';
import { startMetricsServer } from '../../metrics/server.js';
import { buildDetectionPipeline, connectProducer } from '../../pipeline/assemble.js';
import { KafkaGroupSource } from '../../sources/kafka-group.js';
import { liveSource } from '../../sources/live.js';
import { decodeSettingsOf } from '../../decode/index.js';
import { EventTimeBounds } from '../../pipeline/admission.js';
import { Repartitioner } from '../../pipeline/repartition.js';
import { KafkaDeadLetterSink } from '../../sinks/dead-letter.js';
import { PartitionState } from '../../state/partition-state.js';
import { ensureInternalTopics, planTopology } from '../../state/topology.js';
import type { Config } from '../../config/schema.js';
import { configFrom } from '../common.js';
import { answerMetricsRequests, awaitStart, READY_MESSAGE, superviseWorkers } from './run-workers.js';

export interface RunArgs {
  config?: string;
  modelDir?: string;
  workers?: string;
}

/** The config's `workers` (after `--workers`), as a number of processes. */
function workerCount(config: Config): number {
  return config.workers === 'auto' ? availableParallelism() : config.workers;
}

/**
 * The live job: a consumer group on the configured topics until SIGTERM or SIGINT, then drain, commit, exit 0. With
 * more than one worker this process supervises that many instances of itself (node:cluster), each a group member.
 */
export async function runCommand(args: RunArgs): Promise<number> {
  // --workers overrides the config's key and is validated with it (range, and the changelog it needs).
  const config = configFrom(args, args.workers === undefined ? {} : { AUDITWATCH__WORKERS: args.workers });
  if (cluster.isWorker) {
    try {
      return await runInstance(config, args, Number(process.env.AUDITWATCH_WORKER ?? 0));
    } finally {
      // The channel to the supervisor would keep a worker alive after it is done.
      cluster.worker?.disconnect();
    }
  }
  const log = createLogger(config.log.level);
  // Once, here, before any worker: a worker would otherwise fail on its first fetch, with a stack trace.
  if (!(await inputTopicsExist(config, log))) return 0;
  const workers = workerCount(config);
  if (workers > 1) return superviseWorkers(config, workers, log);
  return runInstance(config, args, undefined);
}

/** How often `run` looks again for input topics that do not exist yet. */
const INPUT_TOPIC_POLL_MS = 2000;

/**
 * Waits until every input topic exists, as a Java consumer waits for a topic it subscribed to: producers may start
 * after auditwatch (docker compose starts it first). Meanwhile it says, once per change, which are missing and under
 * which key, so a mistyped name is plain to see. False if SIGTERM or SIGINT came first: there is nothing to drain.
 */
async function inputTopicsExist(config: Config, log: Logger): Promise<boolean> {
  const kafka = createKafka(config.kafka, log);
  const stop = new AbortController();
  const abort = () => stop.abort();
  process.once('SIGTERM', abort);
  process.once('SIGINT', abort);
  try {
    let said = '';
    while (!stop.signal.aborted) {
      const missing = await missingInputTopics(kafka, config);
      // A signal during the check still wins: the handlers of runInstance are not installed yet.
      if (!missing.length) return !stop.signal.aborted;
      const now = missing.join('\n');
      if (now !== said) log.warn({ missing }, `waiting for input topics to exist (checked every ${INPUT_TOPIC_POLL_MS / 1000} s)`);
      said = now;
      await sleep(INPUT_TOPIC_POLL_MS, undefined, { signal: stop.signal }).catch(() => {});
    }
    return false;
  } finally {
    process.off('SIGTERM', abort);
    process.off('SIGINT', abort);
  }
}

/** One member of the consumer group; `worker` is its index when a supervising process started it. */
async function runInstance(config: Config, args: RunArgs, worker: number | undefined): Promise<number> {
  const log = worker === undefined ? createLogger(config.log.level) : createLogger(config.log.level).child({ worker, pid: process.pid });
  // Keys first: a key that does not load is a bad config (exit 2), found before anything connects.
  const { signer, keys } = controlKeys(config);
  // Then the actuators: one that cannot work is a bad config too, said before anything is connected.
  const actuators = buildActuators(config);
  await checkActuators(actuators, log);
  const model = readModel(config.modelDir);
  const metrics = new Metrics({ defaultMetrics: true });
  // The supervisor serves /metrics: it asks every worker for its registry and adds them up.
  if (worker !== undefined) answerMetricsRequests(metrics.registry);
  const kafka = createKafka(config.kafka, log);
  await ensureOutputTopics(kafka, config);
  // Who may write the control topic, by the cluster's ACLs: one instance says it (worker 0 or a single process).
  if (!worker) await checkControlTopic(kafka, config, log.child({ component: 'control' }));
  const producer = await connectProducer(kafka);
  const autoencoder = await loadAutoencoder(config.modelDir);
  if (autoencoder) metrics.modelBackend.set({ backend: await useBestBackend() }, 1);
  log.info({ backend: autoencoder ? await useBestBackend() : 'none', samples: autoencoder?.manifest.samples }, autoencoder ? 'learned model loaded' : 'no learned model in the model directory: the model detector is off');
  const topology = planTopology(config);
  const { repartitionPartitions } = await ensureInternalTopics(kafka, config, topology);
  const { pipeline, dispatcher, sinks, reconfigure, tasks, decodeContext } = buildDetectionPipeline({ config, model, autoencoder, metrics, log, producer, signer, partitioned: config.state.changelog });
  // Freezes already in force are reconciled before the first event, and seed the dispatcher's scope and cap state.
  // A record on the control topic that does not verify is skipped, counted and raised as a control-tamper alert.
  const gate = new WriteGate(kafka, config.freeze.controlTopic, { keys, onReject: reportRejections(metrics, log.child({ component: 'control' }), sinks) });
  // Freezes by other instances in the group (or operators) hold their scopes here too.
  gate.onChange((change) => dispatcher.observeRecord(change.record));
  const publisher = signer ? new ControlPublisher(producer, config.freeze.controlTopic, signer) : undefined;
  const executor = new FreezeExecutor(gate, publisher, actuators,
    new KafkaFreezeAuditLog(producer, config.freeze.auditTopic), metrics, log.child({ component: 'freeze-executor' }), Date.now, publishAlert(sinks, log));
  dispatcher.restore(await executor.start());
  const state = tasks ? new PartitionState(kafka, producer, tasks, { topic: topology.changelogTopic, dir: config.state.dir }, metrics, log.child({ component: 'state' })) : undefined;
  const source = liveSource(kafka, config, config.kafka.groupId, topology.detection, metrics, log, { hooks: state });
  const watcher = args.config
    ? new ConfigWatcher(args.config, (next) => {
      if (args.modelDir) next.modelDir = args.modelDir;
      const outcome = reconfigure(next);
      if (!outcome.refused.length) source.decodeSettingsChanged?.(decodeSettingsOf(next));
      return outcome;
    }, log.child({ component: 'config' }), (outcome) => metrics.configReloads.inc({ outcome }))
    : undefined;
  watcher?.start();
  // Inputs not keyed by principal go through the repartition stage first: its own group, the same process.
  const ingest = topology.repartition.length
    ? {
      source: new KafkaGroupSource(kafka, `${config.kafka.groupId}-repartition`, topology.repartition, config.kafka.consumer, metrics, log.child({ stage: 'repartition' })),
      stage: new Repartitioner(producer, topology.repartitionTopic, repartitionPartitions, decodeContext, new EventTimeBounds(config.admission.maxFutureSkew),
        new KafkaDeadLetterSink(producer, config.deadLetter.topic, log.child({ component: 'dead-letter' })), metrics),
    }
    : undefined;
  const isReady = () => source.running && (ingest?.source.running ?? true);
  const server = config.metrics.enabled && worker === undefined
    ? await startMetricsServer(() => metrics.registry.metrics(), config.metrics.host, config.metrics.port, isReady)
    : undefined;
  if (server) log.info({ port: server.port, host: config.metrics.host }, 'metrics and health endpoints up');

  let stopping = false;
  let releaseStart: (() => void) | undefined;
  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    releaseStart?.();
    log.info({ reason }, 'stopping: draining the current batch and committing');
    pipeline.stop();
    void ingest?.source.stop();
    void source.stop();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  metrics.ready.set(1);
  const readiness = worker === undefined ? undefined : reportReadiness(isReady);
  log.info({ entities: Object.keys(model.entities).length, freeze: config.freeze.mode, actuators: actuators.map((a) => a.name) }, 'auditwatch running');
  // A worker told to stop while it was loading does not wait for a start that is not coming.
  if (worker !== undefined && !stopping) await new Promise<void>((resolve) => awaitStart((releaseStart = resolve)));
  // A stage that fails (its consumer refused by the cluster, say) stops the other, which drains; then the run fails.
  let failure: unknown;
  const failed = (err: unknown) => {
    failure ??= err;
    stop('a consumer failed');
  };
  const ingesting = stopping ? undefined : ingest?.source.run(ingest.stage.handle).catch(failed);
  if (!stopping) await source.run(pipeline.handle).catch(failed);
  await ingesting;
  metrics.ready.set(0);
  if (readiness) clearInterval(readiness);
  // A supervisor that is gone (killed) leaves a closed channel; the drain is done all the same.
  if (process.connected) process.send?.({ type: READY_MESSAGE, ready: false });
  state?.close();
  await Promise.all(sinks.map((s) => s.close()));
  await executor.stop();
  watcher?.stop();
  await producer.disconnect();
  server?.server.close();
  log.info(pipeline.totals, 'stopped');
  // Everything is drained and committed. A kafkajs consumer that was restarting itself when it was disconnected
  // (after a broker outage) can keep a reconnect timer alive; it must not keep a drained process from exiting.
  setTimeout(() => {
    log.warn('client connections still open 5 s after the drain; exiting anyway');
    process.exit();
  }, 5000).unref();
  if (failure !== undefined) throw failure;
  return 0;
}

/**
 * Every actuator's preconditions, before anything is consumed. One that cannot work (an IAM endpoint that refuses,
 * a role that does not exist) is a bad config: one line per actuator, naming its key, and exit 2.
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

/** A worker tells its supervisor whether it is consuming, when that changes: the supervisor answers /readyz. */
function reportReadiness(isReady: () => boolean): NodeJS.Timeout {
  let last: boolean | undefined;
  const report = () => {
    const ready = isReady();
    if (ready !== last && process.connected) process.send?.({ type: READY_MESSAGE, ready });
    last = ready;
  };
  report();
  return setInterval(report, 1000).unref();
}
