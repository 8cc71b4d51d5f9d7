import { readModel } from '../../baseline/model.js';
import type { InputFormat } from '../../config/schema.js';
import { createKafka } from '../../kafka/client.js';
import { createLogger } from '../../log.js';
import { Metrics } from '../../metrics/metrics.js';
import { buildDetectionPipeline, connectProducer } from '../../pipeline/assemble.js';
import { NdjsonSink } from '../../sinks/ndjson.js';
import { FileSource } from '../../sources/file.js';
import { KafkaRangeSource } from '../../sources/kafka-range.js';
import type { Source } from '../../sources/source.js';
import { configFrom, inputChoice } from '../common.js';

export interface ReplayArgs {
  input?: string;
  topic?: string;
  from?: string;
  to?: string;
  format: InputFormat;
  modelDir?: string;
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
  const config = configFrom(args);
  if (!args.liveActions) {
    // A replay of last week must not freeze production today: every enforcing or proposing rule becomes a shadow.
    const shadow = (m: string | undefined) => (m === 'enforce' || m === 'approval' ? 'dry-run' : m);
    config.freeze.mode = shadow(config.freeze.mode) as typeof config.freeze.mode;
    config.freeze.rules = config.freeze.rules.map((r) => ({ ...r, mode: shadow(r.mode) as typeof r.mode }));
  }
  const log = createLogger(config.log.level);
  const model = readModel(config.modelDir);
  const metrics = new Metrics();
  const needKafka = choice.kind === 'topic' || args.liveActions;
  const kafka = needKafka ? createKafka(config.kafka, log) : undefined;
  const producer = kafka && args.liveActions ? await connectProducer(kafka) : undefined;
  const sink = new NdjsonSink(args.alerts);
  const { pipeline } = buildDetectionPipeline({ config, model, metrics, log, producer, sinks: [sink] });
  const source: Source = choice.kind === 'file'
    ? new FileSource(choice.path, args.format)
    : new KafkaRangeSource(kafka!, { topic: choice.topic, from: choice.from, to: choice.to, format: args.format });
  try {
    await source.run(pipeline.handle);
  } finally {
    await sink.close();
    await producer?.disconnect();
  }
  const t = pipeline.totals;
  process.stderr.write(`replayed ${t.events} events (${t.records} records, ${t.deadLettered} rejected): ${t.alerts} alert revisions, ` +
    `${t.freezes} freezes (${args.liveActions ? 'applied' : 'dry run'}) -> ${args.alerts}\n`);
  return 0;
}
