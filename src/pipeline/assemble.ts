import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import { ActionDispatcher } from '../actions/dispatcher.js';
import { ControlPublisher } from '../actions/control-publisher.js';
import { FreezeStage } from '../actions/freeze-stage.js';
import type { Signer } from '../actions/signing.js';
import { KafkaFreezeAuditLog, LogFreezeAuditLog } from '../actions/freeze-audit.js';
import { withRemediationRecords } from '../actions/freeze-ocsf.js';
import { AlertPolicy } from '../alerts/policy.js';
import { BaselineLearner } from '../baseline/learner.js';
import type { BaselineModel } from '../baseline/model.js';
import type { Config } from '../config/schema.js';
import { decodeContextFrom } from '../decode/index.js';
import type { Detector, Finding, Reconfigurable } from '../detectors/detector.js';
import type { Alert } from '../alerts/alert.js';
import type { Suppression } from '../config/schema.js';
import type { Changelogged, ComposedState } from '../state/changelogged.js';
import { DetectionTasks, type DetectionTask, type TaskRoute } from './tasks.js';
import type { Autoencoder } from '../model/autoencoder.js';
import { FeatureExtractor } from '../model/features.js';
import { Criticality } from '../baseline/criticality.js';
import { volumeSpec, volumeWindows } from '../config/select.js';
import { buildDetectors } from '../detectors/index.js';
import { ContextSignals } from '../detectors/signals.js';
import { ActivityTracker } from '../baseline/activity.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { KafkaDeadLetterSink, LogDeadLetterSink } from '../sinks/dead-letter.js';
import { buildSinks, type AlertSink } from '../sinks/index.js';
import { SchemaRegistryClient } from '../kafka/schema-registry.js';
import { auditEventType } from '../events/avro.js';
import { EventAdmission } from './admission.js';
import { Pipeline, type EventProcessor } from './pipeline.js';
import { DetectionProcessor, LearningProcessor } from './processors.js';
import type { ChangeBook } from '../actions/change-approval.js';

export interface DetectionOptions {
  config: Config;
  model: BaselineModel;
  metrics: Metrics;
  log: Logger;
  /** With a producer: Kafka sinks, the Kafka dead-letter topic and the control-topic actuator are available. */
  producer?: Producer;
  /** Signs the freezes this pipeline publishes (freeze.signing, loaded); without it, enforce cannot publish. */
  signer?: Signer | undefined;
  /** Replaces the configured sinks (replay writes to the file it was given). */
  sinks?: AlertSink[];
  /** The learned model, when the model directory has one (see loadAutoencoder). */
  autoencoder?: Autoencoder | null;
  /** Wraps detection (a report records every event beside it). */
  wrap?: (detection: EventProcessor) => EventProcessor;
  /** Every finding of every task, as it is made (a report charts their scores). */
  onFinding?: (finding: Finding) => void;
  /**
   * Detection state split into tasks as `run` splits it (see TaskRoute), instead of one task for every event: the
   * live consumer with a state changelog, and a replay of a topic, so that it gives the live run's alerts.
   */
  tasks?: TaskRoute;
  /** Approved changes (the changes topic, verified): what they cover is reported as info and never frozen. */
  changes?: ChangeBook;
}

/** A task's detectors and policy, built from one config; the pipeline reconfigures them all together. */
interface BuiltTask extends DetectionTask {
  detectors: Detector[];
  policy: AlertPolicy;
  freezes: FreezeStage;
  context: ContextSignals;
}

/** The schema registry client, when one is configured (its credentials read now: a missing variable is a config problem). */
function schemaRegistryOf(config: Config): SchemaRegistryClient | undefined {
  return config.schemaRegistry ? new SchemaRegistryClient(config.schemaRegistry, auditEventType) : undefined;
}

/** The one detection pipeline: `run`, `replay` and `demo` differ only in source, sinks and freeze mode. */
export function buildDetectionPipeline(opts: DetectionOptions) {
  const { config, model, metrics, log, producer } = opts;
  const registry = schemaRegistryOf(config);
  const sinks = opts.sinks ?? buildSinks(config.alerts.sinks, { producer, registry });
  const audit = withRemediationRecords(producer ? new KafkaFreezeAuditLog(producer, config.freeze.auditTopic) : new LogFreezeAuditLog(log), sinks);
  const publisher = producer && opts.signer ? new ControlPublisher(producer, config.freeze.controlTopic, opts.signer) : undefined;
  const dispatcher = new ActionDispatcher(config.freeze, publisher, audit, metrics, log.child({ component: 'actions' }));
  const suppressionObserver = {
    suppressed: (a: Alert, s: Suppression) => {
      metrics.alertsSuppressed.inc({ owner: s.owner });
      log.info({ alertId: a.id, severity: a.severity, owner: s.owner, reason: s.reason, expires: new Date(s.expires).toISOString() }, 'alert suppressed');
    },
    expired: (s: Suppression, at: number) => {
      metrics.suppressionsExpired.inc({ owner: s.owner });
      log.warn({ owner: s.owner, reason: s.reason, expires: new Date(s.expires).toISOString(), at: new Date(at).toISOString() }, 'suppression expired: no longer suppressing');
    },
  };
  let running = config;
  /** Tasks are built from the running config, so one created after a reload has the reloaded thresholds. */
  const buildTask = (): BuiltTask => {
    const policy = new AlertPolicy(running, suppressionObserver);
    const freezes = new FreezeStage(running, (alert) => dispatcher.decide(alert));
    const detectors = buildDetectors(running, model, opts.autoencoder ?? null);
    const state = [...detectors.flatMap(stateOf), policy];
    const changes = opts.changes;
    const context = new ContextSignals(model, running.environments.critical, changes && ((ticket) => changes.backs(ticket)));
    const processor = new DetectionProcessor(detectors, policy, freezes, { activity: new ActivityTracker(), context }, changes);
    processor.onFinding = opts.onFinding;
    return {
      detectors, policy, freezes, state, context,
      processor,
      stats: () => detectors.reduce((t, d) => {
        const s = d.stats?.() ?? { tracked: 0, evicted: 0 };
        return { tracked: t.tracked + s.tracked, evicted: t.evicted + s.evicted };
      }, { tracked: 0, evicted: 0 }),
    };
  };
  // With a route: one task per partition, dropped and restored as partitions move (scale-out with a changelog), or
  // split the same way for a replay. Otherwise one task sees every event, whatever partition it came from.
  const tasks = opts.tasks ? new DetectionTasks(buildTask, opts.tasks) : undefined;
  const single = tasks ? undefined : buildTask();
  const liveTasks = (): BuiltTask[] => (tasks ? tasks.all() : [single!]);
  const parts = {
    admission: new EventAdmission({ maxFutureSkewMs: config.admission.maxFutureSkew, dedupeWindow: config.admission.dedupeWindow }),
    stats: () => (tasks ?? single!).stats(),
    decode: decodeContextFrom(config, registry),
    processor: opts.wrap ? opts.wrap(tasks ?? single!.processor) : (tasks ?? single!.processor),
    sinks,
    dispatcher,
    deadLetter: producer ? new KafkaDeadLetterSink(producer, config.deadLetter.topic, log.child({ component: 'dead-letter' })) : new LogDeadLetterSink(log),
    metrics,
    log,
  };
  const pipeline = new Pipeline(parts);

  /**
   * Hot reload, all or nothing: thresholds, overrides, suppressions, incident timing, freeze rules and the
   * environment mappings change between two batches, with every entity's state kept. Returns the problems that
   * refuse the reload (nothing changed) and, separately, the keys that only a restart picks up.
   */
  const reconfigure = (next: Config): { refused: string[]; needsRestart: string[] } => {
    const refused: string[] = [];
    if (next.detectors.length !== config.detectors.length || next.detectors.some((d, i) => d.type !== config.detectors[i]!.type)) {
      refused.push('detectors: the list of detectors changed; restart to add or remove detectors');
    } else if (next.freeze.rules.some((r) => r.requireChange) !== config.freeze.rules.some((r) => r.requireChange)) {
      refused.push('freeze.rules[].requireChange: turning change control on or off adds or removes a detector; restart to change it');
    } else {
      // Every task holds the same detector types and specs: asking the first (or a fresh one) is asking all.
      const probe = liveTasks()[0] ?? buildTask();
      next.detectors.forEach((spec, i) => {
        const reason = (probe.detectors[i] as Partial<Reconfigurable<typeof spec>>).checkReconfigure?.(spec);
        if (reason) refused.push(reason);
      });
    }
    if (refused.length) return { refused, needsRestart: [] };
    for (const task of liveTasks()) {
      next.detectors.forEach((spec, i) => (task.detectors[i] as Partial<Reconfigurable<typeof spec>>).reconfigure?.(spec, next.environments.critical));
      // Those built beyond the configured list (change control) take the critical environments only.
      for (const d of task.detectors.slice(next.detectors.length)) (d as Partial<Reconfigurable<unknown>>).reconfigure?.(undefined, next.environments.critical);
      task.policy.reconfigure(next);
      task.freezes.reconfigure(next);
      task.context.reconfigure(next.environments.critical);
    }
    dispatcher.reconfigure(next.freeze);
    parts.decode = decodeContextFrom(next, registry);
    const needsRestart = RESTART_ONLY.filter((path) => JSON.stringify(pick(running, path)) !== JSON.stringify(pick(next, path)));
    running = next;
    return { refused: [], needsRestart };
  };
  return { pipeline, dispatcher, sinks, audit, reconfigure, tasks, decodeContext: () => parts.decode };
}

/** A detector's changelogged state: itself, or the parts it is made of, or none. */
function stateOf(d: Detector): Changelogged[] {
  if (typeof (d as Partial<Changelogged>).entryOf === 'function') return [d as Detector & Changelogged];
  return (d as Partial<ComposedState>).stateParts?.() ?? [];
}

/** Keys a running pipeline cannot change: connections, topics, outputs and the model. */
const RESTART_ONLY = ['admission', 'kafka', 'sources', 'deadLetter', 'alerts.sinks', 'alerts.incidentGap', 'freeze.controlTopic', 'freeze.auditTopic', 'freeze.actuators', 'modelDir', 'metrics', 'log'];

function pick(config: Config, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], config);
}

/** The windows every configured volume detector checks: training learns exactly these. */
export function trainingWindows(config: Config): number[] {
  return [...volumeWindows(config)].sort((a, b) => a - b);
}

/** Training is the same pipeline with the learner in place of the detectors. */
export function buildTrainingPipeline(config: Config, metrics: Metrics, log: Logger): { pipeline: Pipeline; learner: BaselineLearner; learning: LearningProcessor } {
  const volume = volumeSpec(config);
  const quantile = volume?.populationQuantile ?? 0.95;
  const criticality = new Criticality(volume?.criticality ?? {});
  const learner = new BaselineLearner(trainingWindows(config), quantile, (type) => criticality.weight(type));
  // The model's feature vectors are gathered in the same pass, with the same extractor detection runs.
  const features = config.detectors.some((d) => d.type === 'model')
    ? new FeatureExtractor(undefined, config.environments.critical, criticality)
    : undefined;
  const learning = new LearningProcessor(learner, features);
  const pipeline = new Pipeline({
    // Training admits events as detection does: a redelivered delete must not inflate a learned peak.
    admission: new EventAdmission({ maxFutureSkewMs: config.admission.maxFutureSkew, dedupeWindow: config.admission.dedupeWindow }),
    decode: decodeContextFrom(config, schemaRegistryOf(config)),
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
