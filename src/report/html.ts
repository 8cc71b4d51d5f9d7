import type { Verb } from '../events/audit-event.js';
import type { RecordedChange } from './recorder.js';
import type { DeletedByType, IncidentReport, NetChange, Timeline } from './report.js';

const MAX_ROWS = 500;
const VERB_COLOURS: Record<Verb, string> = { read: '#9aa5b1', create: '#2f9e44', update: '#1971c2', delete: '#e03131', other: '#f08c00' };
const NET_TEXT: Record<NetChange['net'], string> = {
  created: 'created: re-create', updated: 'updated: re-apply', deleted: 'deleted: delete again', undone: 'undone: nothing to do',
};

/** Text for HTML, escaped. */
export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A time as ISO-8601 UTC, without the milliseconds when they are zero. */
export function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** "Nice" steps for an axis up to `max`: 1, 2 or 5 × a power of ten, about `count` of them. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough)!;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(+v.toFixed(10));
  if (ticks[ticks.length - 1]! < max) ticks.push(+(ticks[ticks.length - 1]! + step).toFixed(10));
  return ticks;
}

const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map((s) => s * 1000);

/** Ticks on whole UTC seconds, minutes or hours, about `count` of them between `from` and `to`. */
export function timeTicks(from: number, to: number, count = 9): number[] {
  const step = TIME_STEPS.find((s) => (to - from) / s <= count) ?? 86_400_000 * Math.ceil((to - from) / 86_400_000 / count);
  const ticks: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) ticks.push(t);
  return ticks;
}

/** A tick's label: as much of the UTC time as the step needs, the date on the first tick and where it changes. */
function timeLabel(t: number, step: number, previous: number | undefined): string {
  const s = new Date(t).toISOString();
  const time = step < 60_000 ? s.slice(11, 19) : s.slice(11, 16);
  return previous === undefined || s.slice(0, 10) !== new Date(previous).toISOString().slice(0, 10) ? `${s.slice(5, 10)} ${time}` : time;
}

interface Marker { at: number; label: string; colour: string; dashed?: boolean; id?: string }

interface ChartSpec {
  name: string;
  title: string;
  timeline: Timeline;
  series: Array<{ name: string; colour: string; values: number[] }>;
  markers: Marker[];
  unit: string;
  guides?: Array<{ y: number; label: string }>;
}

const BADGE = 9; // radius of a marker's numbered badge
const LANE = 2 * BADGE + 4;

/**
 * Places the markers' numbered badges above the plot: each in the first lane where it overlaps no badge already
 * there, so no two ever overlap, however close in time the markers are. Returns each badge's lane, and the lanes used.
 */
export function badgeLanes(xs: readonly number[]): { lanes: number[]; used: number } {
  const ends: number[] = [];
  const lanes = xs.map((x) => {
    let lane = ends.findIndex((end) => x - BADGE >= end + 2);
    if (lane < 0) lane = ends.push(-Infinity) - 1;
    ends[lane] = x + BADGE;
    return lane;
  });
  return { lanes, used: ends.length };
}

/**
 * A line chart as inline SVG: the series, gridlines on nice ticks with the unit, UTC time ticks, and vertical
 * markers numbered in badges that never overlap, explained in a legend under the chart.
 */
function chart(c: ChartSpec): string {
  const { timeline: tl } = c;
  const n = Math.max(1, ...c.series.map((s) => s.values.length));
  const start = tl.start;
  const end = start + (n - 1) * tl.bucketMs;
  const markers = c.markers.filter((m) => m.at >= start - tl.bucketMs && m.at <= end + tl.bucketMs).sort((a, b) => a.at - b.at);
  const W = 960, L = 56, R = 16;
  const plotW = W - L - R;
  const xAt = (ms: number) => L + (end > start ? (plotW * (Math.min(Math.max(ms, start), end) - start)) / (end - start) : plotW / 2);
  const badgeX = markers.map((m) => xAt(m.at));
  const { lanes, used } = badgeLanes(badgeX);
  const T = 8 + used * LANE + 6, B = 34, plotH = 180, H = T + plotH + B;
  const peak = Math.max(0, ...c.series.flatMap((s) => s.values), ...(c.guides ?? []).map((g) => g.y * 1.15));
  const yTicks = niceTicks(peak || 1, 4);
  const max = yTicks[yTicks.length - 1]!;
  const y = (v: number) => T + plotH * (1 - v / max);
  const x = (i: number) => L + (n > 1 ? (plotW * i) / (n - 1) : plotW / 2);
  const grid = yTicks.map((v) => `<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="${v === 0 ? '#adb5bd' : '#edf0f2'}"/>` +
    `<text x="${L - 6}" y="${(y(v) + 3.5).toFixed(1)}" font-size="10" text-anchor="end" fill="#495057">${esc(+v.toPrecision(6))}</text>`).join('');
  const tTicks = timeTicks(start, end);
  const step = tTicks.length > 1 ? tTicks[1]! - tTicks[0]! : tl.bucketMs;
  const times = tTicks.map((t, k) => `<line x1="${xAt(t).toFixed(1)}" x2="${xAt(t).toFixed(1)}" y1="${T}" y2="${T + plotH + 4}" stroke="#edf0f2"/>` +
    `<text x="${xAt(t).toFixed(1)}" y="${T + plotH + 16}" font-size="10" text-anchor="${xAt(t) > W - R - 40 ? 'end' : xAt(t) < L + 40 ? 'start' : 'middle'}" fill="#495057">${esc(timeLabel(t, step, tTicks[k - 1]))}</text>`).join('');
  const lines = c.series.map((s) => `<polyline data-series="${esc(s.name)}" fill="none" stroke="${s.colour}" stroke-width="1.5" points="${s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`).join('');
  // Guide labels close in height (alert 1 and critical 2 on a scale of 30) go side by side, not on top of each other.
  let labelEnd = W - R - 4;
  let lastLabelY = Infinity;
  const guides = (c.guides ?? []).map((g) => {
    const gy = y(g.y);
    labelEnd = Math.abs(gy - lastLabelY) < 12 ? labelEnd - 8 - g.label.length * 6 : W - R - 4;
    lastLabelY = gy;
    return `<line x1="${L}" x2="${W - R}" y1="${gy.toFixed(1)}" y2="${gy.toFixed(1)}" stroke="#868e96" stroke-dasharray="2,3"/>` +
      `<text class="guide-label" x="${labelEnd}" y="${(gy - 3).toFixed(1)}" font-size="10" text-anchor="end" fill="#868e96">${esc(g.label)}</text>`;
  }).join('');
  const marks = markers.map((m, k) => {
    const mx = badgeX[k]!;
    const cy = 8 + lanes[k]! * LANE + BADGE;
    return `<g class="marker" data-marker="${esc(m.label)}"${m.id ? ` id="${c.name}-${m.id}"` : ''}>` +
      `<line x1="${mx.toFixed(1)}" x2="${mx.toFixed(1)}" y1="${cy + BADGE}" y2="${T + plotH}" stroke="${m.colour}" stroke-width="1.5"${m.dashed ? ' stroke-dasharray="5,3"' : ''}/>` +
      `<g class="marker-label" data-n="${k + 1}"><title>${esc(`${k + 1}: ${m.label} at ${iso(m.at)}`)}</title><circle cx="${mx.toFixed(1)}" cy="${cy}" r="${BADGE}" fill="${m.colour}"/>` +
      `<text x="${mx.toFixed(1)}" y="${cy + 3.5}" font-size="${k + 1 > 9 ? 9 : 11}" font-weight="600" text-anchor="middle" fill="#fff">${k + 1}</text></g></g>`;
  }).join('');
  const axisTitle = `<text x="12" y="${(T + plotH / 2).toFixed(1)}" font-size="10" fill="#495057" text-anchor="middle" transform="rotate(-90 12 ${(T + plotH / 2).toFixed(1)})">${esc(c.unit)}</text>` +
    `<text x="${W - R}" y="${H - 4}" font-size="10" text-anchor="end" fill="#868e96">UTC</text>`;
  const points = c.series.reduce((k, s) => k + s.values.filter((v) => v > 0).length, 0);
  const svg = `<svg data-chart="${c.name}" data-points="${points}" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-labelledby="${c.name}-title">` +
    `<title id="${c.name}-title">${esc(c.title)}, ${esc(iso(start))} to ${esc(iso(end))}</title>${grid}${times}${guides}${lines}${marks}${axisTitle}</svg>`;
  const seriesLegend = c.series.length > 1 ? c.series.map((s) => `<span><i style="background:${s.colour}"></i>${esc(s.name)}</span>`).join('') : '';
  const markerLegend = markers.map((m, k) => `<li data-n="${k + 1}"><b style="background:${m.colour}">${k + 1}</b>${esc(m.label)} <span class="meta">${esc(iso(m.at))}</span></li>`).join('');
  return `${svg}<div class="legend">${seriesLegend}</div>${markerLegend ? `<ol class="markers" data-chart="${c.name}">${markerLegend}</ol>` : ''}`;
}

/** What the incident deleted, per resource type, as horizontal bars (objects; calls alongside). */
function deletedBars(rows: readonly DeletedByType[]): string {
  const shown = rows.slice(0, 12);
  const W = 960, labelW = 300, valueW = 150, rowH = 22;
  const H = shown.length * rowH + 6;
  const max = Math.max(1, ...shown.map((r) => r.objects));
  const bars = shown.map((r, i) => {
    const w = ((W - labelW - valueW) * r.objects) / max;
    const yy = i * rowH + 3;
    return `<g class="bar" data-type="${esc(r.resourceType)}" data-objects="${r.objects}"><text x="${labelW - 8}" y="${yy + 14}" font-size="12" text-anchor="end" fill="#212529">${esc(r.resourceType)}</text>` +
      `<rect x="${labelW}" y="${yy}" width="${Math.max(1, w).toFixed(1)}" height="${rowH - 6}" fill="#e03131" rx="2"/>` +
      `<text x="${(labelW + w + 6).toFixed(1)}" y="${yy + 13}" font-size="11" fill="#495057">${r.objects} objects, ${r.calls} calls</text></g>`;
  }).join('');
  const more = rows.length > shown.length ? `<p class="meta">and ${rows.length - shown.length} more types in the table below</p>` : '';
  return `<svg data-chart="deleted-by-type" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-labelledby="deleted-by-type-title"><title id="deleted-by-type-title">Objects deleted during the incident, per resource type</title>${bars}</svg>${more}`;
}

function callsTable(rows: readonly RecordedChange[]): string {
  const shown = rows.slice(0, MAX_ROWS);
  const body = shown.map((c) => `<tr><td class="t">${esc(iso(c.time))}</td><td>${esc(c.action)}</td><td>${esc(c.resourceId)}</td><td>${c.objectCount}</td><td>${esc(`${c.position.topic}/${c.position.partition}@${c.position.offset}`)}</td></tr>`).join('');
  const more = rows.length > shown.length ? `<p class="more">and ${rows.length - shown.length} more in the JSON report</p>` : '';
  return `<table><thead><tr><th scope="col">time</th><th scope="col">action</th><th scope="col">resource</th><th scope="col">objects</th><th scope="col">position</th></tr></thead><tbody>${body}</tbody></table>${more}`;
}

/** The incident's deletes, one summary row per resource type, each expandable to its calls. */
function deletedTable(inc: NonNullable<IncidentReport['incident']>): string {
  const groups = inc.deletedByType.map((t) => {
    const calls = inc.deleted.filter((c) => c.resourceType === t.resourceType);
    return `<details data-type="${esc(t.resourceType)}"><summary><b>${esc(t.resourceType)}</b>: ${t.calls} calls, ${t.objects} objects, ${esc(iso(t.first))} to ${esc(iso(t.last))}</summary>${callsTable(calls)}</details>`;
  }).join('');
  return `<div id="deleted" data-rows="${inc.deleted.length}" data-types="${inc.deletedByType.length}">${groups}</div>`;
}

function netTable(rows: readonly NetChange[], exports: ReportExports | undefined): string {
  const shown = rows.slice(0, MAX_ROWS);
  const body = shown.map((r) => `<tr data-net="${r.net}"><td>${esc(r.resourceType)}</td><td>${esc(r.resourceId)}</td><td>${esc(NET_TEXT[r.net])}</td><td>${esc(r.lastAction)}</td><td class="t">${esc(r.lastTime.replace('.000Z', 'Z'))}</td><td>${esc(r.lastPrincipal)}</td><td>${r.changes}</td></tr>`).join('');
  const more = rows.length > shown.length ? `<p class="more">and ${rows.length - shown.length} more in the CSV and JSON</p>` : '';
  const links = exports ? `<p class="exports">Download: <a href="${esc(exports.csv)}" download>CSV</a> · <a href="${esc(exports.json)}" download>JSON</a></p>` : '';
  return `${links}<table id="reapply" data-rows="${rows.length}"><caption>One row per resource: its state after the restore point</caption><thead><tr><th scope="col">resource type</th><th scope="col">resource</th><th scope="col">net change</th><th scope="col">last call</th><th scope="col">at</th><th scope="col">by</th><th scope="col">calls</th></tr></thead><tbody>${body}</tbody></table>${more}`;
}

/** File names of the re-apply exports, relative to the page (written next to it). */
export interface ReportExports { csv: string; json: string }

/** One self-contained page (no scripts, no external assets): opens from a file anywhere. */
export function renderReportHtml(r: IncidentReport, exports?: ReportExports): string {
  const inc = r.incident;
  const markers: Marker[] = [
    ...r.alerts.map((a) => ({ at: r.alertTimes[a.id]?.raised ?? a.detectedAt, label: `${a.severity} ${a.detector} alert ${a.id} raised`, colour: a.severity === 'critical' ? '#c92a2a' : a.severity === 'warning' ? '#e8590c' : '#868e96' })),
    ...r.freezes.map((f) => ({ at: f.at, label: `freeze ${f.decision}: ${f.scopeKey}`, colour: '#1864ab' })),
    ...(inc ? [{ at: inc.restorePoint.epochMs, label: 'restore point', colour: '#2b8a3e', dashed: true, id: 'restore-marker' }] : []),
  ];
  const verbSeries = (tl: Timeline) => tl.verbs.map((v, i) => ({ name: v, colour: VERB_COLOURS[v], values: tl.counts[i]! }));
  const scoreGuides = [{ y: 1, label: 'alert (1)' }, { y: 2, label: 'critical (2)' }];
  const charts = inc
    ? `<section id="incident-charts"><h2>The incident: events per second by verb</h2>${chart({ name: 'incident', title: 'Events per second by verb during the incident', timeline: inc.timeline, series: verbSeries(inc.timeline), markers, unit: 'events/s' })}
       <h2>The incident: anomaly score</h2>${chart({ name: 'incident-score', title: 'Anomaly score during the incident', timeline: inc.timeline, series: [{ name: 'score', colour: '#862e9c', values: inc.timeline.score }], markers, unit: 'score', guides: scoreGuides })}</section>`
    : '';
  const overview = `<section id="overview"><h2>The whole window: events per second by verb</h2>${chart({ name: 'events', title: 'Events per second by verb over the whole window', timeline: r.timeline, series: verbSeries(r.timeline), markers, unit: 'events/s' })}
    <h2>The whole window: anomaly score</h2>${chart({ name: 'score', title: 'Anomaly score over the whole window', timeline: r.timeline, series: [{ name: 'score', colour: '#862e9c', values: r.timeline.score }], markers, unit: 'score', guides: scoreGuides })}</section>`;
  const glance = inc
    ? `<section id="summary"><h2 class="sev-${esc(inc.alert.severity)}">${esc(inc.alert.severity)}: ${esc(inc.alert.principal)} in ${esc(inc.alert.environment)}</h2>
       <dl class="glance">
         <div id="started"><dt>Started</dt><dd>${esc(iso(inc.firstDestructiveEvent.time))}<span class="meta">${esc(inc.firstDestructiveEvent.action)} ${esc(inc.firstDestructiveEvent.resourceId)}</span></dd></div>
         <div id="restore-point" data-restore-time="${esc(inc.restorePoint.time)}"><dt>Restore from</dt><dd><h2>Restore point: ${esc(inc.restorePoint.time)}</h2><span class="meta">${inc.restorePoint.offsets.map((o) => `${esc(o.topic)}/${o.partition} up to offset ${esc(o.lastOffsetBefore ?? '-')}`).join('; ')}</span></dd></div>
         <div><dt>Deleted</dt><dd>${inc.deletedObjects} objects in ${inc.deleted.length} calls, ${esc(iso(inc.firstDestructiveEvent.time))} to ${esc(iso(inc.lastDestructiveEvent.time))}</dd></div>
         <div><dt>Alert</dt><dd><code>${esc(inc.alert.id)}</code> ${esc(inc.alert.detector)}, raised ${esc(iso(r.alertTimes[inc.alert.id]?.raised ?? inc.alert.detectedAt))}${r.alertTimes[inc.alert.id]?.closed ? `, closed ${esc(iso(r.alertTimes[inc.alert.id]!.closed!))}` : ''}; action <b>${esc(inc.alert.action)}</b></dd></div>
       </dl>
       <h3>Deleted by resource type</h3>${deletedBars(inc.deletedByType)}
       <p class="reason">${esc(inc.alert.reason)}</p></section>`
    : '<section id="summary"><h2>No incident in this window</h2><p>No alert was raised; the charts show the traffic.</p></section>';
  const restore = inc
    ? `<section id="restore-offsets"><h2>Where to restore from</h2><p>Restore state as of ${esc(inc.restorePoint.time)}, the last moment before the first destructive event (${esc(inc.firstDestructiveEvent.id)} at ${esc(`${inc.firstDestructiveEvent.position.topic}/${inc.firstDestructiveEvent.position.partition}@${inc.firstDestructiveEvent.position.offset}`)}); then re-apply the net changes below.</p>
       <table><thead><tr><th scope="col">topic</th><th scope="col">partition</th><th scope="col">last offset before</th><th scope="col">first offset from</th></tr></thead><tbody>${inc.restorePoint.offsets.map((o) => `<tr><td>${esc(o.topic)}</td><td>${o.partition}</td><td>${esc(o.lastOffsetBefore ?? '-')}</td><td>${esc(o.firstOffsetFrom ?? '-')}</td></tr>`).join('')}</tbody></table></section>`
    : '';
  const tables = inc
    ? `<section><h2>Deleted during the incident: ${inc.deleted.length} calls in ${inc.deletedByType.length} resource types</h2>${deletedTable(inc)}</section>
       <section><h2>To re-apply after the restore: ${inc.netChanges.filter((c) => c.net !== 'undone').length} resources (${inc.reapply.length} calls by others)</h2>${netTable(inc.netChanges, exports)}</section>`
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>auditwatch incident report${inc ? `: ${esc(inc.alert.principal)} in ${esc(inc.alert.environment)}` : ''}</title><style>
  body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:16px auto;max-width:1000px;color:#212529;padding:0 12px}
  h1{font-size:20px;margin:0 0 2px}h2{font-size:16px;margin:18px 0 6px}h3{font-size:13px;margin:10px 0 4px;color:#495057}code{background:#f1f3f5;padding:1px 4px;border-radius:3px}
  table{border-collapse:collapse;width:100%;font-size:12px}caption{text-align:left;color:#868e96;font-size:12px;padding:2px 0}th,td{border-bottom:1px solid #e9ecef;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
  th{background:#f8f9fa}.legend span{margin-right:14px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
  ol.markers{list-style:none;padding:0;margin:4px 0 0;font-size:12px;columns:2}ol.markers li{margin:1px 0;break-inside:avoid}ol.markers b{display:inline-block;min-width:16px;height:16px;line-height:16px;border-radius:8px;color:#fff;text-align:center;font-size:10px;margin-right:6px}
  dl.glance{display:grid;grid-template-columns:repeat(4,1fr);gap:8px;margin:8px 0}dl.glance div{background:#f8f9fa;border-radius:6px;padding:6px 10px}dt{font-size:11px;text-transform:uppercase;color:#868e96}dd{margin:0;font-weight:600;font-size:13px}dd .meta{display:block;font-weight:400;font-size:11px;overflow-wrap:anywhere}
  #restore-point h2{font-size:14px;margin:0;color:#2b8a3e}.sev-critical{color:#c92a2a}.sev-warning{color:#e8590c}
  details{border-bottom:1px solid #e9ecef;padding:4px 0}summary{cursor:pointer}.meta{color:#868e96}.more{color:#868e96;font-size:12px}.reason{font-size:12px;color:#495057}td.t{white-space:nowrap}</style></head><body>
  <h1>auditwatch incident report</h1><p class="meta">${esc(r.generatedFrom)} · ${esc(r.window.from)} to ${esc(r.window.to)} · ${r.window.events} events · ${r.alerts.length} alerts</p>
  ${glance}
  ${charts}
  ${restore}
  ${tables}
  ${overview}
  <section><h2>Top principals by writes</h2><table id="top-principals"><thead><tr><th scope="col">principal</th><th scope="col">events</th><th scope="col">writes</th><th scope="col">deletes</th></tr></thead><tbody>${r.topPrincipals.map((p) => `<tr><td>${esc(p.principal)}</td><td>${p.events}</td><td>${p.writes}</td><td>${p.deletes}</td></tr>`).join('')}</tbody></table></section>
  <section><h2>Alerts</h2><table id="alerts"><thead><tr><th scope="col">raised</th><th scope="col">closed</th><th scope="col">severity</th><th scope="col">id</th><th scope="col">principal</th><th scope="col">reason</th></tr></thead><tbody>${r.alerts.map((a) => `<tr><td class="t">${esc(iso(r.alertTimes[a.id]?.raised ?? a.detectedAt))}</td><td class="t">${r.alertTimes[a.id]?.closed ? esc(iso(r.alertTimes[a.id]!.closed!)) : 'open'}</td><td>${esc(a.severity)}</td><td><code>${esc(a.id)}</code></td><td>${esc(a.principal)}</td><td>${esc(a.reason)}</td></tr>`).join('')}</tbody></table></section>
  </body></html>\n`;
}
