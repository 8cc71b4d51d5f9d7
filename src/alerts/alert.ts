import type { Severity, WindowMeasure } from '../detectors/detector.js';

/** change-approved: inside an approved change (`auditwatch change approve`), so never frozen. */
export type AlertAction = 'none' | 'freeze' | 'freeze-dry-run' | 'freeze-proposed' | 'freeze-refused' | 'change-approved';

/** One incident, as subscribers see it. Schema: schemas/alert.avsc. */
export interface Alert {
  id: string;
  revision: number;
  principal: string;
  principalKind: string;
  environment: string;
  resourceType: string;
  severity: Severity;
  score: number;
  detector: string;
  reason: string;
  firstEventTime: number;
  detectedAt: number;
  triggerEventId: string;
  eventCount: number;
  objectCount: number;
  action: AlertAction;
  /** What else this event says, against the principal's history: the weightiest context signals first. */
  context: string[];
  /** The detector's score weighed with that context (ranks alerts; severity and freezes stay the detector's). */
  contextScore: number;
  /** Volume detectors: what was observed in each window and the learned baseline it was compared with. */
  windows: WindowMeasure[];
  /**
   * The incident's last revision: quiet for long enough that no finding can continue it (Alertmanager resolves it,
   * PagerDuty gets a resolve). Its detectedAt is the event time it closed at.
   */
  closed: boolean;
}
