import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Config } from '../../config/schema.js';
import { createKafka, ensureOutputTopics } from '../../kafka/client.js';
import type { Logger } from '../../log.js';
import { startMetricsServer } from '../../metrics/server.js';
import { ensureInternalTopics, planTopology } from '../../runtime/topology.js';

/** What a worker sends its supervisor when it starts or stops consuming. */
export const READY_MESSAGE = 'auditwatch:ready';
/** A worker has loaded its model and connected, and waits for START_MESSAGE before it joins the group. */
const LOADED_MESSAGE = 'auditwatch:loaded';
const START_MESSAGE = 'auditwatch:start';

const METRICS_REQUEST = 'auditwatch:metrics?';
const METRICS_RESPONSE = 'auditwatch:metrics';
const METRICS_TIMEOUT_MS = 5000;

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

function isMessage(m: unknown, type: string): m is { type: string; ready?: boolean; id?: number; metrics?: MetricsJson } {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type;
}

/** In a worker: answers the supervisor's requests for this registry's metrics. */
export function answerMetricsRequests(registry: Registry): void {
  process.on('message', (m: unknown) => {
    if (!isMessage(m, METRICS_REQUEST)) return;
    void registry.getMetricsAsJSON().then((metrics) => {
      if (process.connected) process.send?.({ type: METRICS_RESPONSE, id: m.id, metrics });
    });
  });
}

/**
 * The sum of the loaded workers' registries (prom-client's aggregation rules). Only workers that said they are
 * loaded are asked: a message sent to a worker before it listens is dropped, and the scrape would wait for it in
 * vain. A worker that does not answer in 5 s fails the scrape rather than serve a partial sum that would make
 * Prometheus see every counter reset.
 */
function scrapeWorkers(workers: () => Worker[]): () => Promise<string> {
  let nextId = 0;
  return async () => {
    const asked = workers();
    const id = nextId++;
    const answers = await Promise.all(asked.map((worker) => new Promise<MetricsJson>((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.off('message', onMessage);
        reject(new Error(`worker ${worker.id} did not answer for its metrics within ${METRICS_TIMEOUT_MS} ms`));
      }, METRICS_TIMEOUT_MS);
      const onMessage = (m: unknown) => {
        if (!isMessage(m, METRICS_RESPONSE) || m.id !== id) return;
        clearTimeout(timer);
        worker.off('message', onMessage);
        resolve(m.metrics ?? []);
      };
      worker.on('message', onMessage);
      worker.send({ type: METRICS_REQUEST, id });
    })));
    return AggregatorRegistry.aggregate(answers).metrics();
  };
}

/**
 * In a worker: tells the supervisor it is loaded and calls `start` when every worker is. Workers that joined the
 * group one by one as each finished loading would each take every partition in turn, and restore and hand back
 * their state, before the group settled.
 */
export function awaitStart(start: () => void): void {
  const onMessage = (m: unknown) => {
    if (!isMessage(m, START_MESSAGE)) return;
    process.off('message', onMessage);
    start();
  };
  process.on('message', onMessage);
  process.send?.({ type: LOADED_MESSAGE });
}

/** A worker that dies after it was running is replaced, unless this many died in the last minute. */
const MAX_CRASHES_PER_MINUTE = 5;
const RESTART_DELAY_MS = 1000;

/**
 * `run` with `workers` > 1: starts that many copies of this command (node:cluster), each a member of the consumer
 * group with its own share of the partitions, its own thread, and its partitions' state restored from the changelog
 * as any instance's would be. This process only supervises:
 * - it creates the topics once, before the workers race to;
 * - the workers join the group together, once every one has loaded its model and connected;
 * - it serves /metrics as the sum of the workers' registries, and /readyz when every worker is consuming;
 * - SIGTERM or SIGINT drains every worker; the exit code is 0 when every worker drained cleanly;
 * - a worker that fails before it is running ends the run with its exit code (a broker that is not there, a bad
 *   actuator: starting it again would fail again); one that dies later is replaced, and its partitions move to the
 *   others meanwhile.
 */
export async function superviseWorkers(config: Config, count: number, log: Logger): Promise<number> {
  const kafka = createKafka(config.kafka, log);
  await ensureOutputTopics(kafka, config);
  await ensureInternalTopics(kafka, config, planTopology(config));

  const workers = new Map<number, { worker: Worker; ready: boolean; wasReady: boolean; loaded: boolean }>();
  // The first workers start together once all have loaded; a replacement starts as soon as it has.
  let started = false;
  const startIfAllLoaded = () => {
    if (started || workers.size < count || ![...workers.values()].every((w) => w.loaded)) return;
    started = true;
    for (const { worker } of workers.values()) worker.send({ type: START_MESSAGE });
  };
  const server = config.metrics.enabled
    ? await startMetricsServer(scrapeWorkers(() => [...workers.values()].filter((w) => w.loaded && w.worker.isConnected()).map((w) => w.worker)), config.metrics.host, config.metrics.port,
      () => workers.size === count && [...workers.values()].every((w) => w.ready))
    : undefined;
  if (server) log.info({ port: server.port, host: config.metrics.host, workers: count }, 'metrics and health endpoints up');

  let stopping = false;
  let exitCode = 0;
  const crashes: number[] = [];
  const restarts = new Set<NodeJS.Timeout>();
  let allExited!: () => void;
  const finished = new Promise<void>((resolve) => (allExited = resolve));

  const stopAll = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const t of restarts) clearTimeout(t);
    restarts.clear();
    log.info({ signal, workers: workers.size }, 'stopping: every worker drains its current batch and commits');
    for (const { worker } of workers.values()) worker.process.kill('SIGTERM');
    if (workers.size === 0) allExited();
  };

  const start = (index: number) => {
    const worker = cluster.fork({ AUDITWATCH_WORKER: String(index) });
    const entry = { worker, ready: false, wasReady: false, loaded: false };
    workers.set(index, entry);
    worker.on('message', (m: unknown) => {
      if (isMessage(m, READY_MESSAGE)) {
        entry.ready = m.ready === true;
        entry.wasReady ||= entry.ready;
      } else if (isMessage(m, LOADED_MESSAGE)) {
        entry.loaded = true;
        if (started) worker.send({ type: START_MESSAGE });
        else startIfAllLoaded();
      }
    });
    worker.on('exit', (code, signal) => {
      workers.delete(index);
      onExit(index, entry, code, signal);
      if (stopping && workers.size === 0) allExited();
    });
  };

  const onExit = (index: number, entry: { loaded: boolean; wasReady: boolean }, code: number | null, signal: string | null) => {
    if (stopping) {
      // Our own SIGTERM reaching a worker before it set up its handler (still loading) ends it by the signal: it
      // had not started anything, so that is a clean stop.
      if (code !== 0 && !(!entry.loaded && signal === 'SIGTERM')) exitCode = Math.max(exitCode, code ?? 1);
      return;
    }
    if (!entry.wasReady) {
      log.error({ worker: index, code, signal }, 'a worker failed before it was running; stopping the others');
      exitCode = code ?? 1;
      return stopAll('SIGTERM');
    }
    const now = Date.now();
    crashes.push(now);
    while (crashes[0]! < now - 60_000) crashes.shift();
    if (crashes.length > MAX_CRASHES_PER_MINUTE) {
      log.error({ worker: index, code, signal, crashes: crashes.length }, 'workers keep dying; stopping the others');
      exitCode = 1;
      return stopAll('SIGTERM');
    }
    log.error({ worker: index, code, signal }, 'a worker died; starting another in its place');
    const t = setTimeout(() => {
      restarts.delete(t);
      if (!stopping) start(index);
    }, RESTART_DELAY_MS);
    restarts.add(t);
  };

  process.once('SIGTERM', () => stopAll('SIGTERM'));
  process.once('SIGINT', () => stopAll('SIGINT'));
  for (let i = 0; i < count; i++) start(i);
  log.info({ workers: count }, 'auditwatch supervising workers');
  await finished;
  server?.server.close();
  log.info({ exitCode }, 'every worker stopped');
  return exitCode;
}
