import { DecodeError } from '../errors.js';
import type { AuditEvent, Verb } from '../events/audit-event.js';
import { stableId } from '../util/hash.js';
import type { DecodeContext, DecodeResult } from './context.js';
import { parseDocument } from './envelopes.js';
import { isObject, optionalString, parseTime, type JsonObject } from './json.js';

const OPERATION_VERBS: Record<string, Verb> = { create: 'create', remove: 'delete', modify: 'update', access: 'read', transfer: 'update' };
const ACTION_VERBS: Array<[RegExp, Verb]> = [
  [/(destroy|delete|remove|remove_member|revoke)$/, 'delete'],
  [/(create|add|add_member|import|clone|invite)$/, 'create'],
  // Turning a protection off (secret scanning, Dependabot, an IP allow list) changes state: an update, as in CloudTrail.
  [/(update|rename|edit|change|transfer|archived|unarchived|access|visibility_change|enable|disable|reinstate|policy_override)/, 'update'],
  [/(clone|download|view|read|search)$/, 'read'],
];

/** `repo.destroy` → delete; the event's own `operation_type` first where it has one. */
export function githubVerb(action: string, operationType: string | undefined): Verb {
  const known = operationType && OPERATION_VERBS[operationType];
  if (known) return known;
  const what = action.slice(action.indexOf('.') + 1);
  for (const [re, verb] of ACTION_VERBS) if (re.test(what)) return verb;
  return 'other';
}

/** An organisation (or enterprise) audit-log event: a dotted `action` by an `actor`. */
export function looksLikeGithub(doc: unknown): boolean {
  if (Array.isArray(doc)) return doc.length > 0 && looksLikeGithub(doc[0]);
  return isObject(doc) && typeof doc.action === 'string' && /^[a-z_]+(\.[a-z_.]+)?$/.test(doc.action) && ('actor' in doc) && ('org' in doc || 'business' in doc || 'repo' in doc || 'repository' in doc);
}

function timeOf(e: JsonObject): number {
  const raw = e['@timestamp'] ?? e.created_at ?? e.at_sign_timestamp;
  if (typeof raw === 'number') return raw;
  const text = optionalString(raw);
  if (!text) throw new DecodeError('DECODE_MISSING_FIELD', 'github-audit: @timestamp (or created_at) is missing');
  return parseTime(text, 'github-audit: @timestamp');
}

export function githubEventToEvent(e: JsonObject, ctx: DecodeContext): AuditEvent {
  const action = optionalString(e.action);
  if (!action) throw new DecodeError('DECODE_MISSING_FIELD', 'github-audit: action is missing');
  const time = timeOf(e);
  const actor = optionalString(e.actor) ?? 'unknown';
  const org = optionalString(e.org) ?? optionalString(e.business);
  const repo = optionalString(e.repo) ?? optionalString(e.repository);
  const bot = e.actor_is_bot === true || actor.endsWith('[bot]');
  return {
    id: `github:${optionalString(e._document_id) ?? stableId('github', action, time, actor, repo ?? org ?? '')}`,
    time,
    principal: { id: actor, kind: actor === 'unknown' ? 'unknown' : bot ? 'service' : ctx.classifyPrincipalName(actor) ?? 'human' },
    action,
    verb: githubVerb(action, optionalString(e.operation_type)),
    resource: { type: `github:${action.includes('.') ? action.slice(0, action.indexOf('.')) : action}`, id: repo ?? optionalString(e.name) ?? org ?? '' },
    environment: ctx.environmentForGithubOrg(org),
    source: 'github',
    outcome: 'success',
    changeTicket: null,
    objectCount: 1,
  };
}

/** GitHub organisation and enterprise audit-log events (the REST API's and the streaming export's JSON). */
export function decodeGithubAudit(value: Buffer, ctx: DecodeContext): DecodeResult {
  return githubFromDocument(parseDocument(value), ctx);
}

export function githubFromDocument(doc: unknown, ctx: DecodeContext): DecodeResult {
  const events = (Array.isArray(doc) ? doc : [doc]).map((e) => {
    if (!isObject(e)) throw new DecodeError('DECODE_BAD_FIELD', 'github-audit: an event is not an object');
    return githubEventToEvent(e, ctx);
  });
  return { events, ignored: 0 };
}
