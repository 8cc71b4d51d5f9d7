import type { DetectionOutput } from '../actions/freeze-stage.js';
import type { Finding } from '../detectors/detector.js';
import { VERBS, type AuditEvent, type Verb } from '../events/audit-event.js';
import type { EventProcessor } from '../pipeline/pipeline.js';
import type { SourceRecord } from '../sources/source.js';

export interface Position {
  topic: string;
  partition: number;
  offset: string;
}

/** A state-changing event, kept whole for the tables of a report. */
export interface RecordedChange {
  id: string;
  time: number;
  principal: string;
  action: string;
  verb: Verb;
  resourceType: string;
  resourceId: string;
  environment: string;
  outcome: AuditEvent['outcome'];
  objectCount: number;
  position: Position;
}

/**
 * Runs beside detection and remembers what a report needs. Every state-changing event is kept whole, with its
 * position. Reads are only counted, per second and per verb. Each record's position and event time are kept too,
 * so restore offsets can be named.
 */
export class ReportRecorder implements EventProcessor {
  readonly changes: RecordedChange[] = [];
  /** Seconds (epoch / 1000) → events per verb. */
  readonly perSecond = new Map<number, number[]>();
  /** Seconds → highest finding score. */
  readonly scorePerSecond = new Map<number, number>();
  /** Per topic-partition: offsets with the earliest event time each holds, in arrival order. */
  readonly positions = new Map<string, Array<{ offset: bigint; time: number }>>();
  readonly principals = new Map<string, { events: number; writes: number; deletes: number }>();
  /** Every freeze decision detection made, as it made it (in a report they are dry runs). */
  readonly freezes: Array<{ alertId: string; scopeKey: string; decision: string; at: number }> = [];
  from = Infinity;
  to = -Infinity;
  events = 0;

  constructor(private readonly detection: EventProcessor) {}

  /** Every finding of detection, alerting or not (the pipeline's onFinding). */
  readonly finding = (f: Finding): void => {
    const s = Math.floor(f.event.time / 1000);
    this.scorePerSecond.set(s, Math.max(this.scorePerSecond.get(s) ?? 0, f.score));
  };

  flush(out: DetectionOutput): void {
    this.recordingFreezes(out, () => this.detection.flush?.(out));
  }

  /** Runs detection and keeps the freeze decisions it added to `out`. */
  private recordingFreezes(out: DetectionOutput, detect: () => void): void {
    const decided = out.freezes.length;
    detect();
    for (const d of out.freezes.slice(decided)) this.freezes.push({ alertId: d.command.alertId, scopeKey: d.command.scopeKey, decision: d.kind, at: d.command.createdAt });
  }

  process(e: AuditEvent, out: DetectionOutput, record: SourceRecord): void {
    this.recordingFreezes(out, () => this.detection.process(e, out, record));
    this.events++;
    if (e.time < this.from) this.from = e.time;
    if (e.time > this.to) this.to = e.time;
    const s = Math.floor(e.time / 1000);
    let counts = this.perSecond.get(s);
    if (!counts) this.perSecond.set(s, (counts = VERBS.map(() => 0)));
    counts[VERBS.indexOf(e.verb)]!++;

    const partitionKey = `${record.topic}\u0000${record.partition}`;
    let list = this.positions.get(partitionKey);
    if (!list) this.positions.set(partitionKey, (list = []));
    const offset = BigInt(record.offset);
    const last = list.at(-1);
    if (last && last.offset === offset) last.time = Math.min(last.time, e.time);
    else list.push({ offset, time: e.time });

    const p = this.principals.get(e.principal.id) ?? { events: 0, writes: 0, deletes: 0 };
    p.events++;
    if (e.verb !== 'read') p.writes++;
    if (e.verb === 'delete') p.deletes++;
    this.principals.set(e.principal.id, p);

    if (e.verb === 'read') return;
    this.changes.push({
      id: e.id, time: e.time, principal: e.principal.id, action: e.action, verb: e.verb, resourceType: e.resource.type,
      resourceId: e.resource.id, environment: e.environment, outcome: e.outcome, objectCount: e.objectCount,
      position: { topic: record.topic, partition: record.partition, offset: record.offset },
    });
  }
}
