import type { AuditEvent } from '../events/audit-event.js';
import type { AlertContext } from './signals.js';

export type Severity = 'info' | 'warning' | 'critical';
export const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

/** One window of a volume finding: observed in it, the learned baseline for it, and the threshold that made the score. */
export interface WindowMeasure {
  windowMs: number;
  observed: number;
  baseline: number;
  threshold: number;
  /** What observed, baseline and threshold count: objects, or bytes (bulk-read, where the records say). */
  unit: 'objects' | 'bytes';
}

/** What a detector says about one event: this entity's behaviour, as of this event, is unusual. */
export interface Finding {
  detector: string;
  entityKey: string;
  event: AuditEvent;
  score: number;
  severity: Severity;
  reason: string;
  /** Length of the window whose sum made the score: how far back this finding's evidence reaches. */
  windowMs: number;
  /**
   * The detector reports this once and never updates it (a novelty, a disabled protection): the policy raises
   * its alert without keeping it as an open incident, so a flood of them costs no memory.
   */
  oneShot?: boolean;
  /** Event time of the first destructive call of the run this event belongs to. */
  firstEventTime: number;
  /** Destructive calls and the objects they addressed in that run, this event included. */
  eventCount: number;
  objectCount: number;
  /** Volume detectors: every window, observed against its baseline (an alert's evidence, e.g. OCSF anomaly_analyses). */
  windows?: WindowMeasure[];
  /** Added by the detection processor: the context signals of this event (src/detectors/signals.ts). */
  context?: AlertContext;
}

export interface Detector {
  readonly name: string;
  /** Called for every event, in order; returns a finding or null. Must depend on the events alone. */
  observe(event: AuditEvent): Finding | null;
  /** Batch detectors (the learned model) score what they queued once per pipeline batch, in event order. */
  flush?(): Finding[];
  /** Entities with state now, and how many were evicted so far. */
  stats?(): { tracked: number; evicted: number };
}

/** A detector whose thresholds can change under a running pipeline, keeping its state (hot reload). */
export interface Reconfigurable<S> {
  /** Why this spec cannot be applied without a restart, or null when it can. Changes nothing. */
  checkReconfigure(spec: S): string | null;
  reconfigure(spec: S, criticalEnvironments: readonly string[]): void;
}
