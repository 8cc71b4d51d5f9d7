import type { Alert } from '../alerts/alert.js';
import { esc, iso } from '../report/html.js';
import type { AlertFilter, ConsoleSnapshot, Incident } from './state.js';


const STYLE = `body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:16px auto;max-width:1200px;color:#212529;padding:0 12px}
h1{font-size:20px;margin:0}h2{font-size:16px;margin:18px 0 6px}table{border-collapse:collapse;width:100%;font-size:12px}
th,td{border-bottom:1px solid #e9ecef;padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}th{background:#f8f9fa;white-space:nowrap}
td.n{white-space:nowrap;overflow-wrap:normal}tr[data-alert-id] td{border-bottom:none;padding-bottom:0}tr.reason-row td{font-size:11px;color:#495057;padding-top:0}td.id{min-width:170px}td.p{min-width:200px}button{white-space:nowrap}
.sev-critical{color:#c92a2a;font-weight:600}.sev-warning{color:#e8590c;font-weight:600}.sev-info{color:#868e96}
form.filters{display:flex;gap:8px;flex-wrap:wrap;align-items:end;margin:10px 0}form.filters label{font-size:11px;color:#495057;display:flex;flex-direction:column}
button{font:inherit;font-size:12px;padding:3px 10px;border-radius:4px;border:1px solid #1864ab;background:#1864ab;color:#fff;cursor:pointer}button.lift{background:#fff;color:#1864ab}
#status{min-height:20px;margin:8px 0;font-size:13px}#status.error{color:#c92a2a}#status.ok{color:#2b8a3e}.meta{color:#868e96;font-size:12px}code{background:#f1f3f5;padding:1px 4px;border-radius:3px}
.closed{opacity:.6}`;

function layout(title: string, body: string, nonce: string, csrf: string, script = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="auditwatch-csrf" content="${esc(csrf)}"><title>${esc(title)}</title><style>${STYLE}</style></head>` +
    `<body>${body}${script ? `<script nonce="${esc(nonce)}">${script}</script>` : ''}</body></html>\n`;
}

export function alertRow(a: Alert): string {
  return `<tr data-alert-id="${esc(a.id)}"${a.closed ? ' class="closed"' : ''}><td class="n">${esc(iso(a.detectedAt))}</td><td class="n sev-${esc(a.severity)}">${esc(a.severity)}${a.closed ? ' (closed)' : ''}</td>` +
    `<td class="n">${esc(a.detector)}</td><td class="n">${esc(a.environment)}</td><td class="p">${esc(a.principal)}</td><td>${esc(a.resourceType)}</td><td class="n">${esc(a.action)}</td>` +
    `<td class="id"><a href="/incident/${encodeURIComponent(a.id)}">${esc(a.id)}</a> r${a.revision}</td></tr>` +
    `<tr class="reason-row"${a.closed ? ' class="closed"' : ''}><td colspan="8">${esc(a.reason)}${a.context.length ? ` <span class="meta">· ${esc(a.context.join(' · '))}</span>` : ''}</td></tr>`;
}

/** The three live tables, as the page first renders them and as its script re-renders them from /api/state. */
function tables(s: ConsoleSnapshot): string {
  const proposals = s.proposals.map((p) => `<tr data-proposal="${esc(p.alertId)}"><td class="p">${esc(p.scopeKey)}</td><td class="id"><a href="/incident/${encodeURIComponent(p.alertId)}">${esc(p.alertId)}</a></td><td>${esc(p.reason)}</td>` +
    `<td><button data-approve="${esc(p.alertId)}">Approve freeze</button></td></tr>`).join('');
  const freezes = s.freezes.map((f) => `<tr data-freeze="${esc(f.scopeKey)}"><td class="p">${esc(f.scopeKey)}</td><td class="n">${esc(f.issuedBy)}</td><td class="id"><a href="/incident/${encodeURIComponent(f.alertId)}">${esc(f.alertId)}</a></td>` +
    `<td class="n">${esc(iso(f.expiresAt))}</td><td>${esc(f.reason)}</td><td><button class="lift" data-lift="${esc(f.scopeKey)}">Lift</button></td></tr>`).join('');
  return `<section><h2>Waiting for approval (<span id="proposal-count">${s.proposals.length}</span>)</h2><table id="proposals"><thead><tr><th scope="col">scope</th><th scope="col">alert</th><th scope="col">reason</th><th scope="col"></th></tr></thead><tbody>${proposals}</tbody></table></section>` +
    `<section><h2>Frozen now (<span id="freeze-count">${s.freezes.length}</span>)</h2><table id="freezes"><thead><tr><th scope="col">scope</th><th scope="col">by</th><th scope="col">alert</th><th scope="col">expires</th><th scope="col">reason</th><th scope="col"></th></tr></thead><tbody>${freezes}</tbody></table></section>` +
    `<section><h2>Alerts (<span id="alert-count">${s.incidents.length}</span>)</h2><table id="alerts"><thead><tr><th scope="col">at</th><th scope="col">severity</th><th scope="col">detector</th><th scope="col">environment</th><th scope="col">principal</th><th scope="col">resource type</th><th scope="col">action</th><th scope="col">incident</th></tr></thead><tbody>${s.incidents.map(alertRow).join('')}</tbody></table></section>`;
}

/**
 * Every second the page asks /api/state for the tables again (with its filters), and the buttons post to
 * /api/approve and /api/lift with the page's CSRF token; the answer, or the refusal, is shown in #status.
 */
const LIVE_SCRIPT = `
const csrf = document.querySelector('meta[name="auditwatch-csrf"]').content;
const status = document.getElementById('status');
const say = (text, ok) => { status.textContent = text; status.className = ok ? 'ok' : 'error'; };
async function act(path, body) {
  try {
    const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-auditwatch-csrf': csrf }, body: JSON.stringify(body) });
    const answer = await res.json();
    say(answer.message ?? answer.error, res.ok);
    refresh();
  } catch (err) { say('the console did not answer: ' + err.message, false); }
}
document.addEventListener('click', (e) => {
  const t = e.target;
  if (t.dataset.approve) act('/api/approve', { alertId: t.dataset.approve });
  if (t.dataset.lift) act('/api/lift', { scopeKey: t.dataset.lift });
});
async function refresh() {
  try {
    const res = await fetch('/api/tables' + location.search, { headers: { accept: 'text/html' } });
    if (res.ok) document.getElementById('live').innerHTML = await res.text();
  } catch { /* the next tick tries again */ }
}
setInterval(refresh, 1000);
`;

export function consolePage(s: ConsoleSnapshot, filter: AlertFilter, ctx: { operator: string; cannotAct: string | null; nonce: string; csrf: string; topics: string }): string {
  const select = (name: keyof AlertFilter, values: string[]) => `<select name="${name}"><option value="">any</option>${values.map((v) => `<option${filter[name] === v ? ' selected' : ''}>${esc(v)}</option>`).join('')}</select>`;
  const body = `<h1>auditwatch console</h1><p class="meta">${esc(ctx.topics)} · operator <b id="operator">${esc(ctx.operator)}</b>${ctx.cannotAct ? ` · <span class="sev-warning" id="cannot-act">${esc(ctx.cannotAct)}</span>` : ''}</p>` +
    `<form class="filters" method="get"><label>severity at least${select('severity', ['info', 'warning', 'critical'])}</label><label>environment${select('environment', s.seen.environments)}</label>` +
    `<label>detector${select('detector', s.seen.detectors)}</label><label>principal contains<input name="principal" value="${esc(filter.principal ?? '')}"></label><button type="submit">Filter</button></form>` +
    `<div id="status" role="status"></div><div id="live">${renderTables(s)}</div>`;
  return layout('auditwatch console', body, ctx.nonce, ctx.csrf, LIVE_SCRIPT);
}

export function renderTables(s: ConsoleSnapshot): string {
  return `${s.tampered ? `<p class="sev-critical" id="tampered">${s.tampered} control record(s) refused as tampering: see the control-tamper alerts</p>` : ''}${tables(s)}`;
}

/** One incident: every revision the console has, with its reason, context and the windows behind it; and its report. */
export function incidentPage(inc: Incident, ctx: { nonce: string; csrf: string }): string {
  const a = inc.latest;
  const revisions = [...inc.revisions].reverse().map((r) => `<tr><td>r${r.revision}</td><td>${esc(iso(r.detectedAt))}</td><td class="sev-${esc(r.severity)}">${esc(r.severity)}${r.closed ? ' (closed)' : ''}</td><td>${esc(r.action)}</td>` +
    `<td>${r.eventCount} calls, ${r.objectCount} objects</td><td>${esc(r.reason)}${r.context.length ? `<div class="meta">${esc(r.context.join(' · '))}</div>` : ''}</td></tr>`).join('');
  const windows = a.windows.length ? `<h2>Windows (latest revision)</h2><table><thead><tr><th scope="col">window</th><th scope="col">unit</th><th scope="col">observed</th><th scope="col">learned baseline</th><th scope="col">threshold</th></tr></thead><tbody>${a.windows.map((w) => `<tr><td>${w.windowMs / 1000}s</td><td>${w.unit}</td><td>${w.observed}</td><td>${w.baseline}</td><td>${w.threshold}</td></tr>`).join('')}</tbody></table>` : '';
  const body = `<p><a href="/">← console</a></p><h1 class="sev-${esc(a.severity)}">${esc(a.severity)}: ${esc(a.principal)} in ${esc(a.environment)}</h1>` +
    `<p class="meta"><code>${esc(a.id)}</code> · ${esc(a.detector)} · ${esc(a.resourceType)} · first event ${esc(iso(a.firstEventTime))} · action ${esc(a.action)}</p>` +
    `<p><a id="report-link" href="/report/${encodeURIComponent(a.id)}">Incident report</a> <span class="meta">(replays the window around the incident with the live detection code; takes a few seconds)</span></p>` +
    `<h2>Revisions</h2><table id="revisions"><thead><tr><th scope="col">rev</th><th scope="col">at</th><th scope="col">severity</th><th scope="col">action</th><th scope="col">so far</th><th scope="col">reason and context</th></tr></thead><tbody>${revisions}</tbody></table>${windows}`;
  return layout(`auditwatch: ${a.id}`, body, ctx.nonce, ctx.csrf);
}

export function messagePage(title: string, message: string, ctx: { nonce: string; csrf: string }): string {
  return layout(title, `<p><a href="/">← console</a></p><h1>${esc(title)}</h1><p id="message">${esc(message)}</p>`, ctx.nonce, ctx.csrf);
}
