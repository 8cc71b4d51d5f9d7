import type { Alert } from '../../alerts/alert.js';
import type { OutputSpec } from '../../config/schema.js';
import { postWithRetries } from '../http/post.js';
import { alertFilter, outputName, retrySettings, type AlertOutput } from './output.js';

type SlackSpec = Extract<OutputSpec, { type: 'slack' }>;

const ICON: Record<Alert['severity'], string> = { critical: ':red_circle:', warning: ':large_orange_circle:', info: ':large_blue_circle:' };

/** `{field}` in a link template, from the alert (URL-encoded). */
export function fillLink(template: string, a: Alert): string {
  const fields: Record<string, string> = { id: a.id, revision: String(a.revision), environment: a.environment, principal: a.principal, resourceType: a.resourceType, detector: a.detector };
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in fields ? encodeURIComponent(fields[k]!) : m));
}

const FREEZE_TEXT: Record<Alert['action'], string> = {
  none: 'not frozen', freeze: '*frozen* (signed freeze on the control topic)', 'freeze-dry-run': 'dry run: would have frozen',
  'freeze-proposed': 'freeze proposed: waiting for an operator', 'freeze-refused': 'freeze refused: the cap was reached', 'change-approved': 'inside an approved change: not frozen',
};

/** A Slack incoming-webhook message in blocks: severity, entity, reason, context, the freeze, and a link. */
export function slackMessage(a: Alert, linkTemplate: string | undefined): Record<string, unknown> {
  const title = `${a.closed ? 'RESOLVED ' : `${ICON[a.severity]} `}${a.severity.toUpperCase()} ${a.detector}: ${a.principal} in ${a.environment}`;
  const blocks: Array<Record<string, unknown>> = [
    { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150), emoji: true } },
    { type: 'section', fields: [
      { type: 'mrkdwn', text: `*Principal*\n${a.principal}` }, { type: 'mrkdwn', text: `*Environment*\n${a.environment}` },
      { type: 'mrkdwn', text: `*Resource type*\n${a.resourceType}` }, { type: 'mrkdwn', text: `*Freeze*\n${FREEZE_TEXT[a.action]}` },
    ] },
    { type: 'section', text: { type: 'mrkdwn', text: a.reason.slice(0, 2900) } },
  ];
  if (a.context.length) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: a.context.join(' · ').slice(0, 2900) }] });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `alert ${a.id} rev ${a.revision} · score ${a.score}` }] });
  if (linkTemplate) blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open incident' }, url: fillLink(linkTemplate, a) }] });
  return { text: title, blocks };
}

export function slackOutput(spec: SlackSpec, url: string): AlertOutput {
  return {
    name: outputName(spec), concurrency: spec.concurrency, type: 'slack', accepts: alertFilter(spec),
    deliver: (alert, hooks) => postWithRetries(url, JSON.stringify(slackMessage(alert, spec.linkTemplate)), { ...retrySettings(spec), ...hooks, headers: () => ({}) }),
  };
}
