import { entityKeyOf } from '../baseline/entity.js';
import type { Criticality } from '../baseline/criticality.js';
import type { BaselineModel } from '../baseline/model.js';
import type { ModelSpec } from '../config/schema.js';
import type { AuditEvent } from '../events/audit-event.js';
import { reconstructionErrors, type Autoencoder } from '../model/autoencoder.js';
import { FeatureExtractor } from '../model/features.js';
import type { Detector, Finding } from './detector.js';
import type { ChangeTracker, Changelogged } from '../state/changelogged.js';

/**
 * The learned model: every destructive event's feature vector is queued as it is observed, and the whole batch is
 * scored in one model call at the end of the pipeline batch. Reconstruction error ÷ the training p99.9 warns from
 * `minScore`; the finding's score is that ratio ÷ minScore, so 1 means "just warns", as for every detector. The model alone never makes an alert critical (and so never freezes):
 * it points at what is unlike history, and the other detectors say how bad it is.
 */
export class ModelDetector implements Detector, Changelogged {
  readonly name = 'model';
  readonly stateName = 'model';
  private readonly extractor: FeatureExtractor;
  private queue: Array<{ e: AuditEvent; v: Float32Array }> = [];

  constructor(private readonly spec: ModelSpec, private readonly ae: Autoencoder, baselines: BaselineModel, criticalEnvironments: readonly string[], criticality: Criticality) {
    this.extractor = new FeatureExtractor(baselines, criticalEnvironments, criticality);
  }

  observe(e: AuditEvent): Finding | null {
    const v = this.extractor.extract(e);
    if (v) this.queue.push({ e, v });
    return null;
  }

  flush(): Finding[] {
    if (this.queue.length === 0) return [];
    const queued = this.queue;
    this.queue = [];
    const errors = reconstructionErrors(this.ae, queued.map((q) => q.v));
    const { p999 } = this.ae.manifest.calibration;
    const findings: Finding[] = [];
    queued.forEach(({ e }, i) => {
      const ratio = Math.round((errors[i]! / p999) * 100) / 100;
      if (ratio < this.spec.minScore) return;
      // On the scale every detector shares: 1 is where this detector starts to warn (bulk-delete: observed equals
      // the threshold; context: a novelty), so scores from different detectors can be weighed together.
      const score = Math.round((ratio / this.spec.minScore) * 100) / 100;
      findings.push({
        detector: this.name, entityKey: entityKeyOf(e), event: e, score, severity: 'warning', windowMs: 0,
        reason: `unlike the training history: ${e.action} of ${e.resource.type} by ${e.principal.id} in ${e.environment} reconstructs with error ${errors[i]!.toFixed(3)}, ${ratio}× the 99.9th percentile of the history (${p999.toFixed(3)}; it warns from ${this.spec.minScore}×)`,
        firstEventTime: e.time, eventCount: 1, objectCount: e.objectCount,
      });
    });
    return findings;
  }




  get changes(): ChangeTracker {
    return this.extractor.changes;
  }

  entryOf(key: string): unknown {
    return this.extractor.entryOf(key);
  }

  entries(): Iterable<[string, unknown]> {
    return this.extractor.entries();
  }

  restoreEntry(key: string, value: unknown): void {
    this.extractor.restoreEntry(key, value);
  }

  stats(): { tracked: number; evicted: number } {
    return { tracked: this.extractor.tracked(), evicted: 0 };
  }
}
