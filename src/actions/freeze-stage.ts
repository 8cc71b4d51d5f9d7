import type { Alert } from '../alerts/alert.js';
import type { Config } from '../config/schema.js';
import { formatDuration } from '../util/duration.js';
import { stableId } from '../util/hash.js';
import { alertActionOf, type FreezeDecision } from './dispatcher.js';

/** What detection hands on from a batch: the alert revisions to publish and the freeze decisions to carry out. */
export interface DetectionOutput {
  alerts: Alert[];
  freezes: FreezeDecision[];
}

/** The dispatcher's decision for an alert: freeze, dry run, propose, refuse (cap) or nothing. */
export type FreezeDecider = (alert: Alert) => FreezeDecision | null;

/**
 * The stage after the alert policy: each alert revision the policy emits is offered to the freeze decision once per
 * incident (the incident's alert keeps the action, in the policy's changelogged state, so a later revision or an
 * instance that takes the partition over does not decide again), then handed on to the sinks.
 */
export class FreezeStage {
  constructor(private config: Config, private readonly decide: FreezeDecider) {}

  reconfigure(config: Config): void {
    this.config = config;
  }

  /** `incidentAlert` is the incident's own alert: its action is recorded there. */
  onAlert(incidentAlert: Alert, out: DetectionOutput): void {
    if (incidentAlert.action === 'none') {
      const decision = this.decide(incidentAlert);
      incidentAlert.action = alertActionOf(decision);
      if (decision) out.freezes.push(decision);
      if (decision?.kind === 'refused-cap') out.alerts.push(this.capAlert(incidentAlert, decision));
    }
    out.alerts.push({ ...incidentAlert });
  }

  /** The cap stopped a freeze: say so in a critical alert of its own, so nobody assumes the scope is frozen. */
  private capAlert(a: Alert, d: FreezeDecision): Alert {
    const { maxFreezes, window } = this.config.freeze.cap;
    return {
      ...a,
      id: stableId('alert', 'freeze-cap', a.id),
      revision: 0,
      severity: 'critical',
      detector: 'freeze-cap',
      reason: `freeze cap reached: ${d.inWindow} freezes in the last ${formatDuration(window)} (cap ${maxFreezes}); NOT freezing ${d.command.scopeKey} for alert ${a.id}, alerting only. ${a.reason}`,
      action: 'freeze-refused',
    };
  }
}
