import type { Producer } from 'kafkajs';
import type { AuditEvent } from '../events/audit-event.js';
import { stableId } from '../util/hash.js';
import type { FreezeCommand } from './freeze-command.js';

export type FreezeAuditAction =
  | 'FreezeRequested' // auditwatch published a freeze to the control topic
  | 'FreezeDryRun' // a rule in dry-run mode would have frozen
  | 'FreezeProposed' // approval mode: waiting for an operator
  | 'FreezeApproved' // an operator confirmed a proposal
  | 'FreezeRefused' // the cap stopped it
  | 'FreezeManual' // an operator froze by hand
  | 'FreezeApplied' // an actuator made it real
  | 'FreezeExpired' // its TTL ran out
  | 'Unfreeze' // an operator lifted it
  | 'FreezeReverted' // an actuator undid it
  | 'FreezeFailed'; // an actuator could not apply or revert it

/**
 * A freeze is itself audited: each entry is a canonical AuditEvent (so auditwatch can read its own audit topic),
 * with the freeze command alongside.
 */
export interface FreezeAuditEntry extends AuditEvent {
  freeze: FreezeCommand;
  detail: string;
}

export function freezeAuditEntry(action: FreezeAuditAction, command: FreezeCommand, at: number, who: { id: string; kind: 'human' | 'service' }, detail: string): FreezeAuditEntry {
  return {
    id: stableId('freeze-audit', action, command.alertId, command.scopeKey, at, detail),
    time: at,
    principal: who,
    action,
    verb: action === 'Unfreeze' || action === 'FreezeExpired' || action === 'FreezeReverted' ? 'delete' : 'update',
    resource: { type: 'auditwatch:freeze', id: command.scopeKey },
    environment: command.scope.environment,
    source: 'auditwatch',
    outcome: action === 'FreezeFailed' ? 'failure' : 'success',
    changeTicket: null,
    objectCount: 1,
    freeze: command,
    detail,
  };
}

export interface FreezeAuditLog {
  write(entries: readonly FreezeAuditEntry[]): Promise<void>;
}

export class KafkaFreezeAuditLog implements FreezeAuditLog {
  constructor(private readonly producer: Producer, private readonly topic: string) {}

  async write(entries: readonly FreezeAuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: entries.map((e) => ({ key: e.freeze.scopeKey, value: JSON.stringify(e), timestamp: String(e.time), headers: { 'auditwatch-freeze-action': e.action } })),
    });
  }
}

/** Without Kafka (file replay): the audit trail goes to the log. */
export class LogFreezeAuditLog implements FreezeAuditLog {
  constructor(private readonly log: { info: (o: object, m: string) => void }) {}

  async write(entries: readonly FreezeAuditEntry[]): Promise<void> {
    for (const e of entries) this.log.info({ action: e.action, scope: e.freeze.scopeKey, alertId: e.freeze.alertId }, `freeze audit: ${e.detail}`);
  }
}

export const AUDITWATCH_PRINCIPAL = { id: 'auditwatch', kind: 'service' } as const;
