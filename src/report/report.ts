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

/** Events per second by verb, and the highest finding score, in equal buckets from `start`. */
export interface Timeline {
  start: number;
  bucketMs: number;
  verbs: Verb[];
  counts: number[][];
  score: number[];
}

/** What the incident deleted of one resource type. */
export interface DeletedByType {
  resourceType: string;
  calls: number;
  objects: number;
  first: number;
  last: number;
}

/**
 * One resource's net change after the restore point: what to re-apply after restoring, or nothing when it was undone.
 * `net`: created (did not exist at the restore point), updated, deleted (existed, and a legitimate delete removed it),
 * or undone (created and deleted again after the restore point: nothing to re-apply).
 */
export interface NetChange {
  environment: string;
  resourceType: string;
  resourceId: string;
  net: 'created' | 'updated' | 'deleted' | 'undone';
  /** The last create, update or delete of the resource: its state after the restore point. */
  lastVerb: Verb;
  lastAction: string;
  lastTime: string;
  lastPrincipal: string;
  lastEventId: string;
  /** Calls on the resource after the restore point. */
  changes: number;
  firstTime: string;
}

export interface IncidentReport {
  generatedFrom: string;
  window: { from: string | null; to: string | null; events: number };
  incident: null | {
    alert: Alert;
    firstDestructiveEvent: RecordedChange;
    /** The last destructive call of the incident (by its principal, in its environment). */
    lastDestructiveEvent: RecordedChange;
    restorePoint: { time: string; epochMs: number; offsets: RestoreOffset[] };
    deleted: RecordedChange[];
    deletedObjects: number;
    deletedByType: DeletedByType[];
    /** Every legitimate change after the restore point, one per call. */
    reapply: RecordedChange[];
    /** The same, one row per resource: its net change (see NetChange). */
    netChanges: NetChange[];
    /** From a little before the restore point to a little after the last destructive event, finer than the overview. */
    timeline: Timeline;
  };
  /** The latest revision of each alert before it closed. */
  alerts: Alert[];
  /** Per alert id: raised (first revision), last revised, closed (null while open at the end of the window). */
  alertTimes: Record<string, { raised: number; lastRevision: number; closed: number | null }>;
  freezes: ReportRecorder['freezes'];
  /** The whole window. */
  timeline: Timeline;
  topPrincipals: Array<{ principal: string; events: number; writes: number; deletes: number }>;
}

/** The latest revision of each alert before it closed, in the order incidents were raised. */
function latestRevisions(alerts: readonly Alert[]): Alert[] {
  const byId = new Map<string, Alert>();
  for (const a of alerts) if (!a.closed || !byId.has(a.id)) byId.set(a.id, a);
  return [...byId.values()];
}

/** When each alert was raised (its first revision), last revised, and closed (its closing revision, if any). */
function alertTimes(alerts: readonly Alert[]): IncidentReport['alertTimes'] {
  const times: IncidentReport['alertTimes'] = {};
  for (const a of alerts) {
    const t = (times[a.id] ??= { raised: a.detectedAt, lastRevision: a.detectedAt, closed: null });
    if (a.closed) t.closed = a.detectedAt;
    else t.lastRevision = a.detectedAt;
  }
  return times;
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

/** The recorder's per-second counts and scores from `from` to `to` (epoch ms), in at most ~600 buckets. */
function timeline(rec: ReportRecorder, from = rec.from, to = rec.to): Timeline {
  if (!Number.isFinite(from) || !Number.isFinite(to)) return { start: 0, bucketMs: 1000, verbs: [...VERBS], counts: VERBS.map(() => []), score: [] };
  const startS = Math.floor(from / 1000);
  const spanS = Math.floor(to / 1000) - startS + 1;
  const perBucket = Math.max(1, Math.ceil(spanS / 600)); // at most ~600 points a series
  const buckets = Math.ceil(spanS / perBucket);
  const counts = VERBS.map(() => new Array<number>(buckets).fill(0));
  const score = new Array<number>(buckets).fill(0);
  for (const [s, c] of rec.perSecond) {
    const b = Math.floor((s - startS) / perBucket);
    if (b >= 0 && b < buckets) c.forEach((n, v) => (counts[v]![b]! += n));
  }
  for (const [s, v] of rec.scorePerSecond) {
    const b = Math.floor((s - startS) / perBucket);
    if (b >= 0 && b < buckets) score[b] = Math.max(score[b]!, v);
  }
  // Per-second rates, so the chart reads as events per second whatever the bucket size.
  return { start: startS * 1000, bucketMs: perBucket * 1000, verbs: [...VERBS], counts: counts.map((series) => series.map((n) => n / perBucket)), score };
}

function deletedByType(deleted: readonly RecordedChange[]): DeletedByType[] {
  const byType = new Map<string, DeletedByType>();
  for (const c of deleted) {
    const t = byType.get(c.resourceType);
    if (t) {
      t.calls++;
      t.objects += c.objectCount;
      t.last = Math.max(t.last, c.time);
      t.first = Math.min(t.first, c.time);
    } else byType.set(c.resourceType, { resourceType: c.resourceType, calls: 1, objects: c.objectCount, first: c.time, last: c.time });
  }
  return [...byType.values()].sort((a, b) => b.objects - a.objects || a.resourceType.localeCompare(b.resourceType));
}

/**
 * The re-apply list collapsed to one row per resource, in the order of their last change. A change without a
 * resource id (an account-level call) is its own row.
 */
export function netChanges(changes: readonly RecordedChange[]): NetChange[] {
  const byResource = new Map<string, RecordedChange[]>();
  for (const c of changes) {
    const key = c.resourceId ? `${c.environment}\u0000${c.resourceType}\u0000${c.resourceId}` : `\u0001${c.id}`;
    const list = byResource.get(key);
    if (list) list.push(c);
    else byResource.set(key, [c]);
  }
  const rows: NetChange[] = [];
  for (const list of byResource.values()) {
    const first = list[0]!;
    const last = list[list.length - 1]!;
    const created = first.verb === 'create';
    const net: NetChange['net'] = last.verb === 'delete' ? (created ? 'undone' : 'deleted') : created ? 'created' : 'updated';
    rows.push({
      environment: last.environment, resourceType: last.resourceType, resourceId: last.resourceId, net,
      lastVerb: last.verb, lastAction: last.action, lastTime: new Date(last.time).toISOString(), lastPrincipal: last.principal, lastEventId: last.id,
      changes: list.length, firstTime: new Date(first.time).toISOString(),
    });
  }
  return rows.sort((a, b) => (a.lastTime < b.lastTime ? -1 : a.lastTime > b.lastTime ? 1 : 0));
}

/** The net changes as CSV (RFC 4180: every field quoted), the columns in NetChange's order. */
export function netChangesCsv(rows: readonly NetChange[]): string {
  const columns: Array<keyof NetChange> = ['environment', 'resourceType', 'resourceId', 'net', 'lastVerb', 'lastAction', 'lastTime', 'lastPrincipal', 'lastEventId', 'changes', 'firstTime'];
  const quote = (v: unknown) => `"${String(v).replace(/"/g, '""')}"`;
  return [columns.join(','), ...rows.map((r) => columns.map((c) => quote(r[c])).join(','))].join('\r\n') + '\r\n';
}

export function buildReport(rec: ReportRecorder, alerts: readonly Alert[], source: string, alertId?: string): IncidentReport {
  const latest = latestRevisions(alerts);
  const chosen = chooseIncident(latest, alertId);
  if (alertId && !chosen) throw new Error(`no alert ${alertId} in this window (${latest.length} alerts raised${latest.length ? `: ${latest.slice(0, 3).map((a) => a.id).join(', ')}${latest.length > 3 ? ', …' : ''}` : ''})`);
  let incident: IncidentReport['incident'] = null;
  if (chosen) {
    const byPrincipal = rec.changes.filter((c) => c.principal === chosen.principal && c.environment === chosen.environment && c.verb === 'delete' && c.outcome === 'success');
    const first = byPrincipal.find((c) => c.time >= chosen.firstEventTime && c.resourceType === chosen.resourceType) ?? byPrincipal.find((c) => c.time >= chosen.firstEventTime);
    if (first) {
      // The incident's deletes: this principal's, in this environment, from its first one on (any resource type).
      const deleted = byPrincipal.filter((c) => c.time >= first.time);
      const last = deleted[deleted.length - 1]!;
      const reapply = rec.changes.filter((c) => c.time >= first.time && c.environment === chosen.environment && c.principal !== chosen.principal && c.outcome === 'success');
      // A little either side, so the restore point and the tail of the incident are not on the chart's edges.
      const margin = Math.max(30_000, Math.round((last.time - first.time) * 0.1));
      incident = {
        alert: chosen,
        firstDestructiveEvent: first,
        lastDestructiveEvent: last,
        restorePoint: { time: new Date(first.time - 1).toISOString(), epochMs: first.time - 1, offsets: restoreOffsets(rec, first) },
        deleted,
        deletedObjects: deleted.reduce((n, c) => n + c.objectCount, 0),
        deletedByType: deletedByType(deleted),
        reapply,
        netChanges: netChanges(reapply),
        timeline: timeline(rec, Math.max(rec.from, first.time - margin), Math.min(rec.to, last.time + margin)),
      };
    }
  }
  return {
    generatedFrom: source,
    window: { from: Number.isFinite(rec.from) ? new Date(rec.from).toISOString() : null, to: Number.isFinite(rec.to) ? new Date(rec.to).toISOString() : null, events: rec.events },
    incident,
    alerts: latest,
    alertTimes: alertTimes(alerts),
    freezes: rec.freezes,
    timeline: timeline(rec),
    topPrincipals: [...rec.principals].map(([principal, p]) => ({ principal, ...p })).sort((a, b) => b.writes - a.writes || b.events - a.events).slice(0, 10),
  };
}

export type { Position };
