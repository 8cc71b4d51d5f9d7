import type { Kafka } from 'kafkajs';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { KafkaFollower, KafkaTopicReader } from '../sources/kafka/topic-reader.js';
import { ChangeBook, type ApprovalVerdict } from './change-approval.js';
import type { KeyRing } from './signing.js';

/** Counts and logs what the book refused: an unsigned, forged or expired approval is ignored, never silent. */
function reporter(metrics: Metrics | undefined, log: Logger | undefined) {
  return (verdict: ApprovalVerdict, at: { partition: number; offset: string }) => {
    if (verdict.ok) return;
    metrics?.changeApprovalsRejected.inc({ reason: verdict.reason });
    if (verdict.reason === 'expired') log?.debug({ ...at, detail: verdict.detail }, 'approved change already over');
    else log?.warn({ ...at, reason: verdict.reason, detail: verdict.detail }, 'change approval refused');
  };
}

/**
 * The approved changes detection judges by: the changes topic followed from its start (follow mode), every record
 * verified against the trusted keys. `start` resolves once the approvals already on the topic are in the book.
 */
export class ChangeFeed {
  readonly book: ChangeBook;
  private readonly follower: KafkaFollower;

  constructor(kafka: Kafka, topic: string, keys: KeyRing, private readonly metrics?: Metrics, private readonly log?: Logger) {
    this.book = new ChangeBook(keys);
    this.follower = new KafkaFollower(kafka, topic, 'auditwatch-changes');
  }

  async start(): Promise<void> {
    const report = reporter(this.metrics, this.log);
    await this.follower.start((r) => report(this.book.apply(r.key?.toString('utf8'), r.value), r));
  }

  stop(): Promise<void> {
    return this.follower.stop();
  }
}

/** The changes topic as it is now, read once (the operator commands, replay): the book and what it refused. */
export async function readChangeBook(kafka: Kafka, topic: string, keys: KeyRing): Promise<{ book: ChangeBook; refused: Map<string, number> }> {
  const book = new ChangeBook(keys);
  await new KafkaTopicReader(kafka, { topic, format: 'auto' }, 'range').read((records) => {
    for (const r of records) book.apply(r.key?.toString('utf8'), r.value);
  });
  return { book, refused: book.rejected };
}

/**
 * For a replay of a topic window: the approved changes as they stand, so the replay judges as the live run did (an
 * approval covers only events after it was approved). Undefined when the cluster has no changes topic.
 */
export async function approvedChangesFor(kafka: Kafka, topic: string, keys: KeyRing): Promise<ChangeBook | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  const exists = await admin.listTopics().then((t) => t.includes(topic)).finally(() => admin.disconnect());
  return exists ? (await readChangeBook(kafka, topic, keys)).book : undefined;
}
