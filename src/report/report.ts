import type { Alert } from '../alerts/alert.js';
import { SEVERITY_RANK } from '../detectors/detector.js';
import { VERBS, type Verb } from '../events/audit-event.js';
import type { Position, RecordedChange, ReportRecorder } from './recorder.js';

export interface RestoreOffset {
  topic: string;
  partition: number;
  /** The last offset wholly before the incident: restore the state as of this record, then stop. */
  lastOffsetBefore: string | null;
  /** The first offset at or after the incident: replay the legitimate changes from here. */
  firstOffsetFrom: string | null;
}

export interface IncidentReport {
  generatedFrom: string;
  window: { from: string | null; to: string | null; events: number };
  incident: null | {
    alert: Alert;
    firstDestructiveEvent: RecordedChange;
    restorePoint: { time: string; epochMs: number; offsets: RestoreOffset[] };
    deleted: RecordedChange[];
    deletedObjects: number;
    reapply: RecordedChange[];
  };
  alerts: Alert[];
  freezes: ReportRecorder['freezes'];
  timeline: { start: number; bucketMs: number; verbs: Verb[]; counts: number[][]; score: number[] };
  topPrincipals: Array<{ principal: string; events: number; writes: number; deletes: number }>;
}

/** The latest revision of each alert, in the order incidents were raised. */
function latestRevisions(alerts: readonly Alert[]): Alert[] {
  const byId = new Map<string, Alert>();
  for (const a of alerts) byId.set(a.id, a);
  return [...byId.values()];
}

/** Which incident the report is about: the one asked for, else the first critical one, else the highest score. */
function chooseIncident(alerts: Alert[], alertId: string | undefined): Alert | undefined {
  if (alertId) return alerts.find((a) => a.id === alertId);
  const critical = alerts.filter((a) => a.severity === 'critical' && a.detector !== 'freeze-cap');
  if (critical.length) return critical.reduce((a, b) => (b.firstEventTime < a.firstEventTime ? b : a));
  return [...alerts].sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || b.score - a.score)[0];
}

function restoreOffsets(rec: ReportRecorder, first: RecordedChange): RestoreOffset[] {
  const out: RestoreOffset[] = [];
  const firstOffset = BigInt(first.position.offset);
  for (const [key, list] of [...rec.positions].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [topic, partition] = key.split('\u0000') as [string, string];
    const samePartition = topic === first.position.topic && Number(partition) === first.position.partition;
    let before: bigint | null = null;
    let from: bigint | null = null;
    for (const { offset, time } of list) {
      const isBefore = samePartition ? offset < firstOffset : time < first.time;
      if (isBefore) before = before === null || offset > before ? offset : before;
      else if (from === null || offset < from) from = offset;
    }
    out.push({ topic, partition: Number(partition), lastOffsetBefore: before?.toString() ?? null, firstOffsetFrom: from?.toString() ?? null });
  }
  return out;
}

function timeline(rec: ReportRecorder): IncidentReport['timeline'] {
  if (!Number.isFinite(rec.from)) return { start: 0, bucketMs: 1000, verbs: [...VERBS], counts: VERBS.map(() => []), score: [] };
  const startS = Math.floor(rec.from / 1000);
  const spanS = Math.floor(rec.to / 1000) - startS + 1;
  const perBucket = Math.max(1, Math.ceil(spanS / 600)); // at most ~600 points a series
  const buckets = Math.ceil(spanS / perBucket);
  const counts = VERBS.map(() => new Array<number>(buckets).fill(0));
  const score = new Array<number>(buckets).fill(0);
  for (const [s, c] of rec.perSecond) {
    const b = Math.floor((s - startS) / perBucket);
    c.forEach((n, v) => (counts[v]![b]! += n));
  }
  for (const [s, v] of rec.scorePerSecond) {
    const b = Math.floor((s - startS) / perBucket);
    if (b >= 0 && b < buckets) score[b] = Math.max(score[b]!, v);
  }
  // Per-second rates, so the chart reads as events per second whatever the bucket size.
  return { start: startS * 1000, bucketMs: perBucket * 1000, verbs: [...VERBS], counts: counts.map((series) => series.map((n) => n / perBucket)), score };
}

export function buildReport(rec: ReportRecorder, alerts: readonly Alert[], source: string, alertId?: string): IncidentReport {
  const latest = latestRevisions(alerts);
  const chosen = chooseIncident(latest, alertId);
  if (alertId && !chosen) throw new Error(`no alert ${alertId} in this window (${latest.length} alerts raised)`);
  let incident: IncidentReport['incident'] = null;
  if (chosen) {
    const byPrincipal = rec.changes.filter((c) => c.principal === chosen.principal && c.environment === chosen.environment && c.verb === 'delete' && c.outcome === 'success');
    const first = byPrincipal.find((c) => c.time >= chosen.firstEventTime && c.resourceType === chosen.resourceType) ?? byPrincipal.find((c) => c.time >= chosen.firstEventTime);
    if (first) {
      // The incident's deletes: this principal's, in this environment, from its first one on (any resource type).
      const deleted = byPrincipal.filter((c) => c.time >= first.time);
      const reapply = rec.changes.filter((c) => c.time >= first.time && c.environment === chosen.environment && c.principal !== chosen.principal && c.outcome === 'success');
      incident = {
        alert: chosen,
        firstDestructiveEvent: first,
        restorePoint: { time: new Date(first.time - 1).toISOString(), epochMs: first.time - 1, offsets: restoreOffsets(rec, first) },
        deleted,
        deletedObjects: deleted.reduce((n, c) => n + c.objectCount, 0),
        reapply,
      };
    }
  }
  return {
    generatedFrom: source,
    window: { from: Number.isFinite(rec.from) ? new Date(rec.from).toISOString() : null, to: Number.isFinite(rec.to) ? new Date(rec.to).toISOString() : null, events: rec.events },
    incident,
    alerts: latest,
    freezes: rec.freezes,
    timeline: timeline(rec),
    topPrincipals: [...rec.principals].map(([principal, p]) => ({ principal, ...p })).sort((a, b) => b.writes - a.writes || b.events - a.events).slice(0, 10),
  };
}

export type { Position };
