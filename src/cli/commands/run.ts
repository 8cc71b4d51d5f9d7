import cluster from 'node:cluster';
import { setTimeout as sleep } from 'node:timers/promises';
import { availableParallelism } from 'node:os';
import { ConfigWatcher } from '../../config/watch.js';
import type { Config } from '../../config/schema.js';
import { createKafka, missingInputTopics } from '../../kafka/client.js';
import { createLogger, type Logger } from '../../log.js';
import { Metrics } from '../../metrics/metrics.js';
import { startMetricsServer } from '../../metrics/server.js';
import { buildRuntime } from '../../runtime/runtime.js';
import { buildOutputs } from '../../sinks/outputs/index.js';
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
  // A config problem only building finds (an output's secret variable not set) fails now, before anything connects.
  buildOutputs(config);
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
  const metrics = new Metrics({ defaultMetrics: true });
  // The supervisor serves /metrics: it asks every worker for its registry and adds them up.
  if (worker !== undefined) answerMetricsRequests(metrics.registry);
  const runtime = await buildRuntime(config, { log, metrics, checkControlAcls: !worker });
  const watcher = args.config
    ? new ConfigWatcher(args.config, (next) => {
      if (args.modelDir) next.modelDir = args.modelDir;
      return runtime.reconfigure(next);
    }, log.child({ component: 'config' }), (outcome) => metrics.configReloads.inc({ outcome }))
    : undefined;
  watcher?.start();
  const server = config.metrics.enabled && worker === undefined
    ? await startMetricsServer(() => metrics.registry.metrics(), config.metrics.host, config.metrics.port, runtime.isReady)
    : undefined;
  if (server) log.info({ port: server.port, host: config.metrics.host }, 'metrics and health endpoints up');

  let stopping = false;
  let releaseStart: (() => void) | undefined;
  const stop = (reason: string) => {
    stopping = true;
    releaseStart?.();
    runtime.stop(reason);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  metrics.ready.set(1);
  const readiness = worker === undefined ? undefined : reportReadiness(runtime.isReady);
  // A worker told to stop while it was loading does not wait for a start that is not coming.
  if (worker !== undefined && !stopping) await new Promise<void>((resolve) => awaitStart((releaseStart = resolve)));
  let failure: unknown;
  await runtime.run().catch((err: unknown) => (failure = err));
  metrics.ready.set(0);
  if (readiness) clearInterval(readiness);
  // A supervisor that is gone (killed) leaves a closed channel; the drain is done all the same.
  if (process.connected) process.send?.({ type: READY_MESSAGE, ready: false });
  await runtime.close();
  watcher?.stop();
  server?.server.close();
  // Everything is drained and committed. A kafkajs consumer that was restarting itself when it was disconnected
  // (after a broker outage) can keep a reconnect timer alive; it must not keep a drained process from exiting.
  setTimeout(() => {
    log.warn('client connections still open 5 s after the drain; exiting anyway');
    process.exit();
  }, 5000).unref();
  if (failure !== undefined) throw failure;
  return 0;
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
