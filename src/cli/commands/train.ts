import { writeModel } from '../../baseline/model.js';
import { saveAutoencoder, trainAutoencoder } from '../../model/autoencoder.js';
import { createKafka } from '../../kafka/client.js';
import { createLogger } from '../../log.js';
import { Metrics } from '../../metrics/metrics.js';
import { buildTrainingPipeline } from '../../pipeline/assemble.js';
import { requireEvents, windowSource, warnRejected } from '../../pipeline/window.js';
import { configFrom, inputChoice, type WindowArgs } from '../common.js';

export interface TrainArgs extends WindowArgs {
  config?: string;
}

export async function trainCommand(args: TrainArgs): Promise<number> {
  const choice = inputChoice(args);
  const config = configFrom(args);
  const log = createLogger(config.log.level);
  const metrics = new Metrics();
  const { pipeline, learner, learning } = buildTrainingPipeline(config, metrics, log);
  const kafka = choice.kind === 'topic' ? createKafka(config.kafka, log) : undefined;
  const source = windowSource(choice, args.format, kafka, config);
  await source.run(pipeline.handle);
  warnRejected(log, args.format, pipeline);
  requireEvents(choice, args.format, source, pipeline);
  const model = learner.model();
  const path = writeModel(config.modelDir, model);
  const ae = learning.vectors.length ? await trainAutoencoder(learning.vectors, { from: model.timeRange?.from ?? null, to: model.timeRange?.to ?? null, events: model.eventCount }) : null;
  if (ae) await saveAutoencoder(config.modelDir, ae);
  const t = pipeline.totals;
  const range = model.timeRange ? `${new Date(model.timeRange.from).toISOString()} .. ${new Date(model.timeRange.to).toISOString()}` : 'no events';
  process.stderr.write(`trained on ${t.events} events (${t.records} records, ${t.deadLettered} rejected), ${range}: ` +
    `${Object.keys(model.entities).length} entities, ${ae ? `a ${ae.manifest.backend} autoencoder on ${ae.manifest.samples} destructive events` : 'no learned model (under 200 destructive events)'}, populations for ${Object.keys(model.population).map((k) => k.replaceAll('\u0001', '/')).join(', ') || 'none'} -> ${path}\n`);
  return 0;
}
