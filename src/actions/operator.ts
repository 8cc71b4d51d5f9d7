import type { Producer } from 'kafkajs';
import type { Config } from '../config/schema.js';
import { UsageError } from '../errors.js';
import { globToRegExp } from '../util/glob.js';
import { ControlPublisher } from './control-publisher.js';
import type { ControlOp } from './control-record.js';
import { freezeAuditEntry, KafkaFreezeAuditLog, type FreezeAuditEntry } from './freeze-audit.js';
import type { FreezeCommand, FreezeScope } from './freeze-command.js';
import type { Signer } from './signing.js';
import type { WriteGate } from './write-gate.js';

/**
 * What an operator does to freezes (approve a proposal, lift a freeze), the same from the CLI and the console: each
 * a record signed with the operator's key on the control topic, and an entry naming the operator on the audit topic.
 */
export interface Operator {
  id: string;
  kind: 'human';
}

/** A scope outside freeze.allow is refused, whoever asks. */
export function checkAllowed(config: Config, scope: FreezeScope): void {
  const { environments, resourceTypes } = config.freeze.allow;
  if (!environments.includes(scope.environment)) throw new UsageError(`environment ${scope.environment} is not in freeze.allow.environments (${environments.join(', ')})`);
  if (scope.resourceType && !resourceTypes.some((g) => globToRegExp(g).test(scope.resourceType!))) {
    throw new UsageError(`resource type ${scope.resourceType} is not in freeze.allow.resourceTypes`);
  }
}

export function requireSigner(signer: Signer | undefined): Signer {
  if (!signer) throw new UsageError('freeze.signing is not set: a freeze or a lift is signed with the operator\'s key (set freeze.signing in the config)');
  return signer;
}

/** Proposals (approval mode) on the audit topic that nobody has approved yet, the latest per alert. */
export function waitingProposals(audit: readonly FreezeAuditEntry[]): FreezeAuditEntry[] {
  const approved = new Set(audit.filter((e) => e.action === 'FreezeApproved').map((e) => e.freeze.alertId));
  const latest = new Map<string, FreezeAuditEntry>();
  for (const e of audit) if (e.action === 'FreezeProposed' && !approved.has(e.freeze.alertId)) latest.set(e.freeze.alertId, e);
  return [...latest.values()];
}

/**
 * The freeze an operator's approval of a proposal issues. Its TTL runs from the approval, not from the detection:
 * an operator who confirms late still gets the full freeze.
 */
export function approvalOf(config: Config, audit: readonly FreezeAuditEntry[], alertId: string, who: Operator, now: number, reason?: string): { command: FreezeCommand; entry: FreezeAuditEntry } {
  const proposal = audit.filter((e) => e.action === 'FreezeProposed' && e.freeze.alertId === alertId).at(-1);
  if (!proposal) {
    // An alert whose scope another alert's proposal already holds says freeze-proposed too: name what is waiting.
    const waiting = waitingProposals(audit).map((e) => `${e.freeze.alertId} (${e.freeze.scopeKey})`);
    throw new UsageError(`no freeze proposal for alert ${alertId} on ${config.freeze.auditTopic}; ${waiting.length ? `waiting for approval: ${waiting.join(', ')}` : 'none is waiting'}`);
  }
  if (audit.some((e) => e.action === 'FreezeApproved' && e.freeze.alertId === alertId)) throw new UsageError(`the proposal for alert ${alertId} was already approved`);
  checkAllowed(config, proposal.freeze.scope);
  const ttl = proposal.freeze.expiresAt - proposal.freeze.createdAt;
  const command = { ...proposal.freeze, createdAt: now, expiresAt: now + ttl, issuedBy: who.id };
  return { command, entry: freezeAuditEntry('FreezeApproved', command, now, who, reason ?? `approved by ${who.id}`) };
}

/** The lift of the freeze in force on `scopeKey`, as `gate` sees the control topic now. */
export function liftOf(gate: WriteGate, scopeKey: string, who: Operator, now: number, reason?: string): { command: FreezeCommand; entry: FreezeAuditEntry } {
  const command = gate.active().find((c) => c.scopeKey === scopeKey);
  if (!command) throw new UsageError(`no freeze in force for ${scopeKey} (see auditwatch freezes)`);
  return { command, entry: freezeAuditEntry('Unfreeze', command, now, who, reason ?? `lifted by ${who.id}`) };
}

/**
 * Signs the operator's record with the operator's key, above the scope's current sequence as `gate` reads it, and
 * writes it with its audit entry.
 */
export async function publishOperatorRecord(config: Config, producer: Producer, gate: WriteGate, signer: Signer | undefined, op: ControlOp, command: FreezeCommand, entry: FreezeAuditEntry): Promise<void> {
  const seq = gate.nextSeq(command.scopeKey);
  await new ControlPublisher(producer, config.freeze.controlTopic, requireSigner(signer)).publish([{ op, scopeKey: command.scopeKey, seq, freeze: command, at: entry.time, by: entry.principal.id }]);
  await new KafkaFreezeAuditLog(producer, config.freeze.auditTopic).write([entry]);
}
