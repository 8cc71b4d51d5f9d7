import { userInfo } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { freezeAuditEntry, KafkaFreezeAuditLog, type FreezeAuditEntry } from '../../actions/freeze-audit.js';
import { scopeKey, type FreezeCommand, type FreezeScope } from '../../actions/freeze-command.js';
import { WriteGate } from '../../actions/write-gate.js';
import { ControlPublisher, controlKeys } from '../../actions/control-publisher.js';
import type { Signer } from '../../actions/signing.js';
import type { ControlOp } from '../../actions/control-record.js';
import type { Config } from '../../config/schema.js';
import { createKafka, ensureOutputTopics } from '../../kafka/client.js';
import { createLogger } from '../../log.js';
import { connectProducer } from '../../pipeline/assemble.js';
import { KafkaTopicReader } from '../../sources/kafka/topic-reader.js';
import { globToRegExp } from '../../util/glob.js';
import { formatDuration, parseDuration } from '../../util/duration.js';
import { configFrom, UsageError } from '../common.js';

export interface ScopeArgs {
  environment?: string;
  principal?: string;
  resourceType?: string;
  scope?: string;
}

interface OperatorArgs extends ScopeArgs {
  config?: string;
  operator?: string;
  reason?: string;
}

export interface FreezeArgs extends OperatorArgs {
  ttl: string;
  approve?: string;
}

function operator(args: OperatorArgs): { id: string; kind: 'human' } {
  return { id: args.operator ?? process.env.AUDITWATCH_OPERATOR ?? userInfo().username, kind: 'human' };
}

function scopeFrom(args: ScopeArgs): FreezeScope {
  if (!args.environment) throw new UsageError('--environment is required (with --principal and/or --resource-type)');
  if (!args.principal && !args.resourceType) throw new UsageError('give --principal, --resource-type or both: a freeze of a whole environment is not offered');
  const scope: FreezeScope = { environment: args.environment };
  if (args.principal) scope.principal = args.principal;
  if (args.resourceType) scope.resourceType = args.resourceType;
  return scope;
}

function checkAllowed(config: Config, scope: FreezeScope): void {
  const { environments, resourceTypes } = config.freeze.allow;
  if (!environments.includes(scope.environment)) throw new UsageError(`environment ${scope.environment} is not in freeze.allow.environments (${environments.join(', ')})`);
  if (scope.resourceType && !resourceTypes.some((g) => globToRegExp(g).test(scope.resourceType!))) {
    throw new UsageError(`resource type ${scope.resourceType} is not in freeze.allow.resourceTypes`);
  }
}

/** Everything on a topic from the beginning to where it ends now, parsed as JSON (tombstones as null). */
async function readTopic(kafka: Kafka, topic: string): Promise<Array<{ key: string; value: unknown }>> {
  const out: Array<{ key: string; value: unknown }> = [];
  await new KafkaTopicReader(kafka, { topic, format: 'canonical-json' }, 'range').read((records) => {
    for (const r of records) out.push({ key: r.key?.toString('utf8') ?? '', value: r.value ? JSON.parse(r.value.toString('utf8')) : null });
  });
  return out;
}

/** The control topic as every gate sees it now (records verified with the config's trusted keys), with the operator's signer. */
interface ControlView {
  kafka: Kafka;
  gate: WriteGate;
  signer: Signer | undefined;
}

/** Reads the control topic once; the caller stops `gate` when done. `write` refuses before any I/O when there is no signing key. */
async function openControl(config: Config, write: boolean): Promise<ControlView> {
  const { keys, signer } = controlKeys(config);
  if (write) requireSigner(signer);
  const kafka = createKafka(config.kafka, createLogger(config.log.level));
  const gate = new WriteGate(kafka, config.freeze.controlTopic, { keys });
  await gate.start();
  return { kafka, gate, signer };
}

/** Runs `use` on the control topic as it is now, then stops following it. */
async function withControl<T>(config: Config, write: boolean, use: (view: ControlView) => Promise<T>): Promise<T> {
  const view = await openControl(config, write);
  try {
    return await use(view);
  } finally {
    await view.gate.stop();
  }
}

/**
 * Signs the operator's record with the operator's key (freeze.signing in their config), above the scope's current
 * sequence as `view` read it, and writes it with its audit entry.
 */
async function publish(config: Config, view: ControlView, op: ControlOp, command: FreezeCommand, audit: FreezeAuditEntry): Promise<void> {
  const signer = requireSigner(view.signer);
  await ensureOutputTopics(view.kafka, config);
  const producer = await connectProducer(view.kafka);
  try {
    const seq = view.gate.nextSeq(command.scopeKey);
    await new ControlPublisher(producer, config.freeze.controlTopic, signer).publish([{ op, scopeKey: command.scopeKey, seq, freeze: command, at: audit.time, by: audit.principal.id }]);
    await new KafkaFreezeAuditLog(producer, config.freeze.auditTopic).write([audit]);
  } finally {
    await producer.disconnect();
  }
}

function requireSigner(signer: Signer | undefined): Signer {
  if (!signer) throw new UsageError('freeze.signing is not set: a freeze or a lift is signed with the operator\'s key (set freeze.signing in the config)');
  return signer;
}

/** `auditwatch freeze`: freeze a scope by hand, or confirm a proposal made in approval mode. */
export async function freezeCommand(args: FreezeArgs): Promise<number> {
  const config = configFrom(args);
  const who = operator(args);
  const now = Date.now();
  let command: FreezeCommand;
  let audit: FreezeAuditEntry;
  if (args.approve) {
    if (args.environment || args.principal || args.resourceType) throw new UsageError('--approve takes an alert id alone; the proposal says what to freeze');
    const kafka = createKafka(config.kafka, createLogger(config.log.level));
    const entries = (await readTopic(kafka, config.freeze.auditTopic)).map((e) => e.value as FreezeAuditEntry | null).filter((e): e is FreezeAuditEntry => !!e);
    const proposal = entries.filter((e) => e.action === 'FreezeProposed' && e.freeze.alertId === args.approve).at(-1);
    if (!proposal) throw new UsageError(`no freeze proposal for alert ${args.approve} on ${config.freeze.auditTopic}`);
    if (entries.some((e) => e.action === 'FreezeApproved' && e.freeze.alertId === args.approve)) throw new UsageError(`the proposal for alert ${args.approve} was already approved`);
    checkAllowed(config, proposal.freeze.scope);
    // The TTL runs from the approval, not from the detection: an operator who confirms late still gets the full freeze.
    const ttl = proposal.freeze.expiresAt - proposal.freeze.createdAt;
    command = { ...proposal.freeze, createdAt: now, expiresAt: now + ttl, issuedBy: who.id };
    audit = freezeAuditEntry('FreezeApproved', command, now, who, args.reason ?? `approved by ${who.id}`);
  } else {
    const ttl = parseDuration(args.ttl);
    if (!ttl) throw new UsageError(`--ttl: expected a duration such as 30m or 1h, got "${args.ttl}"`);
    if (!args.reason) throw new UsageError('--reason is required for a manual freeze');
    const scope = scopeFrom(args);
    checkAllowed(config, scope);
    command = { scopeKey: scopeKey(scope), scope, alertId: `manual-${randomUUID()}`, reason: args.reason, createdAt: now, expiresAt: now + ttl, issuedBy: who.id };
    audit = freezeAuditEntry('FreezeManual', command, now, who, args.reason);
  }
  await withControl(config, true, (view) => publish(config, view, 'freeze', command, audit));
  process.stdout.write(`frozen: ${command.scopeKey} until ${new Date(command.expiresAt).toISOString()} (alert ${command.alertId}, by ${who.id})\n`);
  return 0;
}

/** `auditwatch unfreeze`: lift a freeze now (a signed lift on the control topic), audited. */
export async function unfreezeCommand(args: OperatorArgs): Promise<number> {
  const config = configFrom(args);
  const who = operator(args);
  const key = args.scope ?? scopeKey(scopeFrom(args));
  const current = await withControl(config, true, async (view) => {
    const found = view.gate.active().find((c) => c.scopeKey === key);
    if (!found) throw new UsageError(`no freeze in force for ${key} (see auditwatch freezes)`);
    await publish(config, view, 'lift', found, freezeAuditEntry('Unfreeze', found, Date.now(), who, args.reason ?? `lifted by ${who.id}`));
    return found;
  });
  process.stdout.write(`unfrozen: ${key} (was alert ${current.alertId})\n`);
  return 0;
}

/** `auditwatch freezes`: what is frozen now, and proposals waiting for approval. */
export async function freezesCommand(args: { config?: string; json?: boolean }): Promise<number> {
  const config = configFrom(args);
  const { kafka, active, rejected } = await withControl(config, false, async ({ kafka, gate }) => ({ kafka, active: gate.active(), rejected: gate.tampered }));
  const audit = (await readTopic(kafka, config.freeze.auditTopic).catch(() => [])).map((e) => e.value as FreezeAuditEntry | null).filter((e): e is FreezeAuditEntry => !!e);
  const approved = new Set(audit.filter((e) => e.action === 'FreezeApproved').map((e) => e.freeze.alertId));
  const proposals = audit.filter((e) => e.action === 'FreezeProposed' && !approved.has(e.freeze.alertId));
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ active, proposals: proposals.map((p) => p.freeze), tamperedRecords: rejected })}\n`);
    return 0;
  }
  if (rejected) process.stdout.write(`WARNING: ${rejected} record(s) on ${config.freeze.controlTopic} refused as tampering (unsigned, bad signature, unknown key, replayed, forged tombstone or not JSON); see the control-tamper alerts\n`);
  const now = Date.now();
  process.stdout.write(active.length ? '' : 'no freezes in force\n');
  for (const c of active) {
    process.stdout.write(`${c.scopeKey}\n  owner ${c.issuedBy}  alert ${c.alertId}  expires ${new Date(c.expiresAt).toISOString()} (in ${formatDuration(Math.round((c.expiresAt - now) / 1000) * 1000)})\n  reason ${c.reason}\n`);
  }
  for (const p of proposals) process.stdout.write(`PROPOSED ${p.freeze.scopeKey}  alert ${p.freeze.alertId}: auditwatch freeze --approve ${p.freeze.alertId}\n`);
  return 0;
}
