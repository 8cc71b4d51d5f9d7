import type { ChangeBook } from '../actions/change-approval.js';
import type { DetectionOutput, FreezeStage } from '../actions/freeze-stage.js';
import type { AlertPolicy } from '../alerts/policy.js';
import type { BaselineLearner } from '../baseline/learner.js';
import type { Detector, Finding } from '../detectors/detector.js';
import { destructiveObjects } from '../baseline/entity.js';
import type { ActivityTracker } from '../baseline/activity.js';
import { ReadThenWrite } from '../baseline/overwrites.js';
import type { ContextSignals, RecentActivity } from '../detectors/signals.js';
import type { AuditEvent } from '../events/audit-event.js';
import type { FeatureExtractor } from '../model/features.js';
import type { EventProcessor } from './pipeline.js';

/**
 * Live detection and replay: every detector sees every event; findings go through the alert policy, and the alerts
 * it emits through the freeze stage, in event order.
 */
export class DetectionProcessor implements EventProcessor {
  /** Sees every finding, alerting or not (reports chart the score over time). */
  onFinding: ((finding: Finding) => void) | undefined;
  /** Recent activity at each destructive event of the batch, for findings the model makes at the batch's end. */
  private readonly pendingContext = new Map<string, RecentActivity>();

  constructor(
    private readonly detectors: readonly Detector[],
    private readonly policy: AlertPolicy,
    private readonly freezes: FreezeStage,
    private readonly signals?: { activity: ActivityTracker; context: ContextSignals },
    private readonly changes?: ChangeBook,
    private readonly overwrites = new ReadThenWrite(),
  ) {}

  process(decoded: AuditEvent, out: DetectionOutput): void {
    const event = this.overwrites.qualify(decoded);
    // Incidents this event's time leaves behind for good go out closed, before its own findings.
    this.policy.advance(event.time, out.alerts);
    const signals = this.signals;
    let recent: RecentActivity | undefined;
    if (signals) {
      signals.activity.observe(event);
      // As of this event, whenever its finding comes: the context does not depend on how events are batched.
      if (event.verb !== 'read') {
        recent = signals.activity.recent(event);
        if (destructiveObjects(event) > 0) this.pendingContext.set(event.id, recent);
      }
    }
    for (const d of this.detectors) {
      const finding = d.observe(event);
      if (finding) this.found(finding, out, recent);
    }
  }

  private found(finding: Finding, out: DetectionOutput, recent: RecentActivity | undefined): void {
    // Inside an approved change: what change control asks for is there, and expected volume is news, not an incident.
    const approval = this.changes?.covering(finding.event);
    if (approval) {
      if (finding.detector === 'change-control') return;
      finding.severity = 'info';
      finding.reason = `within approved change ${approval.ticket} (approved by ${approval.approvedBy}, until ${new Date(approval.until).toISOString()}): ${finding.reason}`;
    }
    if (this.signals) finding.context = this.signals.context.describe(finding, recent ?? this.pendingContext.get(finding.event.id) ?? { reads: 0, failures: 0 });
    this.onFinding?.(finding);
    const alert = this.policy.onFinding(finding, out.alerts);
    if (!alert) return;
    // Decided before the freeze stage sees it: an incident inside an approved change is never frozen.
    if (approval && alert.action === 'none') alert.action = 'change-approved';
    this.freezes.onAlert(alert, out);
  }

  /** End of a pipeline batch: batch detectors score what they queued, in event order. */
  flush(out: DetectionOutput): void {
    for (const d of this.detectors) {
      for (const finding of d.flush?.() ?? []) this.found(finding, out, undefined);
    }
    this.pendingContext.clear();
  }
}

/** Training: the same pipeline, with the learner (and the model's feature extractor) where the detectors would be. */
export class LearningProcessor implements EventProcessor {
  readonly vectors: Float32Array[] = [];

  constructor(private readonly learner: BaselineLearner, private readonly features: FeatureExtractor | undefined, private readonly overwrites = new ReadThenWrite()) {}

  process(decoded: AuditEvent): void {
    // The same qualification detection applies, so that a job that writes back what it reads is learned as it is.
    const event = this.overwrites.qualify(decoded);
    this.learner.observe(event);
    const v = this.features?.extract(event);
    if (v) this.vectors.push(v);
  }
}
