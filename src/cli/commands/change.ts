import { userInfo } from 'node:os';
import { approvalMessage, signApproval, type ChangeApproval } from '../../actions/change-approval.js';
import { readChangeBook } from '../../actions/change-feed.js';
import { controlKeys } from '../../actions/control-publisher.js';
import { createKafka, ensureOutputTopics } from '../../kafka/client.js';
import { createLogger } from '../../log.js';
import { connectProducer } from '../../pipeline/assemble.js';
import { configFrom, parseTimeArg, UsageError } from '../common.js';

export interface ChangeApproveArgs {
  ticket?: string;
  environment?: string;
  principal?: string;
  resourceType?: string;
  from?: string;
  until?: string;
  operator?: string;
  config?: string;
}

/**
 * `auditwatch change approve`: a signed approval on the changes topic. Inside its window and scope, destructive
 * volume is an info alert naming the ticket and is never frozen, and change control (requireChange) lets it through.
 */
export async function changeApproveCommand(args: ChangeApproveArgs): Promise<number> {
  if (!args.ticket) throw new UsageError('--ticket is required');
  if (!args.environment) throw new UsageError('--environment is required');
  const from = parseTimeArg('--from', args.from) ?? Date.now();
  const until = parseTimeArg('--until', args.until);
  if (until === undefined) throw new UsageError('--until is required: an approval ends (ISO-8601 time or epoch ms)');
  if (until <= from) throw new UsageError(`--until must be after --from (${new Date(from).toISOString()})`);
  const config = configFrom(args);
  const { signer } = controlKeys(config);
  if (!signer) throw new UsageError('freeze.signing is not set: an approval is signed with the operator\'s key (set freeze.signing in the config)');
  const approvedBy = args.operator ?? process.env.AUDITWATCH_OPERATOR ?? userInfo().username;
  const approval = signApproval({
    ticket: args.ticket,
    scope: { environment: args.environment, ...(args.principal ? { principal: args.principal } : {}), ...(args.resourceType ? { resourceType: args.resourceType } : {}) },
    from, until, approvedBy, approvedAt: Date.now(),
  }, signer);
  const kafka = createKafka(config.kafka, createLogger(config.log.level));
  await ensureOutputTopics(kafka, config);
  const producer = await connectProducer(kafka);
  try {
    await producer.send({ topic: config.changes.topic, acks: -1, messages: [approvalMessage(approval)] });
  } finally {
    await producer.disconnect();
  }
  process.stdout.write(`approved: ${describe(approval)}\n`);
  return 0;
}

function describe(a: ChangeApproval): string {
  const scope = [a.scope.environment, a.scope.principal ?? 'any principal', a.scope.resourceType ?? 'any resource type'].join(' / ');
  return `${a.ticket}  ${scope}  ${new Date(a.from).toISOString()} .. ${new Date(a.until).toISOString()}  by ${a.approvedBy} (key ${a.keyId})`;
}

/** `auditwatch changes`: the approved changes on the topic, current and ended, and how many records were refused. */
export async function changesCommand(args: { config?: string; json?: boolean }): Promise<number> {
  const config = configFrom(args);
  const { keys } = controlKeys(config);
  const kafka = createKafka(config.kafka, createLogger(config.log.level));
  const { book, refused } = await readChangeBook(kafka, config.changes.topic, keys);
  const now = Date.now();
  const approvals = book.list();
  const ignored = Object.fromEntries([...refused].filter(([reason]) => reason !== 'expired'));
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ approvals, refused: ignored })}\n`);
    return 0;
  }
  if (approvals.length === 0) process.stdout.write(`no approved changes on ${config.changes.topic}\n`);
  for (const a of approvals) process.stdout.write(`${a.until <= now ? 'ENDED  ' : a.from > now ? 'PENDING' : 'ACTIVE '} ${describe(a)}\n`);
  const count = Object.values(ignored).reduce((t, n) => t + n, 0);
  if (count) process.stdout.write(`WARNING: ${count} record(s) refused and ignored (${Object.entries(ignored).map(([r, n]) => `${r} ${n}`).join(', ')})\n`);
  return 0;
}
