import type { InputFormat } from '../../config/schema.js';
import { decodeContextFrom, decodeRecord } from '../../decode/index.js';
import type { AuditEvent } from '../../events/audit-event.js';
import { createKafka, ensureTopics } from '../../kafka/client.js';
import { createLogger } from '../../log.js';
import { connectProducer } from '../../pipeline/assemble.js';
import { Rejections } from '../../pipeline/rejections.js';
import { requireEvents, warnRejected } from '../../pipeline/window.js';
import { KafkaDeadLetterSink, type DeadLetter } from '../../sinks/dead-letter.js';
import { FileSource } from '../../sources/file.js';
import { configFrom, UsageError } from '../common.js';

export interface IngestArgs {
  input?: string;
  topic?: string;
  format: InputFormat;
  config?: string;
  partitions?: string;
}

/**
 * A progress line on a terminal (the archive's size once decompressed is not known, so a spinner and the counts),
 * rewritten in place at most every 200 ms; nothing when stderr is not a terminal.
 */
function progress(): { update: (events: number) => void; done: () => void } {
  if (!process.stderr.isTTY) return { update: () => {}, done: () => {} };
  const started = performance.now();
  const spinner = '|/-\\';
  let last = 0;
  let turn = 0;
  return {
    update: (events) => {
      const now = performance.now();
      if (now - last < 200) return;
      last = now;
      const rate = Math.round(events / ((now - started) / 1000));
      process.stderr.write(`\r${spinner[turn++ % spinner.length]} ${events.toLocaleString('en')} events, ${rate.toLocaleString('en')} events/s `);
    },
    done: () => process.stderr.write('\r\x1b[K'),
  };
}

/**
 * `auditwatch ingest`: an archive in any input format (a file, or a directory tree such as an S3 export of
 * CloudTrail) written to a topic as canonical events, keyed by principal and stamped with event time, so that
 * `train --topic T --from --to` learns from it and `replay --topic` replays it. Records that do not decode go to the
 * dead-letter topic with their reason.
 */
export async function ingestCommand(args: IngestArgs): Promise<number> {
  if (!args.input) throw new UsageError('--input is required: a file, a directory of files, or - for stdin');
  if (!args.topic) throw new UsageError('--topic is required: the topic to write the events to');
  const partitions = args.partitions === undefined ? 6 : Number(args.partitions);
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 10_000) throw new UsageError(`--partitions: expected a whole number from 1 to 10000, got "${args.partitions}"`);
  const config = configFrom(args);
  const log = createLogger(config.log.level);
  const kafka = createKafka(config.kafka, log);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic: args.topic, partitions }, { topic: config.deadLetter.topic }]).finally(() => admin.disconnect());
  const producer = await connectProducer(kafka);
  const deadLetters = new KafkaDeadLetterSink(producer, config.deadLetter.topic, log.child({ component: 'dead-letter' }));
  const ctx = decodeContextFrom(config);
  const source = new FileSource(args.input, args.format);
  const totals = { events: 0, records: 0, ignored: 0, deadLettered: 0 };
  const rejections = new Rejections();
  const bar = progress();
  const started = performance.now();
  try {
    await source.run(async (records) => {
      const events: AuditEvent[] = [];
      const dead: DeadLetter[] = [];
      for (const record of records) {
        const decoded = decodeRecord(record, ctx);
        if ('error' in decoded) {
          dead.push({ record, error: decoded.error });
          rejections.add(record.topic, decoded.error);
        } else {
          events.push(...decoded.events);
          totals.ignored += decoded.ignored;
        }
      }
      await producer.send({
        topic: args.topic!,
        acks: -1,
        messages: events.map((e) => ({ key: e.principal.id, value: JSON.stringify(e), timestamp: String(e.time) })),
      });
      await deadLetters.publish(dead);
      totals.records += records.length;
      totals.events += events.length;
      totals.deadLettered += dead.length;
      bar.update(totals.events);
    });
  } finally {
    bar.done();
    await producer.disconnect();
  }
  warnRejected(log, args.format, { rejections });
  requireEvents({ kind: 'file', path: args.input }, args.format, source, { totals, rejections });
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`ingested ${totals.events.toLocaleString('en')} events from ${totals.records.toLocaleString('en')} records (${source.stats.files.toLocaleString('en')} file(s)) ` +
    `to ${args.topic} in ${seconds.toFixed(1)} s (${Math.round(totals.events / seconds).toLocaleString('en')} events/s); ${totals.ignored} ignored, ${totals.deadLettered} dead-lettered to ${config.deadLetter.topic}\n`);
  return 0;
}
