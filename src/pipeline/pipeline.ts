import type { ActionDispatcher } from '../actions/dispatcher.js';
import type { DetectionOutput } from '../actions/freeze-stage.js';
import type { DecodeContext } from '../decode/index.js';
import { retryWhileTransient } from '../util/retry.js';
import { RunCounts } from '../util/run-counts.js';
import type { AuditEvent } from '../events/audit-event.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { DeadLetterSink } from '../sinks/dead-letter.js';
import type { AlertSink } from '../sinks/sink.js';
import type { SourceRecord } from '../sources/source.js';
import { ADMITTED, admitRecords, type Admitter } from './admission.js';
import { Rejections } from './rejections.js';
import { lookUpWriterSchemas } from './schema-lookup.js';

/** What happens to each decoded event: detection (run, replay) or learning (train). */
export interface EventProcessor {
  /** `record` is where the event came from (topic, partition, offset); reports use it to name restore points. */
  process(event: AuditEvent, out: DetectionOutput, record: SourceRecord): void;
  /** Called once at the end of each batch, before outputs are published (batched model scoring). */
  flush?(out: DetectionOutput): void;
}

export interface PipelineParts {
  /** Validates decoded events (time bounds, redeliveries) before they reach the processor. */
  admission?: Admitter;
  /** Replaced between batches on a config reload (environment and principal mappings). */
  decode: DecodeContext;
  processor: EventProcessor;
  sinks: readonly AlertSink[];
  dispatcher?: ActionDispatcher;
  deadLetter: DeadLetterSink;
  metrics: Metrics;
  log: Logger;
  /** Entities tracked by the detectors, and evicted so far (for the memory-bound metrics). */
  stats?: () => { tracked: number; evicted: number };
}

/** Training admits every decoded event. */
const ADMIT_ALL: Admitter = { admit: () => ADMITTED };

export interface BatchSummary {
  records: number;
  events: number;
  alerts: number;
  freezes: number;
  deadLettered: number;
}

/**
 * source → decode → processor (features, detectors, alert policy) → sinks and actions.
 * `handle` resolves only after every output of the batch has settled; sources commit after that.
 */
export class Pipeline {
  readonly totals: BatchSummary = { records: 0, events: 0, alerts: 0, freezes: 0, deadLettered: 0 };
  /** Why records were dead-lettered, by code and by kind of input (for an input that yields nothing, or in part). */
  readonly rejections = new Rejections();
  private evictedSeen = 0;
  private stopping = false;

  constructor(private readonly parts: PipelineParts) {}

  /** Ends output retries: the batch being retried fails, is not committed, and is read again after a restart. */
  stop(): void {
    this.stopping = true;
  }

  handle = async (records: SourceRecord[]): Promise<void> => {
    const { decode, processor, metrics } = this.parts;
    const out: DetectionOutput = { alerts: [], freezes: [] };
    const perSource = new RunCounts();
    let newestEventTime = -Infinity;
    let oldestEventTime = Infinity;
    let events = 0;

    await lookUpWriterSchemas(records, decode, this.parts.log, () => this.stopping);
    const { dead, ignored, duplicates } = admitRecords(records, decode, this.parts.admission ?? ADMIT_ALL, (event, record) => {
      events++;
      perSource.add(event.source);
      if (event.time > newestEventTime) newestEventTime = event.time;
      if (event.time < oldestEventTime) oldestEventTime = event.time;
      processor.process(event, out, record);
    });

    processor.flush?.(out);
    // The events are already in the detectors' state: from here the batch's outputs must get out, not the batch be
    // redelivered (its events would then be dropped as duplicates, and their alerts never sent). Outputs carry
    // deterministic ids, so a retry that repeats one is harmless downstream.
    const [freezes] = await retryWhileTransient(() => Promise.all([
      this.parts.dispatcher?.dispatch(out.freezes) ?? 0,
      ...this.parts.sinks.map((s) => s.publish(out.alerts)),
      this.parts.deadLetter.publish(dead),
    ]), { what: 'publishing a batch\'s outputs', log: this.parts.log, stopping: () => this.stopping });

    // Metrics are updated once per batch, after the outputs settled.
    metrics.countBatch(records, dead);
    for (const [source, n] of perSource.counts()) metrics.eventsDecoded.inc({ source }, n);
    if (ignored) metrics.recordsIgnored.inc(ignored);
    if (duplicates) metrics.duplicates.inc(duplicates);
    if (this.parts.stats) {
      const { tracked, evicted } = this.parts.stats();
      metrics.entitiesTracked.set(tracked);
      if (evicted > this.evictedSeen) metrics.entitiesEvicted.inc(evicted - this.evictedSeen);
      this.evictedSeen = evicted;
    }
    for (const a of out.alerts) (a.revision === 0 ? metrics.alerts : metrics.alertUpdates).inc({ severity: a.severity });
    if (events) {
      const now = Date.now();
      metrics.endToEndLag.observe(Math.max(0, (now - newestEventTime) / 1000));
      if (oldestEventTime !== newestEventTime) metrics.endToEndLag.observe(Math.max(0, (now - oldestEventTime) / 1000));
    }
    for (const d of dead) this.rejections.add(d.record.topic, d.error);
    const t = this.totals;
    t.records += records.length;
    t.events += events;
    t.alerts += out.alerts.length;
    t.freezes += freezes;
    t.deadLettered += dead.length;
  };
}
