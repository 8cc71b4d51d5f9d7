import { availableParallelism } from 'node:os';
import type { Kafka } from 'kafkajs';
import type { Config, SourceSpec } from '../../config/schema.js';
import { decodeSettingsOf, type DecodeSettings } from '../../decode/index.js';
import type { Logger } from '../../log.js';
import type { Metrics } from '../../metrics/metrics.js';
import { KafkaGroupSource } from './group.js';
import type { PartitionHooks } from './member.js';
import { KafkaThreadSource } from './thread.js';
import type { Source } from '../source.js';

export type LiveSource = Source & {
  readonly running: boolean;
  /** After a config reload: a source that decodes on another thread sends it the new decode settings. */
  decodeSettingsChanged?(settings: DecodeSettings): void;
};

/**
 * The consumer group that feeds detection: kafkajs on a thread of its own when `consumerThread` says so, otherwise on
 * the pipeline's thread. Both commit a batch only after it settled.
 */
export function liveSource(kafka: Kafka, config: Pick<Config, 'kafka' | 'environments' | 'principals' | 'workers' | 'admission'>, groupId: string,
  specs: ReadonlyArray<Pick<Extract<SourceSpec, { type: 'kafka' }>, 'topics' | 'format' | 'fromBeginning'>>, metrics: Metrics, log: Logger,
  opts: { hooks?: PartitionHooks } = {}): LiveSource {
  if (!consumerThread(config)) return new KafkaGroupSource(kafka, groupId, specs, config.kafka.consumer, metrics, log, opts.hooks);
  return new KafkaThreadSource(config.kafka, groupId, specs, metrics, log, decodeSettingsOf(config), config.admission.dedupeWindow, opts.hooks);
}

/**
 * Whether kafkajs gets a thread of its own. "auto": when each worker process has two cores. On two cores the thread
 * took one process from 0.64 of the bare-kafkajs baseline to 0.94 (medians of three), while two workers with it
 * fell from 0.92 to 0.76 (README, Performance): two processes already keep both cores busy, and the hop costs CPU.
 */
export function consumerThread(config: Pick<Config, 'kafka' | 'workers'>, cores = availableParallelism()): boolean {
  const setting = config.kafka.consumer.thread;
  if (setting !== 'auto') return setting;
  const workers = config.workers === 'auto' ? cores : config.workers;
  return cores >= 2 * workers;
}
