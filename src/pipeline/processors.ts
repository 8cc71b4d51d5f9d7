import type { AlertPolicy, PolicyOutput } from '../alerts/policy.js';
import type { BaselineLearner } from '../baseline/learner.js';
import type { Detector, Finding } from '../detectors/detector.js';
import type { AuditEvent } from '../events/audit-event.js';
import type { FeatureExtractor } from '../model/features.js';
import type { EventProcessor } from './pipeline.js';

/** Live detection and replay: every detector sees every event; findings go through the alert policy. */
export class DetectionProcessor implements EventProcessor {
  /** Sees every finding, alerting or not (reports chart the score over time). */
  onFinding: ((finding: Finding) => void) | undefined;

  constructor(private readonly detectors: readonly Detector[], private readonly policy: AlertPolicy) {}

  process(event: AuditEvent, out: PolicyOutput): void {
    for (const d of this.detectors) {
      const finding = d.observe(event);
      if (finding) {
        this.onFinding?.(finding);
        this.policy.onFinding(finding, out);
      }
    }
  }

  /** End of a pipeline batch: batch detectors score what they queued, in event order. */
  flush(out: PolicyOutput): void {
    for (const d of this.detectors) {
      for (const finding of d.flush?.() ?? []) {
        this.onFinding?.(finding);
        this.policy.onFinding(finding, out);
      }
    }
  }
}

/** Training: the same pipeline, with the learner (and the model's feature extractor) where the detectors would be. */
export class LearningProcessor implements EventProcessor {
  readonly vectors: Float32Array[] = [];

  constructor(private readonly learner: BaselineLearner, private readonly features: FeatureExtractor | undefined) {}

  process(event: AuditEvent): void {
    this.learner.observe(event);
    const v = this.features?.extract(event);
    if (v) this.vectors.push(v);
  }
}
