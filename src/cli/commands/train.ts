import { writeModel } from '../../baseline/model.js';
import { createKafka } from '../../kafka/client.js';
import { createLogger } from '../../log.js';
import { Metrics } from '../../metrics/metrics.js';
import { buildTrainingPipeline } from '../../pipeline/assemble.js';
import { FileSource } from '../../sources/file.js';
import { KafkaRangeSource } from '../../sources/kafka-range.js';
import type { Source } from '../../sources/source.js';
import { configFrom, inputChoice, type WindowArgs } from '../common.js';

export interface TrainArgs extends WindowArgs {
  config?: string;
}

export async function trainCommand(args: TrainArgs): Promise<number> {
  const choice = inputChoice(args);
  const config = configFrom(args);
  const log = createLogger(config.log.level);
  const metrics = new Metrics();
  const { pipeline, learner } = buildTrainingPipeline(config, metrics, log);
  const source: Source = choice.kind === 'file'
    ? new FileSource(choice.path, args.format)
    : new KafkaRangeSource(createKafka(config.kafka, log), { topic: choice.topic, from: choice.from, to: choice.to, format: args.format });
  await source.run(pipeline.handle);
  const model = learner.model();
  const path = writeModel(config.modelDir, model);
  const t = pipeline.totals;
  const range = model.timeRange ? `${new Date(model.timeRange.from).toISOString()} .. ${new Date(model.timeRange.to).toISOString()}` : 'no events';
  process.stderr.write(`trained on ${t.events} events (${t.records} records, ${t.deadLettered} rejected), ${range}: ` +
    `${Object.keys(model.entities).length} entities, populations for ${Object.keys(model.population).map((k) => k.replace('\u0001', '/')).join(', ') || 'none'} -> ${path}\n`);
  return 0;
}
