import { CapWindow } from './cap-window.js';
import { isTamper, verifyControlValue, type ControlOp, type ControlRecord, type RejectReason } from './control-record.js';
import { freezeId, scopeKeysFor, type FreezeCommand } from './freeze-command.js';
import type { KeyRing } from './signing.js';

/** Where a control record sits, for logs and the control-tamper alert. */
export interface ControlPosition {
  topic: string;
  partition: number;
  offset: string;
  /** The message timestamp (ms): the tamper alert's time, so a replay of the topic names the same alert. */
  timestamp: number;
}

/** A record every reader accepted: a scope frozen, lifted by an operator, or expired. */
export interface ControlChange {
  scopeKey: string;
  op: ControlOp;
  record: ControlRecord;
  /** The freeze in force for the scope after this record (null after a lift or expiry). */
  freeze: FreezeCommand | null;
  /** The freeze in force before it. */
  previous: FreezeCommand | null;
}

export interface ControlRejection extends ControlPosition {
  reason: RejectReason;
  detail: string;
  tamper: boolean;
  messageKey: string | undefined;
  keyId?: string | undefined;
  /** Who the record says produced it (its `by`, or a header), when it says. */
  by?: string | undefined;
  scopeKey?: string | undefined;
  /** For a signed record refused by sequence or cap: the record itself. */
  record?: ControlRecord | undefined;
}

export type ControlOutcome =
  | { kind: 'accepted'; change: ControlChange }
  | { kind: 'rejected'; rejection: ControlRejection }
  | { kind: 'ignored'; why: 'duplicate' | 'compaction' };

interface ScopeState {
  seq: number;
  sig: string;
  live: FreezeCommand | null;
}

/**
 * The state machine every reader of the control topic runs (write gates, the FreezeExecutor, `auditwatch freezes`):
 * it verifies each record, applies the accepted ones in log order, and says why it refused the others. It never
 * throws, so no record can stop a reader from following the ones after it. The control topic has one partition,
 * so every reader sees the same order and takes the same decisions, the freeze cap's included.
 */
export class ControlLog {
  private readonly scopes = new Map<string, ScopeState>();
  /** Every accepted freeze, for the cap carried by automatic freezes. */
  private readonly capWindow = new CapWindow();

  constructor(private readonly keys: KeyRing) {}

  apply(messageKey: string | undefined, value: Buffer | null, at: ControlPosition, headers: Record<string, string> = {}): ControlOutcome {
    const reject = (reason: RejectReason, detail: string, extra: Partial<ControlRejection> = {}): ControlOutcome => ({
      kind: 'rejected',
      rejection: { ...at, reason, detail, tamper: isTamper(reason), messageKey, by: headers['auditwatch-by'] ?? headers['auditwatch-operator'], ...extra },
    });
    if (value === null) {
      const state = messageKey === undefined ? undefined : this.scopes.get(messageKey);
      // Compaction after a signed lift or expiry deletes nothing that is in force; a tombstone for a live freeze does.
      if (state?.live) return reject('forged-tombstone', `tombstone for ${messageKey}, whose freeze (alert ${state.live.alertId}) has no signed lift`, { scopeKey: messageKey });
      return { kind: 'ignored', why: 'compaction' };
    }
    const verified = verifyControlValue(messageKey, value, this.keys);
    if (!verified.ok) {
      const { reason, detail, keyId, by, scopeKey } = verified;
      return reject(reason, detail, { keyId, scopeKey, ...(by ? { by } : {}) });
    }
    const record = verified.record;
    const state = this.scopes.get(record.scopeKey) ?? { seq: 0, sig: '', live: null };
    const signed = { keyId: record.keyId, by: record.by, scopeKey: record.scopeKey, record };
    if (record.seq === state.seq && record.sig === state.sig) return { kind: 'ignored', why: 'duplicate' };
    if (record.seq === state.seq) return reject('sequence-conflict', `sequence ${record.seq} of ${record.scopeKey} was taken by another writer first`, signed);
    if (record.seq < state.seq) return reject('stale-sequence', `sequence ${record.seq} of ${record.scopeKey} is older than ${state.seq}: a replayed record`, signed);
    const freeze: FreezeCommand = record.freeze;
    if (record.op === 'freeze' && record.cap && !this.capWindow.has(freeze)) {
      const since = freeze.createdAt - record.cap.window;
      // Records come in log order, their event times nearly so: a day's slack before forgetting.
      this.capWindow.forget(since - 86_400_000);
      const inWindow = this.capWindow.count(since, freeze.createdAt);
      if (inWindow >= record.cap.maxFreezes) return reject('cap', `cap of ${record.cap.maxFreezes} freezes per ${record.cap.window} ms already taken (${inWindow} in the window)`, signed);
    }
    const previous = state.live;
    const next = record.op === 'freeze' ? freeze : null;
    this.scopes.set(record.scopeKey, { seq: record.seq, sig: record.sig, live: next });
    // A lift or expiry carries the freeze it ended: after compaction has removed the freeze itself, it still counts.
    const counts = next ?? (previous === null || freezeId(previous) === freezeId(freeze) ? freeze : null);
    if (counts) this.capWindow.add(counts);
    return { kind: 'accepted', change: { scopeKey: record.scopeKey, op: record.op, record, freeze: next, previous } };
  }

  /** The sequence the next record of this scope must carry at least. */
  nextSeq(scopeKey: string): number {
    return (this.scopes.get(scopeKey)?.seq ?? 0) + 1;
  }

  /** The freeze set on a scope and not lifted, whether or not its TTL has run out. */
  live(scopeKey: string): FreezeCommand | null {
    return this.scopes.get(scopeKey)?.live ?? null;
  }

  /** Freezes set and not lifted, expired or not: what an executor reconciles after a restart. */
  liveFreezes(): FreezeCommand[] {
    const out: FreezeCommand[] = [];
    for (const s of this.scopes.values()) if (s.live) out.push(s.live);
    return out;
  }

  /** Freezes in force at `now`: set, not lifted, not expired. */
  active(now: number): FreezeCommand[] {
    const out: FreezeCommand[] = [];
    for (const s of this.scopes.values()) if (s.live && s.live.expiresAt > now) out.push(s.live);
    return out;
  }

  /** The freeze that blocks this write at `now`, or null. */
  check(environment: string, principal: string, resourceType: string, now: number): FreezeCommand | null {
    for (const key of scopeKeysFor(environment, principal, resourceType)) {
      const c = this.scopes.get(key)?.live;
      if (c && c.expiresAt > now) return c;
    }
    return null;
  }
}
