import type { Verb } from '../events/audit-event.js';
import type { RecordedChange } from './recorder.js';
import type { IncidentReport } from './report.js';

const MAX_ROWS = 500;
const VERB_COLOURS: Record<Verb, string> = { read: '#9aa5b1', create: '#2f9e44', update: '#1971c2', delete: '#e03131', other: '#f08c00' };

function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

interface Marker { at: number; label: string; colour: string; dashed?: boolean; id?: string }

/** A line chart as inline SVG: one polyline per series, vertical markers, and the time axis of the report. */
function chart(name: string, r: IncidentReport, series: Array<{ name: string; colour: string; values: number[] }>, markers: Marker[], guides: Array<{ y: number; label: string }> = []): string {
  const W = 960, H = 240, L = 48, R = 12, T = 14, B = 30;
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const max = Math.max(1, ...series.flatMap((s) => s.values), ...guides.map((g) => g.y * 1.2));
  const { start, bucketMs } = r.timeline;
  const x = (i: number) => L + ((W - L - R) * i) / Math.max(1, n - 1);
  const xAt = (ms: number) => x((ms - start) / bucketMs);
  const y = (v: number) => T + (H - T - B) * (1 - v / max);
  const lines = series.map((s) => `<polyline data-series="${esc(s.name)}" data-points="${s.values.length}" fill="none" stroke="${s.colour}" stroke-width="1.5" points="${s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`).join('');
  // Markers often fall within seconds of each other (alert, freeze, restore point): their labels step down, and
  // a label near the right edge is written leftwards.
  const marks = markers.filter((m) => m.at >= start && m.at <= start + n * bucketMs).sort((a, b) => a.at - b.at).map((m, k) => {
    const mx = xAt(m.at);
    const leftwards = mx > W - 200;
    return `<g class="marker" data-marker="${esc(m.label)}"${m.id ? ` id="${name}-${m.id}"` : ''}><line x1="${mx.toFixed(1)}" x2="${mx.toFixed(1)}" y1="${T}" y2="${H - B}" stroke="${m.colour}" stroke-width="1.5"${m.dashed ? ' stroke-dasharray="5,3"' : ''}/>` +
      `<text x="${(leftwards ? mx - 4 : mx + 4).toFixed(1)}" y="${T + 10 + (k % 8) * 13}" fill="${m.colour}" font-size="11" text-anchor="${leftwards ? 'end' : 'start'}">${esc(m.label)}</text></g>`;
  }).join('');
  const guideLines = guides.map((g) => `<line x1="${L}" x2="${W - R}" y1="${y(g.y).toFixed(1)}" y2="${y(g.y).toFixed(1)}" stroke="#adb5bd" stroke-dasharray="2,3"/><text x="${W - R - 60}" y="${(y(g.y) - 3).toFixed(1)}" font-size="10" fill="#868e96">${esc(g.label)}</text>`).join('');
  const ticks = [0, 0.5, 1].map((f) => `<text x="${(L + (W - L - R) * f).toFixed(1)}" y="${H - 10}" font-size="10" text-anchor="${f === 0 ? 'start' : f === 1 ? 'end' : 'middle'}" fill="#495057">${esc(iso(start + f * (n - 1) * bucketMs))}</text>`).join('');
  const legend = series.length > 1 ? `<div class="legend">${series.map((s) => `<span><i style="background:${s.colour}"></i>${esc(s.name)}</span>`).join('')}</div>` : '';
  return `<svg data-chart="${name}" data-points="${series.reduce((k, s) => k + s.values.filter((v) => v > 0).length, 0)}" viewBox="0 0 ${W} ${H}" width="100%" role="img">` +
    `<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#ced4da"/><line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#ced4da"/>` +
    `<text x="${L - 4}" y="${T + 8}" font-size="10" text-anchor="end" fill="#495057">${esc(+max.toFixed(1))}</text><text x="${L - 4}" y="${H - B}" font-size="10" text-anchor="end" fill="#495057">0</text>` +
    `${guideLines}${lines}${marks}${ticks}</svg>${legend}`;
}

function changesTable(id: string, rows: readonly RecordedChange[]): string {
  const shown = rows.slice(0, MAX_ROWS);
  const body = shown.map((c) => `<tr><td>${esc(iso(c.time))}</td><td>${esc(c.principal)}</td><td>${esc(c.action)}</td><td>${esc(c.resourceType)}</td><td>${esc(c.resourceId)}</td><td>${c.objectCount}</td><td>${esc(`${c.position.topic}/${c.position.partition}@${c.position.offset}`)}</td></tr>`).join('');
  const more = rows.length > shown.length ? `<p class="more">and ${rows.length - shown.length} more in the JSON report</p>` : '';
  return `<table id="${id}" data-rows="${rows.length}"><thead><tr><th>time</th><th>principal</th><th>action</th><th>resource type</th><th>resource</th><th>objects</th><th>position</th></tr></thead><tbody>${body}</tbody></table>${more}`;
}

/** One self-contained page (no scripts, no external assets): opens from a file anywhere. */
export function renderReportHtml(r: IncidentReport): string {
  const inc = r.incident;
  const markers: Marker[] = [
    ...r.alerts.map((a) => ({ at: a.detectedAt, label: `${a.severity} alert`, colour: a.severity === 'critical' ? '#c92a2a' : '#e8590c' })),
    ...r.freezes.map((f) => ({ at: f.at, label: `freeze (${f.decision})`, colour: '#1864ab' })),
    ...(inc ? [{ at: inc.restorePoint.epochMs, label: 'restore point', colour: '#2b8a3e', dashed: true, id: 'restore-marker' }] : []),
  ];
  const eventsChart = chart('events', r, r.timeline.verbs.map((v, i) => ({ name: v, colour: VERB_COLOURS[v], values: r.timeline.counts[i]! })), markers);
  const scoreChart = chart('score', r, [{ name: 'score', colour: '#862e9c', values: r.timeline.score }], markers, [{ y: 1, label: 'alert (1)' }, { y: 2, label: 'critical (2)' }]);
  const summary = inc
    ? `<section id="summary"><h2>${esc(inc.alert.severity)}: ${esc(inc.alert.principal)} in ${esc(inc.alert.environment)}</h2><p>${esc(inc.alert.reason)}</p>
       <p>Alert <code>${esc(inc.alert.id)}</code> (${esc(inc.alert.detector)}, action <b>${esc(inc.alert.action)}</b>), raised at ${esc(iso(inc.alert.detectedAt))}; ${inc.deleted.length} deletes (${inc.deletedObjects} objects) by this principal from the first one on.</p></section>
       <section><h2>First destructive event</h2><table id="first-event"><tr><th>time</th><td>${esc(iso(inc.firstDestructiveEvent.time))}</td></tr><tr><th>action</th><td>${esc(inc.firstDestructiveEvent.action)} ${esc(inc.firstDestructiveEvent.resourceType)} ${esc(inc.firstDestructiveEvent.resourceId)}</td></tr><tr><th>event id</th><td>${esc(inc.firstDestructiveEvent.id)}</td></tr><tr><th>position</th><td>${esc(`${inc.firstDestructiveEvent.position.topic} partition ${inc.firstDestructiveEvent.position.partition} offset ${inc.firstDestructiveEvent.position.offset}`)}</td></tr></table></section>
       <section id="restore-point" data-restore-time="${esc(inc.restorePoint.time)}"><h2>Restore point: ${esc(inc.restorePoint.time)}</h2><p>Restore state as of this moment, the last one before the first destructive event; then re-apply the legitimate changes below.</p>
       <table><thead><tr><th>topic</th><th>partition</th><th>last offset before</th><th>first offset from</th></tr></thead><tbody>${inc.restorePoint.offsets.map((o) => `<tr><td>${esc(o.topic)}</td><td>${o.partition}</td><td>${esc(o.lastOffsetBefore ?? '-')}</td><td>${esc(o.firstOffsetFrom ?? '-')}</td></tr>`).join('')}</tbody></table></section>`
    : '<section id="summary"><h2>No incident in this window</h2><p>No alert was raised; the charts show the traffic.</p></section>';
  const tables = inc
    ? `<section><h2>Deleted during the incident (${inc.deleted.length})</h2>${changesTable('deleted', inc.deleted)}</section>
       <section><h2>Legitimate changes after the restore point, to re-apply (${inc.reapply.length})</h2>${changesTable('reapply', inc.reapply)}</section>`
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>auditwatch incident report</title><style>
  body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1000px;color:#212529;padding:0 12px}
  h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 8px}code{background:#f1f3f5;padding:1px 4px;border-radius:3px}
  table{border-collapse:collapse;width:100%;font-size:12px}th,td{border-bottom:1px solid #e9ecef;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
  th{background:#f8f9fa}.legend span{margin-right:14px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
  .meta{color:#868e96}.more{color:#868e96;font-size:12px}#restore-point h2{color:#2b8a3e}</style></head><body>
  <h1>auditwatch incident report</h1><p class="meta">${esc(r.generatedFrom)} · ${esc(r.window.from)} to ${esc(r.window.to)} · ${r.window.events} events · ${r.alerts.length} alerts</p>
  ${summary}
  <section><h2>Events per second by verb</h2>${eventsChart}</section>
  <section><h2>Anomaly score over time</h2>${scoreChart}</section>
  ${tables}
  <section><h2>Top principals by writes</h2><table id="top-principals"><thead><tr><th>principal</th><th>events</th><th>writes</th><th>deletes</th></tr></thead><tbody>${r.topPrincipals.map((p) => `<tr><td>${esc(p.principal)}</td><td>${p.events}</td><td>${p.writes}</td><td>${p.deletes}</td></tr>`).join('')}</tbody></table></section>
  <section><h2>Alerts</h2><table id="alerts"><thead><tr><th>raised</th><th>severity</th><th>id</th><th>principal</th><th>reason</th></tr></thead><tbody>${r.alerts.map((a) => `<tr><td>${esc(iso(a.detectedAt))}</td><td>${esc(a.severity)}</td><td><code>${esc(a.id)}</code></td><td>${esc(a.principal)}</td><td>${esc(a.reason)}</td></tr>`).join('')}</tbody></table></section>
  </body></html>\n`;
}
