import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import { ActionDispatcher } from '../actions/dispatcher.js';
import { KafkaFreezeAuditLog, LogFreezeAuditLog } from '../actions/freeze-audit.js';
import { AlertPolicy } from '../alerts/policy.js';
import { BaselineLearner } from '../baseline/learner.js';
import type { BaselineModel } from '../baseline/model.js';
import type { Config } from '../config/schema.js';
import { decodeContextFrom } from '../decode/index.js';
import type { Reconfigurable } from '../detectors/detector.js';
import type { Autoencoder } from '../model/autoencoder.js';
import { FeatureExtractor } from '../model/features.js';
import { Criticality } from '../baseline/criticality.js';
import { volumeSpec } from '../config/select.js';
import { buildDetectors } from '../detectors/index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { KafkaDeadLetterSink, LogDeadLetterSink } from '../sinks/dead-letter.js';
import { buildSinks, type AlertSink } from '../sinks/index.js';
import { EventAdmission } from './admission.js';
import { Pipeline, type EventProcessor } from './pipeline.js';
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
  /** The learned model, when the model directory has one (see loadAutoencoder). */
  autoencoder?: Autoencoder | null;
  /** Wraps the detection processor (a report records every event beside it). */
  wrap?: (detection: DetectionProcessor) => EventProcessor;
}

/** The one detection pipeline: `run`, `replay` and `demo` differ only in source, sinks and freeze mode. */
export function buildDetectionPipeline(opts: DetectionOptions) {
  const { config, model, metrics, log, producer } = opts;
  const audit = producer ? new KafkaFreezeAuditLog(producer, config.freeze.auditTopic) : new LogFreezeAuditLog(log);
  const dispatcher = new ActionDispatcher(config.freeze, producer, audit, metrics, log.child({ component: 'actions' }));
  const policy = new AlertPolicy(config, (alert) => dispatcher.decide(alert), {
    suppressed: (a, s) => {
      metrics.alertsSuppressed.inc({ owner: s.owner });
      log.info({ alertId: a.id, severity: a.severity, owner: s.owner, reason: s.reason, expires: new Date(s.expires).toISOString() }, 'alert suppressed');
    },
    expired: (s, at) => {
      metrics.suppressionsExpired.inc({ owner: s.owner });
      log.warn({ owner: s.owner, reason: s.reason, expires: new Date(s.expires).toISOString(), at: new Date(at).toISOString() }, 'suppression expired: no longer suppressing');
    },
  });
  const sinks = opts.sinks ?? buildSinks(config.alerts.sinks, { producer });
  const detectors = buildDetectors(config, model, opts.autoencoder ?? null);
  const parts = {
    admission: new EventAdmission({ maxFutureSkewMs: config.admission.maxFutureSkew, dedupeWindow: config.admission.dedupeWindow }),
    stats: () => detectors.reduce((t, d) => {
      const s = d.stats?.() ?? { tracked: 0, evicted: 0 };
      return { tracked: t.tracked + s.tracked, evicted: t.evicted + s.evicted };
    }, { tracked: 0, evicted: 0 }),
    decode: decodeContextFrom(config),
    processor: (opts.wrap ?? ((d: DetectionProcessor): EventProcessor => d))(new DetectionProcessor(detectors, policy)),
    sinks,
    dispatcher,
    deadLetter: producer ? new KafkaDeadLetterSink(producer, config.deadLetter.topic, log.child({ component: 'dead-letter' })) : new LogDeadLetterSink(log),
    metrics,
    log,
  };
  const pipeline = new Pipeline(parts);
  let running = config;

  /**
   * Hot reload, all or nothing: thresholds, overrides, suppressions, incident timing, freeze rules and the
   * environment mappings change between two batches, with every entity's state kept. Returns the problems that
   * refuse the reload (nothing changed) and, separately, the keys that only a restart picks up.
   */
  const reconfigure = (next: Config): { refused: string[]; needsRestart: string[] } => {
    const refused: string[] = [];
    if (next.detectors.length !== config.detectors.length || next.detectors.some((d, i) => d.type !== config.detectors[i]!.type)) {
      refused.push('detectors: the list of detectors changed; restart to add or remove detectors');
    } else {
      next.detectors.forEach((spec, i) => {
        const reason = (detectors[i] as Partial<Reconfigurable<typeof spec>>).checkReconfigure?.(spec);
        if (reason) refused.push(reason);
      });
    }
    if (refused.length) return { refused, needsRestart: [] };
    next.detectors.forEach((spec, i) => (detectors[i] as Partial<Reconfigurable<typeof spec>>).reconfigure?.(spec, next.environments.critical));
    policy.reconfigure(next);
    dispatcher.reconfigure(next.freeze);
    parts.decode = decodeContextFrom(next);
    const needsRestart = RESTART_ONLY.filter((path) => JSON.stringify(pick(running, path)) !== JSON.stringify(pick(next, path)));
    running = next;
    return { refused: [], needsRestart };
  };
  return { pipeline, dispatcher, sinks, reconfigure };
}

/** Keys a running pipeline cannot change: connections, topics, outputs and the model. */
const RESTART_ONLY = ['admission', 'kafka', 'sources', 'deadLetter', 'alerts.sinks', 'alerts.incidentGap', 'freeze.controlTopic', 'freeze.auditTopic', 'freeze.actuators', 'modelDir', 'metrics', 'log'];

function pick(config: Config, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], config);
}

/** The windows every configured volume detector checks: training learns exactly these. */
export function trainingWindows(config: Config): number[] {
  return [...(volumeSpec(config)?.windows ?? [])].sort((a, b) => a - b);
}

/** Training is the same pipeline with the learner in place of the detectors. */
export function buildTrainingPipeline(config: Config, metrics: Metrics, log: Logger): { pipeline: Pipeline; learner: BaselineLearner; learning: LearningProcessor } {
  const volume = volumeSpec(config);
  const quantile = volume?.populationQuantile ?? 0.95;
  const learner = new BaselineLearner(trainingWindows(config), quantile);
  // The model's feature vectors are gathered in the same pass, with the same extractor detection runs.
  const features = config.detectors.some((d) => d.type === 'model')
    ? new FeatureExtractor(undefined, config.environments.critical, new Criticality(volume?.criticality ?? {}))
    : undefined;
  const learning = new LearningProcessor(learner, features);
  const pipeline = new Pipeline({
    // Training admits events as detection does: a redelivered delete must not inflate a learned peak.
    admission: new EventAdmission({ maxFutureSkewMs: config.admission.maxFutureSkew, dedupeWindow: config.admission.dedupeWindow }),
    decode: decodeContextFrom(config),
    processor: learning,
    sinks: [],
    deadLetter: new LogDeadLetterSink(log),
    metrics,
    log,
  });
  return { pipeline, learner, learning };
}

export async function connectProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  return producer;
}
