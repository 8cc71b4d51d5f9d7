import { availableParallelism } from 'node:os';
import type { Kafka } from 'kafkajs';
import type { Alert } from '../alerts/alert.js';
import type { BaselineModel } from '../baseline/model.js';
import type { Config, InputFormat } from '../config/schema.js';
import { decodeSettingsOf } from '../decode/index.js';
import type { Logger } from '../log.js';
import type { Autoencoder } from '../model/autoencoder.js';
import { Metrics } from '../metrics/metrics.js';
import type { AlertSink } from '../sinks/sink.js';
import { AuditwatchError } from '../errors.js';
import { FileSource } from '../sources/file.js';
import type { ChangeBook } from '../actions/change-approval.js';
import { KafkaRangeSource } from '../sources/kafka/topic-reader.js';
import type { Source } from '../sources/source.js';
import { buildDetectionPipeline } from './assemble.js';
import type { Rejections } from './rejections.js';
import type { TaskRoute } from './tasks.js';

/** A window of events to run detection over again: a file (or stdin) or a topic's time range. */
export type WindowInput = { kind: 'file'; path: string } | { kind: 'topic'; topic: string; from?: number; to?: number };

/** A file source that decodes ahead on the threads the config asks for, with the config's decode settings. */
export function fileSource(path: string, format: InputFormat, config: Config): FileSource {
  const threads = config.decodeThreads === 'auto' ? Math.max(1, availableParallelism() - 1) : config.decodeThreads;
  return new FileSource(path, format, { decodeAhead: { threads, settings: decodeSettingsOf(config) } });
}

export function windowSource(input: WindowInput, format: InputFormat, kafka: Kafka | undefined, config: Config): Source {
  if (input.kind === 'file') return fileSource(input.path, format, config);
  if (!kafka) throw new Error('a topic window needs a Kafka connection');
  return new KafkaRangeSource(kafka, { topic: input.topic, from: input.from, to: input.to, format });
}

/**
 * Never silent about input: a window that yielded no event at all is a failure (exit 1) with one line saying what
 * was read and why none of it decoded, rather than "0 events" and exit 0.
 */
export function requireEvents(input: WindowInput, format: InputFormat, source: Source, pipeline: { totals: { events: number; records: number }; rejections: Rejections }): void {
  if (pipeline.totals.events > 0) return;
  const where = input.kind === 'file' ? input.path : `topic ${input.topic}`;
  const read = source instanceof FileSource
    ? `${source.stats.files.toLocaleString('en')} file(s)${source.stats.gzipFiles ? ` (${source.stats.gzipFiles.toLocaleString('en')} gzip'd)` : ''}, ${source.stats.records.toLocaleString('en')} record(s)`
    : `${pipeline.totals.records.toLocaleString('en')} record(s)`;
  const why = [...pipeline.rejections.byCode.entries()].sort((a, b) => b[1].count - a[1].count).map(([code, r]) => `${r.count.toLocaleString('en')} ${code} (${r.first})`).join('; ');
  const verdict = pipeline.totals.records === 0 ? 'nothing to decode' : why ? `none recognised as ${format}: ${why}` : 'none became an event';
  throw new AuditwatchError('INPUT_EMPTY', `read 0 events from ${where}: ${read}, ${verdict}`);
}

/**
 * One warning per kind of input whose records were dead-lettered (`*.json.gz` files, `*.txt` files, a topic), with
 * counts and the reasons: an archive with files of another kind in it says so even when the rest decoded.
 */
export function warnRejected(log: Logger, format: InputFormat, pipeline: { rejections: Rejections }): void {
  for (const [kind, r] of pipeline.rejections.byKind) {
    const codes = [...r.codes.entries()].map(([code, n]) => `${n.toLocaleString('en')} ${code}`).join(', ');
    log.warn({ kind, records: r.records, sources: r.sources.size, codes: Object.fromEntries(r.codes), first: r.first },
      `${r.records.toLocaleString('en')} record(s) from ${r.sources.size.toLocaleString('en')} source(s) of kind ${kind} not recognised as ${format} (${codes}; first: ${r.first})`);
  }
}

/**
 * Makes every freeze rule a shadow (dry run): a replay or backtest of last week must not freeze production today.
 * Returns a copy; the config it was given is unchanged.
 */
export function shadowFreezes(config: Config): Config {
  const shadow = <M extends string | undefined>(m: M): M => (m === 'enforce' || m === 'approval' ? 'dry-run' : m) as M;
  return { ...config, freeze: { ...config.freeze, mode: shadow(config.freeze.mode), rules: config.freeze.rules.map((r) => ({ ...r, mode: shadow(r.mode) })) } };
}

export interface WindowDetection {
  autoencoder?: Autoencoder | null;
  /** A user's window: it must yield events, and what it rejected is told (the evaluation's simulated ones need not). */
  window?: { input: WindowInput; format: InputFormat };
  changes?: ChangeBook;
  /** Split into tasks as `run` split the window's events (see taskRouteFor); one task when absent. */
  tasks?: TaskRoute;
}

/** Runs detection over a window with the live code and freezes shadowed, and returns every alert revision. */
export async function detectOverWindow(config: Config, model: BaselineModel, source: Source, log: Logger,
  { autoencoder = null, window, changes, tasks }: WindowDetection = {}): Promise<{ alerts: Alert[]; events: number; rejected: number }> {
  const alerts: Alert[] = [];
  const collector: AlertSink = { name: 'collect', publish: async (a) => void alerts.push(...a), close: async () => {} };
  const { pipeline } = buildDetectionPipeline({ config: shadowFreezes(config), model, autoencoder, metrics: new Metrics(), log, sinks: [collector], changes, tasks });
  await source.run(pipeline.handle);
  if (window) {
    warnRejected(log, window.format, pipeline);
    requireEvents(window.input, window.format, source, pipeline);
  }
  return { alerts, events: pipeline.totals.events, rejected: pipeline.totals.deadLettered };
}
