import { destructiveObjects } from '../baseline/entity.js';
import { FAILURE_MINUTES, principalKey, READ_MINUTES } from '../baseline/activity.js';
import type { BaselineModel } from '../baseline/model.js';
import { utcHour } from '../util/time.js';
import type { Finding } from './detector.js';

/** A principal's recent reads and failures at the moment of one event (see ActivityTracker). */
export interface RecentActivity {
  reads: number;
  failures: number;
}

/** What an alert says beyond its detector's own reason, and the score once that context is weighed in. */
export interface AlertContext {
  score: number;
  reasons: string[];
}

interface Signal {
  weight: number;
  text: string;
}

/** Up to this many context reasons per alert, the weightiest first. */
const MAX_REASONS = 4;

function hoursText(mask: number): string {
  const hours = Array.from({ length: 24 }, (_, h) => h).filter((h) => mask & (1 << h));
  if (hours.length === 24) return 'at every hour';
  if (hours.length === 0) return 'never';
  // Runs of consecutive hours, e.g. 08:00-17:59.
  const runs: string[] = [];
  let from = hours[0]!;
  for (let i = 1; i <= hours.length; i++) {
    if (hours[i] === hours[i - 1]! + 1) continue;
    runs.push(`${String(from).padStart(2, '0')}:00-${String(hours[i - 1]!).padStart(2, '0')}:59`);
    from = hours[i]!;
  }
  return runs.join(', ');
}

/**
 * The context of a finding, judged against what the training history says of the same principal:
 * - a principal never seen in this environment, or acting outside the hours it was ever active;
 * - an enumeration (List/Describe/Get) burst or a run of denied calls just before;
 * - a critical environment, a human principal, many objects in one call, and whether a change ticket covers it.
 * Each present signal adds its weight: the context score is the detector's score × (1 + the sum of the weights).
 * The weights are fixed (documented in the README), not fitted: the score ranks alerts, while severity and freezes
 * stay the detectors' (so context alone never freezes).
 */
export class ContextSignals {
  /** `ticketBacked`: whether an approved change names a ticket (absent: approvals are not read, a ticket is taken as given). */
  constructor(private readonly model: BaselineModel, private criticalEnvironments: readonly string[], private readonly ticketBacked?: (ticket: string) => boolean) {}

  reconfigure(criticalEnvironments: readonly string[]): void {
    this.criticalEnvironments = criticalEnvironments;
  }

  describe(f: Finding, recent: RecentActivity): AlertContext {
    const e = f.event;
    const signals: Signal[] = [];
    const known = this.model.principals;
    const p = known?.[principalKey(e.principal.id, e.environment)];
    if (known && !p) signals.push({ weight: 0.5, text: `${e.principal.id} never acted in ${e.environment} in the training history` });
    const hour = utcHour(e.time);
    if (p && !(p.hours & (1 << hour))) {
      signals.push({ weight: 0.5, text: `outside its usual hours: ${String(hour).padStart(2, '0')}:00 UTC, where training saw it active ${hoursText(p.hours)}` });
    }
    const readsUsual = p?.readPeak ?? 0;
    if (recent.reads >= Math.max(20, 2 * readsUsual)) {
      signals.push({ weight: 0.5, text: `enumeration just before: ${recent.reads} List/Describe/Get calls in the last ${READ_MINUTES} min (its most in training: ${readsUsual})` });
    }
    const failuresUsual = p?.failurePeak ?? 0;
    if (recent.failures >= Math.max(3, 2 * failuresUsual)) {
      signals.push({ weight: 0.5, text: `${recent.failures} denied or failed calls in the last ${FAILURE_MINUTES} min (its most in training: ${failuresUsual})` });
    }
    if (this.criticalEnvironments.includes(e.environment)) signals.push({ weight: 0.25, text: `${e.environment} is a critical environment` });
    if (e.principal.kind === 'human') signals.push({ weight: 0.25, text: 'by a human principal' });
    if (destructiveObjects(e) >= 10) signals.push({ weight: 0.25, text: `one call addressed ${e.objectCount} objects` });
    if (e.changeTicket && this.ticketBacked && !this.ticketBacked(e.changeTicket)) {
      signals.push({ weight: 0.25, text: `change ticket ${e.changeTicket}, which no approved change backs` });
    } else if (e.changeTicket) signals.push({ weight: -0.5, text: `change ticket ${e.changeTicket}` });
    else if (destructiveObjects(e) > 0) signals.push({ weight: 0.1, text: 'no change ticket' });
    // Stable order: by weight, then as listed above.
    const ranked = signals.map((s, i) => ({ s, i })).sort((a, b) => b.s.weight - a.s.weight || a.i - b.i).map(({ s }) => s);
    const sum = signals.reduce((t, s) => t + s.weight, 0);
    return { score: Math.round(f.score * Math.max(0.5, 1 + sum) * 100) / 100, reasons: ranked.slice(0, MAX_REASONS).map((s) => s.text) };
  }
}
