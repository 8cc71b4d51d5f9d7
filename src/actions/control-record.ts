import { z } from 'zod';
import { scopeKey } from './freeze-command.js';
import { canonicalJson, firstIssue, parseSignedJson, type KeyRing, type Signer } from './signing.js';

/**
 * The value of every record on the control topic (schema: schemas/control-record.schema.json). A freeze, a lift and
 * an expiry are all signed records; a tombstone is only ever compaction after a signed lift or expiry, and changes
 * nothing by itself. `seq` grows per scope, so a signed record replayed later cannot undo a newer one.
 */
const freezeScope = z.strictObject({
  environment: z.string().min(1),
  principal: z.string().min(1).optional(),
  resourceType: z.string().min(1).optional(),
});

const freezeCommand = z.strictObject({
  scopeKey: z.string().min(1),
  scope: freezeScope,
  alertId: z.string().min(1),
  reason: z.string(),
  createdAt: z.number().int().nonnegative(),
  expiresAt: z.number().int().nonnegative(),
  issuedBy: z.string().min(1),
});

export const controlRecordSchema = z.strictObject({
  v: z.literal(1),
  /** freeze sets `freeze`; lift (an operator) and expire (its TTL ran out) end the freeze they carry. */
  op: z.enum(['freeze', 'lift', 'expire']),
  scopeKey: z.string().min(1),
  /** Per scope, strictly greater than the sequence of the record it follows. */
  seq: z.number().int().positive(),
  freeze: freezeCommand,
  /** When the record was issued (ms since the epoch): event time for automatic freezes. */
  at: z.number().int().nonnegative(),
  /** auditwatch, or the operator who froze or lifted. */
  by: z.string().min(1),
  /** An automatic freeze carries the cap it was decided under: every reader refuses one past it, in log order. */
  cap: z.strictObject({ maxFreezes: z.number().int().min(1), window: z.number().int().positive() }).optional(),
  keyId: z.string().min(1),
  /** Ed25519 over the canonical JSON (keys sorted) of every other field; base64. */
  sig: z.string().min(1),
});

export type ControlRecord = z.infer<typeof controlRecordSchema>;
export type ControlOp = ControlRecord['op'];
export type UnsignedControlRecord = Omit<ControlRecord, 'v' | 'keyId' | 'sig'>;

/** Why a control record was not accepted. All but `cap` and `sequence-conflict` are tampering (or a bad writer). */
export type RejectReason =
  | 'not-json'
  | 'schema'
  | 'unsigned'
  | 'unknown-key'
  | 'bad-signature'
  | 'key-mismatch'
  | 'stale-sequence'
  | 'forged-tombstone'
  | 'sequence-conflict'
  | 'cap';

/** Reasons that only a writer without the key, or a replay, produces: each raises a control-tamper alert. */
export function isTamper(reason: RejectReason): boolean {
  return reason !== 'cap' && reason !== 'sequence-conflict';
}

function signedBytes(record: Omit<ControlRecord, 'sig'>): Buffer {
  return Buffer.from(canonicalJson(record), 'utf8');
}

export function signControlRecord(unsigned: UnsignedControlRecord, signer: Signer): ControlRecord {
  const body = { v: 1 as const, ...unsigned, keyId: signer.keyId };
  return { ...body, sig: signer.sign(signedBytes(body)).toString('base64') };
}

/** The Kafka message for a record: keyed by its scope, so compaction keeps the latest record of each scope. */
export function controlMessage(record: ControlRecord): { key: string; value: string; timestamp: string; headers: Record<string, string> } {
  return {
    key: record.scopeKey,
    value: JSON.stringify(record),
    timestamp: String(record.at),
    headers: { 'auditwatch-op': record.op, 'auditwatch-by': record.by, 'auditwatch-alert-id': record.freeze.alertId },
  };
}

export type Verified =
  | { ok: true; record: ControlRecord }
  | { ok: false; reason: RejectReason; detail: string; keyId?: string; by?: string; scopeKey?: string };

/**
 * Parses and authenticates one record's value against the message key. Pure, never throws: whatever the bytes,
 * the caller gets a verdict and goes on to the next record.
 */
export function verifyControlValue(messageKey: string | undefined, value: Buffer, keys: KeyRing): Verified {
  const json = parseSignedJson(value);
  if (!json.ok) return { ok: false, reason: 'not-json', detail: json.detail };
  const obj = json.fields;
  const parsed = json.parsed;
  const hints = {
    keyId: typeof obj.keyId === 'string' ? obj.keyId : undefined,
    by: typeof obj.by === 'string' ? obj.by : typeof obj.issuedBy === 'string' ? obj.issuedBy : undefined,
    scopeKey: typeof obj.scopeKey === 'string' ? obj.scopeKey : messageKey,
  };
  if (obj.sig === undefined || obj.keyId === undefined) return { ok: false, reason: 'unsigned', detail: 'no keyId and sig: an unsigned record', ...hints };
  const result = controlRecordSchema.safeParse(parsed);
  if (!result.success) return { ok: false, reason: 'schema', detail: firstIssue(result.error.issues), ...hints };
  const record = result.data;
  const { sig, ...body } = record;
  const verdict = keys.verify(record.keyId, signedBytes(body), Buffer.from(sig, 'base64'));
  if (verdict !== 'ok') return { ok: false, reason: verdict, detail: verdict === 'unknown-key' ? `key id ${record.keyId} is not among the trusted keys` : `signature does not verify under key ${record.keyId}`, ...hints };
  // Signed, but about another scope than the message key says: compaction would keep it under the wrong key.
  if (record.scopeKey !== messageKey || record.freeze.scopeKey !== record.scopeKey || scopeKey(record.freeze.scope) !== record.scopeKey) {
    return { ok: false, reason: 'key-mismatch', detail: `record for ${record.scopeKey} under message key ${messageKey ?? '(none)'}`, ...hints };
  }
  return { ok: true, record };
}

/** The JSON Schema of a control record, as published in schemas/control-record.schema.json. */
export function controlRecordJsonSchema(): Record<string, unknown> {
  return {
    title: 'auditwatch control record',
    description: 'The value of every record on the control topic: a signed freeze, lift or expiry, keyed by its scope.',
    ...z.toJSONSchema(controlRecordSchema, { target: 'draft-2020-12' }),
  };
}
