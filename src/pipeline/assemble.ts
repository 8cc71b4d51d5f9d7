import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import { ActionDispatcher } from '../actions/dispatcher.js';
import { KafkaFreezeAuditLog, LogFreezeAuditLog } from '../actions/freeze-audit.js';
import { AlertPolicy } from '../alerts/policy.js';
import { BaselineLearner } from '../baseline/learner.js';
import type { BaselineModel } from '../baseline/model.js';
import type { Config } from '../config/schema.js';
import { decodeContextFrom } from '../decode/index.js';
import { buildDetectors } from '../detectors/index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { KafkaDeadLetterSink, LogDeadLetterSink } from '../sinks/dead-letter.js';
import { buildSinks, type AlertSink } from '../sinks/index.js';
import { Pipeline } from './pipeline.js';
import { DetectionProcessor, LearningProcessor } from './processors.js';

export interface DetectionOptions {
  config: Config;
  model: BaselineModel;
  metrics: Metrics;
  log: Logger;
  /** With a producer: Kafka sinks, the Kafka dead-letter topic and the control-topic actuator are available. */
  producer?: Producer;
  /** Replaces the configured sinks (replay writes to the file it was given). */
  sinks?: AlertSink[];
}

/** The one detection pipeline: `run`, `replay` and `demo` differ only in source, sinks and freeze mode. */
export function buildDetectionPipeline(opts: DetectionOptions): { pipeline: Pipeline; dispatcher: ActionDispatcher; sinks: AlertSink[] } {
  const { config, model, metrics, log, producer } = opts;
  const audit = producer ? new KafkaFreezeAuditLog(producer, config.freeze.auditTopic) : new LogFreezeAuditLog(log);
  const dispatcher = new ActionDispatcher(config.freeze, producer, audit, metrics, log.child({ component: 'actions' }));
  const policy = new AlertPolicy(config, (alert) => dispatcher.decide(alert));
  const sinks = opts.sinks ?? buildSinks(config.alerts.sinks, { producer });
  const pipeline = new Pipeline({
    decode: decodeContextFrom(config),
    processor: new DetectionProcessor(buildDetectors(config, model), policy),
    sinks,
    dispatcher,
    deadLetter: producer ? new KafkaDeadLetterSink(producer, config.deadLetter.topic, log.child({ component: 'dead-letter' })) : new LogDeadLetterSink(log),
    metrics,
    log,
  });
  return { pipeline, dispatcher, sinks };
}

/** The windows every configured volume detector checks: training learns exactly these. */
export function trainingWindows(config: Config): number[] {
  const set = new Set<number>();
  for (const d of config.detectors) for (const w of d.windows) set.add(w);
  return [...set].sort((a, b) => a - b);
}

/** Training is the same pipeline with the learner in place of the detectors. */
export function buildTrainingPipeline(config: Config, metrics: Metrics, log: Logger): { pipeline: Pipeline; learner: BaselineLearner } {
  const quantile = config.detectors[0]?.populationQuantile ?? 0.95;
  const learner = new BaselineLearner(trainingWindows(config), quantile);
  const pipeline = new Pipeline({
    decode: decodeContextFrom(config),
    processor: new LearningProcessor(learner),
    sinks: [],
    deadLetter: new LogDeadLetterSink(log),
    metrics,
    log,
  });
  return { pipeline, learner };
}

export async function connectProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  return producer;
}
