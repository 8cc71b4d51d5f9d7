import { controlKeys } from '../../actions/control-publisher.js';
import { WriteGate } from '../../actions/write-gate.js';
import { readModel } from '../../baseline/model.js';
import { loadAutoencoder } from '../../model/autoencoder.js';
import { approvedChangesFor } from '../../actions/change-feed.js';
import { createKafka } from '../../kafka/client.js';
import { createLogger } from '../../log.js';
import { Metrics } from '../../metrics/metrics.js';
import { buildDetectionPipeline, connectProducer } from '../../pipeline/assemble.js';
import { NdjsonSink } from '../../sinks/ndjson.js';
import { requireEvents, shadowFreezes, windowSource, warnRejected } from '../../pipeline/window.js';
import { taskRouteFor } from '../../runtime/topology.js';
import { configFrom, inputChoice, type WindowArgs } from '../common.js';

export interface ReplayArgs extends WindowArgs {
  alerts: string;
  config?: string;
  liveActions?: boolean;
}

/**
 * Replay runs the live detection code over a window that ends. Freezes are dry-run unless --live-actions: a replay
 * of last week must not freeze production today.
 */
export async function replayCommand(args: ReplayArgs): Promise<number> {
  const choice = inputChoice(args);
  const loaded = configFrom(args);
  const config = args.liveActions ? loaded : shadowFreezes(loaded);
  const log = createLogger(config.log.level);
  const model = readModel(config.modelDir);
  const metrics = new Metrics();
  const needKafka = choice.kind === 'topic' || args.liveActions;
  const kafka = needKafka ? createKafka(config.kafka, log) : undefined;
  const producer = kafka && args.liveActions ? await connectProducer(kafka) : undefined;
  const keys = args.liveActions ? controlKeys(config) : undefined;
  const sink = new NdjsonSink(args.alerts);
  // A topic window is judged with the approved changes on the cluster, as the live run judged it.
  const changes = kafka ? await approvedChangesFor(kafka, config.changes.topic, (keys ?? controlKeys(config)).keys) : undefined;
  const tasks = await taskRouteFor(choice, config, kafka);
  const { pipeline, dispatcher } = buildDetectionPipeline({ config, model, autoencoder: await loadAutoencoder(config.modelDir), metrics, log, producer, signer: keys?.signer, sinks: [sink], changes, tasks });
  // Live actions: the freezes already on the control topic hold their scopes, and new ones go above their sequences.
  const gate = kafka && keys ? new WriteGate(kafka, config.freeze.controlTopic, { keys: keys.keys }) : undefined;
  gate?.onChange((c) => dispatcher.observeRecord(c.record));
  await gate?.start();
  const source = windowSource(choice, args.format, kafka, config);
  const started = performance.now();
  try {
    await source.run(pipeline.handle);
  } finally {
    await sink.close();
    await gate?.stop();
    await producer?.disconnect();
  }
  const seconds = (performance.now() - started) / 1000;
  warnRejected(log, args.format, pipeline);
  requireEvents(choice, args.format, source, pipeline);
  const t = pipeline.totals;
  process.stderr.write(`replayed ${t.events} events (${t.records} records, ${t.deadLettered} rejected) in ${seconds.toFixed(2)} s, ` +
    `${Math.round(t.events / seconds)} events/s: ${t.alerts} alert revisions, ${t.freezes} freezes (${args.liveActions ? 'applied' : 'dry run'}) -> ${args.alerts}\n`);
  return 0;
}
