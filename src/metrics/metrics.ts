import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { VERSION } from '../util/version.js';
import { RunCounts } from '../util/run-counts.js';

/**
 * Every metric auditwatch exports, on a registry of its own (so tests can run several pipelines in one process).
 * With `workers` > 1 each worker process has one, and the primary serves their aggregate: counters, histograms and
 * per-partition gauges add up; the gauges that every worker reports alike say how they combine.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly recordsConsumed = new Counter({ name: 'auditwatch_records_consumed_total', help: 'Records read from sources', labelNames: ['topic'], registers: [this.registry] });
  readonly eventsDecoded = new Counter({ name: 'auditwatch_events_decoded_total', help: 'Audit events decoded', labelNames: ['source'], registers: [this.registry] });
  readonly recordsIgnored = new Counter({ name: 'auditwatch_records_ignored_total', help: 'Records decoded but deliberately not events (e.g. non-final Kubernetes stages)', registers: [this.registry] });
  readonly recordsFailed = new Counter({ name: 'auditwatch_records_failed_total', help: 'Records that could not be decoded, by error code (each goes to the dead-letter topic)', labelNames: ['code'], registers: [this.registry] });
  readonly deadLettered = new Counter({ name: 'auditwatch_dead_letter_total', help: 'Records written to the dead-letter destination', registers: [this.registry] });
  readonly alerts = new Counter({ name: 'auditwatch_alerts_total', help: 'Incidents raised, by severity at first alert', labelNames: ['severity'], registers: [this.registry] });
  readonly alertUpdates = new Counter({ name: 'auditwatch_alert_updates_total', help: 'Alert revisions published for ongoing incidents', labelNames: ['severity'], registers: [this.registry] });
  readonly freezes = new Counter({ name: 'auditwatch_freezes_total', help: 'Freezes by mode: enforce (published), dry-run (would have frozen), proposed (approval mode)', labelNames: ['mode'], registers: [this.registry] });
  readonly freezeDecisions = new Counter({ name: 'auditwatch_freeze_decisions_total', help: 'Freeze decisions: freeze, dry-run, propose, refused-cap, already-frozen, not-allowed', labelNames: ['decision'], registers: [this.registry] });
  // Every worker process follows the same control topic: the freezes in force are one count, not one per worker.
  readonly freezesActive = new Gauge({ name: 'auditwatch_freezes_active', help: 'Freezes in force, as followed on the control topic', aggregator: 'max', registers: [this.registry] });
  readonly controlRecordsRejected = new Counter({ name: 'auditwatch_control_records_rejected_total', help: 'Control-topic records refused by the reader (not-json, schema, unsigned, unknown-key, bad-signature, key-mismatch, stale-sequence, forged-tombstone, sequence-conflict, cap)', labelNames: ['reason'], registers: [this.registry] });
  readonly changeApprovalsRejected = new Counter({ name: 'auditwatch_change_approvals_rejected_total', help: 'Records on the changes topic ignored by the reader (not-json, unsigned, schema, unknown-key, bad-signature, key-mismatch, expired)', labelNames: ['reason'], registers: [this.registry] });
  readonly admissionDecisions = new Counter({ name: 'auditwatch_admission_decisions_total', help: 'Admission requests answered by the Kubernetes webhook, by whether they were allowed', labelNames: ['allowed'], registers: [this.registry] });
  readonly actuatorOps = new Counter({ name: 'auditwatch_actuator_operations_total', help: 'Actuator applies and reverts by outcome', labelNames: ['actuator', 'op', 'outcome'], registers: [this.registry] });
  readonly alertsSuppressed = new Counter({ name: 'auditwatch_alerts_suppressed_total', help: 'Alert revisions a suppression swallowed', labelNames: ['owner'], registers: [this.registry] });
  readonly suppressionsExpired = new Counter({ name: 'auditwatch_suppressions_expired_total', help: 'Suppressions that reached their expiry and stopped suppressing', labelNames: ['owner'], registers: [this.registry] });
  readonly configReloads = new Counter({ name: 'auditwatch_config_reloads_total', help: 'Config reloads by outcome (applied, refused)', labelNames: ['outcome'], registers: [this.registry] });
  readonly duplicates = new Counter({ name: 'auditwatch_events_duplicate_total', help: 'Redelivered events (an id seen recently) dropped so they do not count twice', registers: [this.registry] });
  readonly entitiesTracked = new Gauge({ name: 'auditwatch_entities_tracked', help: 'Entities (principal x environment x resource type) with live detector state', registers: [this.registry] });
  readonly entitiesEvicted = new Counter({ name: 'auditwatch_entities_evicted_total', help: 'Entities whose state was dropped: idle ones (windows empty) first, then the least recent past maxEntities', registers: [this.registry] });
  readonly endToEndLag = new Histogram({
    name: 'auditwatch_end_to_end_lag_seconds',
    help: 'Wall-clock now minus event time, when an event has been processed and its outputs settled',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600],
    registers: [this.registry],
  });
  readonly consumerLag = new Gauge({ name: 'auditwatch_consumer_lag', help: 'Messages behind the high watermark, per partition', labelNames: ['topic', 'partition'], registers: [this.registry] });
  readonly modelBackend = new Gauge({ name: 'auditwatch_model_backend', help: 'The TensorFlow.js backend scoring the learned model (1 for the one in use)', labelNames: ['backend'], aggregator: 'max', registers: [this.registry] });
  readonly stateEntriesWritten = new Counter({ name: 'auditwatch_state_entries_written_total', help: 'Per-entity state entries written to the changelog (tombstones included)', registers: [this.registry] });
  readonly stateRestoredEntries = new Counter({ name: 'auditwatch_state_restored_entries_total', help: 'Per-entity state entries restored for partitions assigned to this instance', registers: [this.registry] });
  readonly outputDeliveries = new Counter({ name: 'auditwatch_output_deliveries_total', help: 'Alert revisions per output by outcome: delivered (the endpoint accepted), failed (written to <alerts topic>.undelivered), skipped (below minSeverity or not matched)', labelNames: ['output', 'outcome'], registers: [this.registry] });
  readonly outputRetries = new Counter({ name: 'auditwatch_output_retries_total', help: 'Attempts an output repeated (network errors, timeouts, 408, 429, 5xx)', labelNames: ['output'], registers: [this.registry] });
  readonly outputSeconds = new Histogram({ name: 'auditwatch_output_delivery_seconds', help: 'From an alert revision read off the alerts topic to its endpoint accepting it, retries included', labelNames: ['output'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: [this.registry] });
  readonly stateRestoreSeconds = new Histogram({ name: 'auditwatch_state_restore_seconds', help: 'Time to restore the state of newly assigned partitions', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: [this.registry] });
  readonly repartitioned = new Counter({ name: 'auditwatch_repartitioned_events_total', help: 'Events re-keyed by principal onto the repartition topic', registers: [this.registry] });
  // With several worker processes, ready only when every one is.
  readonly buildInfo = new Gauge({ name: 'auditwatch_build_info', help: 'Always 1: the auditwatch version and the Node.js it runs on, as labels', labelNames: ['version', 'node'], aggregator: 'max', registers: [this.registry] });
  readonly ready = new Gauge({ name: 'auditwatch_ready', help: '1 when the model is loaded and the consumer is running', aggregator: 'min', registers: [this.registry] });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'auditwatch_' });
    this.buildInfo.set({ version: VERSION, node: process.versions.node }, 1);
  }

  /** A settled batch's records and dead letters, counted once per batch (detection and the repartition stage). */
  countBatch(records: readonly { topic: string }[], dead: readonly { error: { code: string } }[]): void {
    const perTopic = new RunCounts();
    for (const r of records) perTopic.add(r.topic);
    for (const [topic, n] of perTopic.counts()) this.recordsConsumed.inc({ topic }, n);
    for (const d of dead) this.recordsFailed.inc({ code: d.error.code });
    if (dead.length) this.deadLettered.inc(dead.length);
  }
}
