import { userInfo } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { freezeAuditEntry, type FreezeAuditEntry } from '../../actions/freeze-audit.js';
import { scopeKey, type FreezeCommand, type FreezeScope } from '../../actions/freeze-command.js';
import { WriteGate } from '../../actions/write-gate.js';
import { controlKeys } from '../../actions/control-publisher.js';
import { approvalOf, checkAllowed, liftOf, publishOperatorRecord, requireSigner, waitingProposals, type Operator } from '../../actions/operator.js';
import type { Signer } from '../../actions/signing.js';
import type { ControlOp } from '../../actions/control-record.js';
import type { Config } from '../../config/schema.js';
import { createKafka, ensureOutputTopics } from '../../kafka/client.js';
import { createLogger } from '../../log.js';
import { connectProducer } from '../../pipeline/assemble.js';
import { KafkaTopicReader } from '../../sources/kafka/topic-reader.js';
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

export function operator(args: { operator?: string }): Operator {
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

/** Writes the operator's signed record and its audit entry (src/actions/operator.ts). */
async function publish(config: Config, view: ControlView, op: ControlOp, command: FreezeCommand, audit: FreezeAuditEntry): Promise<void> {
  requireSigner(view.signer);
  await ensureOutputTopics(view.kafka, config);
  const producer = await connectProducer(view.kafka);
  try {
    await publishOperatorRecord(config, producer, view.gate, view.signer, op, command, audit);
  } finally {
    await producer.disconnect();
  }
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
    ({ command, entry: audit } = approvalOf(config, entries, args.approve, who, now, args.reason));
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
    const { command, entry } = liftOf(view.gate, key, who, Date.now(), args.reason);
    await publish(config, view, 'lift', command, entry);
    return command;
  });
  process.stdout.write(`unfrozen: ${key} (was alert ${current.alertId})\n`);
  return 0;
}

/** `auditwatch freezes`: what is frozen now, and proposals waiting for approval. */
export async function freezesCommand(args: { config?: string; json?: boolean }): Promise<number> {
  const config = configFrom(args);
  const { kafka, active, rejected } = await withControl(config, false, async ({ kafka, gate }) => ({ kafka, active: gate.active(), rejected: gate.tampered }));
  const audit = (await readTopic(kafka, config.freeze.auditTopic).catch(() => [])).map((e) => e.value as FreezeAuditEntry | null).filter((e): e is FreezeAuditEntry => !!e);
  const proposals = waitingProposals(audit);
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
