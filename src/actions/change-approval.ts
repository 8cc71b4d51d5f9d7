import { z } from 'zod';
import type { AuditEvent } from '../events/audit-event.js';
import { globToRegExp } from '../util/glob.js';
import { canonicalJson, firstIssue, parseSignedJson, type KeyRing, type Signer } from './signing.js';

/**
 * An approved change: who may change what, where, and when, under which ticket. Written by `auditwatch change
 * approve` to the compacted changes topic, signed like a freeze (an operator's key among freeze.trustedKeys), and read
 * by detection: destructive volume inside an approved change is an info alert naming the ticket and never freezes, and
 * a requireChange rule does not freeze what an approval covers.
 */
export const changeApprovalSchema = z.strictObject({
  v: z.literal(1),
  ticket: z.string().min(1).max(200),
  scope: z.strictObject({
    environment: z.string().min(1),
    /** Exactly this principal (absent: any). */
    principal: z.string().min(1).optional(),
    /** A resource-type glob (absent: any). */
    resourceType: z.string().min(1).optional(),
  }),
  /** Event-time window, epoch ms: [from, until). */
  from: z.number().int(),
  until: z.number().int(),
  approvedBy: z.string().min(1),
  /** When it was approved: it covers only events at or after this, so that a replay judges as the live run did. */
  approvedAt: z.number().int(),
  keyId: z.string().min(1),
  sig: z.string().min(1),
});

export type ChangeApproval = z.infer<typeof changeApprovalSchema>;
export type UnsignedChangeApproval = Omit<ChangeApproval, 'v' | 'keyId' | 'sig'>;

export type ApprovalRejectReason = 'not-json' | 'unsigned' | 'schema' | 'unknown-key' | 'bad-signature' | 'key-mismatch' | 'expired';

/** The message key: one record per ticket and scope, so compaction keeps the latest approval of each. */
export function approvalKey(a: Pick<ChangeApproval, 'ticket' | 'scope'>): string {
  return [a.ticket, a.scope.environment, a.scope.principal ?? '*', a.scope.resourceType ?? '*'].join('|');
}

function signedBytes(body: Omit<ChangeApproval, 'sig'>): Buffer {
  return Buffer.from(canonicalJson(body), 'utf8');
}

export function signApproval(unsigned: UnsignedChangeApproval, signer: Signer): ChangeApproval {
  const body = { v: 1 as const, ...unsigned, keyId: signer.keyId };
  return { ...body, sig: signer.sign(signedBytes(body)).toString('base64') };
}

export function approvalMessage(a: ChangeApproval): { key: string; value: string; timestamp: string } {
  return { key: approvalKey(a), value: JSON.stringify(a), timestamp: String(a.approvedAt) };
}

export type ApprovalVerdict = { ok: true; approval: ChangeApproval } | { ok: false; reason: ApprovalRejectReason; detail: string };

/** Parses and authenticates one record. Pure, never throws. */
export function verifyApproval(messageKey: string | undefined, value: Buffer | null, keys: KeyRing): ApprovalVerdict {
  if (!value) return { ok: false, reason: 'unsigned', detail: 'a tombstone: approvals end by their window, not by deletion' };
  const json = parseSignedJson(value);
  if (!json.ok) return { ok: false, reason: 'not-json', detail: json.detail };
  if (json.fields.sig === undefined || json.fields.keyId === undefined) return { ok: false, reason: 'unsigned', detail: 'no keyId and sig: an unsigned approval' };
  const result = changeApprovalSchema.safeParse(json.parsed);
  if (!result.success) return { ok: false, reason: 'schema', detail: firstIssue(result.error.issues) };
  const approval = result.data;
  const { sig, ...body } = approval;
  const verdict = keys.verify(approval.keyId, signedBytes(body), Buffer.from(sig, 'base64'));
  if (verdict !== 'ok') return { ok: false, reason: verdict, detail: verdict === 'unknown-key' ? `key id ${approval.keyId} is not among the trusted keys` : `signature does not verify under key ${approval.keyId}` };
  if (messageKey !== approvalKey(approval)) return { ok: false, reason: 'key-mismatch', detail: `approval for ${approvalKey(approval)} under message key ${messageKey ?? '(none)'}` };
  return { ok: true, approval };
}

interface Held {
  approval: ChangeApproval;
  typeRe: RegExp | undefined;
}

/**
 * The approvals read from the changes topic, verified. Answers by event time only: an approval covers an event inside
 * its window, in its scope, approved at or before the event.
 */
export class ChangeBook {
  private readonly byKey = new Map<string, Held>();
  private readonly byEnvironment = new Map<string, Held[]>();
  private readonly tickets = new Set<string>();
  /** Refused records by reason (signed but expired ones are kept: a replay of their window needs them). */
  readonly rejected = new Map<ApprovalRejectReason, number>();

  constructor(private readonly keys: KeyRing, private readonly now: () => number = Date.now) {}

  /** Applies one record from the topic; returns the refusal, if any. */
  apply(messageKey: string | undefined, value: Buffer | null): ApprovalVerdict {
    const verdict = verifyApproval(messageKey, value, this.keys);
    if (!verdict.ok) {
      this.count(verdict.reason);
      return verdict;
    }
    this.add(verdict.approval);
    if (verdict.approval.until <= this.now()) {
      this.count('expired');
      return { ok: false, reason: 'expired', detail: `approval ${verdict.approval.ticket} ended ${new Date(verdict.approval.until).toISOString()}` };
    }
    return verdict;
  }

  /** An approval already verified (the operator's own, or a test's). */
  add(approval: ChangeApproval): void {
    const key = approvalKey(approval);
    const held: Held = { approval, typeRe: approval.scope.resourceType ? globToRegExp(approval.scope.resourceType) : undefined };
    const previous = this.byKey.get(key);
    this.byKey.set(key, held);
    const list = (this.byEnvironment.get(approval.scope.environment) ?? []).filter((h) => h !== previous);
    list.push(held);
    this.byEnvironment.set(approval.scope.environment, list);
    this.tickets.add(approval.ticket);
  }

  private count(reason: ApprovalRejectReason): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
  }

  /** The approval covering this event, if any. */
  covering(e: AuditEvent): ChangeApproval | undefined {
    const list = this.byEnvironment.get(e.environment);
    if (!list) return undefined;
    for (const { approval: a, typeRe } of list) {
      if (e.time < a.from || e.time >= a.until || e.time < a.approvedAt) continue;
      if (a.scope.principal !== undefined && a.scope.principal !== e.principal.id) continue;
      if (typeRe && !typeRe.test(e.resource.type)) continue;
      return a;
    }
    return undefined;
  }

  /** Whether any approval names this ticket. */
  backs(ticket: string): boolean {
    return this.tickets.has(ticket);
  }

  list(): ChangeApproval[] {
    return [...this.byKey.values()].map((h) => h.approval).sort((a, b) => a.from - b.from || (a.ticket < b.ticket ? -1 : 1));
  }

  get size(): number {
    return this.byKey.size;
  }
}
