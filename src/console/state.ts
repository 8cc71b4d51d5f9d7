import type { Kafka } from 'kafkajs';
import type { FreezeAuditEntry } from '../actions/freeze-audit.js';
import type { FreezeCommand } from '../actions/freeze-command.js';
import { waitingProposals } from '../actions/operator.js';
import type { KeyRing } from '../actions/signing.js';
import { WriteGate } from '../actions/write-gate.js';
import type { Alert } from '../alerts/alert.js';
import { SEVERITY_RANK } from '../detectors/detector.js';
import type { Logger } from '../log.js';
import { decodeAlert } from '../sinks/kafka.js';
import { KafkaFollower } from '../sources/kafka/topic-reader.js';

/** The incidents the console keeps (the oldest go first), and the revisions of each. */
const MAX_INCIDENTS = 2000;
const MAX_REVISIONS = 50;
const MAX_AUDIT = 20_000;

export interface Incident {
  id: string;
  latest: Alert;
  revisions: Alert[];
}

export interface AlertFilter {
  severity?: string;
  environment?: string;
  detector?: string;
  principal?: string;
}

export interface ConsoleSnapshot {
  incidents: Alert[];
  freezes: FreezeCommand[];
  proposals: FreezeCommand[];
  /** Control records refused as tampering so far. */
  tampered: number;
  /** Values seen, for the filters' choices. */
  seen: { environments: string[]; detectors: string[] };
}

/**
 * What the console shows, followed live: the alerts topic (each incident with its revisions), the control topic
 * through a write gate (the freezes every gate enforces), and the freeze audit topic (proposals waiting).
 */
export class ConsoleState {
  readonly gate: WriteGate;
  private readonly incidents = new Map<string, Incident>();
  private readonly audit: FreezeAuditEntry[] = [];
  private readonly alerts: KafkaFollower;
  private readonly auditFollower: KafkaFollower;

  constructor(kafka: Kafka, topics: { alerts: string; control: string; audit: string }, keys: KeyRing, private readonly log: Logger) {
    this.gate = new WriteGate(kafka, topics.control, { keys });
    this.alerts = new KafkaFollower(kafka, topics.alerts, 'auditwatch-console');
    this.auditFollower = new KafkaFollower(kafka, topics.audit, 'auditwatch-console');
  }

  /** Resolves once each topic has been read up to where it ended at the start. */
  async start(): Promise<void> {
    await Promise.all([
      this.gate.start(),
      this.alerts.start((r) => {
        if (!r.value) return;
        try {
          this.addAlert(decodeAlert(r.value));
        } catch (err) {
          this.log.warn({ topic: r.topic, partition: r.partition, offset: r.offset, err: (err as Error).message }, 'not an alert; skipped');
        }
      }),
      this.auditFollower.start((r) => {
        if (!r.value) return;
        try {
          this.audit.push(JSON.parse(r.value.toString('utf8')) as FreezeAuditEntry);
          if (this.audit.length > MAX_AUDIT) this.audit.splice(0, this.audit.length - MAX_AUDIT);
        } catch (err) {
          this.log.warn({ topic: r.topic, partition: r.partition, offset: r.offset, err: (err as Error).message }, 'not a freeze audit entry; skipped');
        }
      }),
    ]);
  }

  private addAlert(a: Alert): void {
    let inc = this.incidents.get(a.id);
    if (!inc) {
      inc = { id: a.id, latest: a, revisions: [] };
      this.incidents.set(a.id, inc);
      if (this.incidents.size > MAX_INCIDENTS) this.incidents.delete(this.incidents.keys().next().value!);
    }
    // Revisions may be redelivered: one of each, the latest on top.
    if (inc.revisions.some((r) => r.revision === a.revision)) return;
    inc.revisions.push(a);
    inc.revisions.sort((x, y) => x.revision - y.revision);
    if (inc.revisions.length > MAX_REVISIONS) inc.revisions.shift();
    inc.latest = inc.revisions[inc.revisions.length - 1]!;
  }

  incident(id: string): Incident | undefined {
    return this.incidents.get(id);
  }

  /** The freeze audit topic as read so far (for approvals). */
  auditEntries(): readonly FreezeAuditEntry[] {
    return this.audit;
  }

  snapshot(filter: AlertFilter, limit = 200): ConsoleSnapshot {
    const minRank = filter.severity ? SEVERITY_RANK[filter.severity as Alert['severity']] ?? 0 : 0;
    const principal = filter.principal?.toLowerCase();
    const all = [...this.incidents.values()].map((i) => i.latest);
    const incidents = all
      .filter((a) => SEVERITY_RANK[a.severity] >= minRank && (!filter.environment || a.environment === filter.environment) &&
        (!filter.detector || a.detector === filter.detector) && (!principal || a.principal.toLowerCase().includes(principal)))
      .sort((a, b) => b.detectedAt - a.detectedAt)
      .slice(0, limit);
    const freezes = this.gate.active();
    // The control topic and the audit topic are read apart: an approved freeze can be in force before its approval
    // is read back. A proposal whose alert is frozen is not waiting, whichever topic said so first.
    const frozenAlerts = new Set(freezes.map((f) => f.alertId));
    return {
      incidents,
      freezes,
      proposals: waitingProposals(this.audit).map((p) => p.freeze).filter((p) => !frozenAlerts.has(p.alertId)),
      tampered: this.gate.tampered,
      seen: { environments: [...new Set(all.map((a) => a.environment))].sort(), detectors: [...new Set(all.map((a) => a.detector))].sort() },
    };
  }

  async stop(): Promise<void> {
    await Promise.all([this.gate.stop(), this.alerts.stop(), this.auditFollower.stop()]);
  }
}
