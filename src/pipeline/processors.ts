import type { AlertPolicy, PolicyOutput } from '../alerts/policy.js';
import type { BaselineLearner } from '../baseline/learner.js';
import type { Detector, Finding } from '../detectors/detector.js';
import type { AuditEvent } from '../events/audit-event.js';
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
}

/** Training: the same pipeline, with the learner where the detectors would be. */
export class LearningProcessor implements EventProcessor {
  constructor(private readonly learner: BaselineLearner) {}

  process(event: AuditEvent): void {
    this.learner.observe(event);
  }
}
