import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import type { Config, SourceSpec } from '../../config/schema.js';
import { decodeContextFrom, decodeValue, type DecodeContext, type DecodeSettings } from '../../decode/index.js';
import { DecodedReader } from '../../decode/transfer.js';
import { AuditwatchError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Metrics } from '../../metrics/metrics.js';
import { startThread } from '../../util/threads.js';
import type { BatchMessage, ConsumerThreadOptions, ControlMessage, ThreadMessage } from './thread-worker.js';
import { fromPosition, settlePartition, type PartitionHooks } from './member.js';
import { offsetAfter, offsetAt } from './batch-offsets.js';
import type { Source, SourceRecord } from '../source.js';

/** Decode settings as sent to the consumer thread, with the context built from them once a stale batch needs it. */
interface SentSettings {
  settings: DecodeSettings;
  ctx?: DecodeContext;
}

/**
 * The live source with kafkajs on a thread of its own (thread-worker.ts): that thread fetches and decodes a share
 * of each batch while this one decodes the rest and runs detection, so fetching, decoding and detecting overlap.
 * The guarantees are KafkaGroupSource's:
 * - a batch's offset is committed only after the pipeline settled every output of it, and its partition state
 *   is in the changelog;
 * - the batches of a partition are handled one after another, in order;
 * - a rebalance kafkajs announces waits until every batch handed over has settled (the consumer thread's fence),
 *   so a partition's new owner restores state that includes them.
 * A member that has already lost its membership (its session expired) finds out only when it next talks to the
 * group, as with KafkaGroupSource: its late state writes hold what the new owner computes again from the same events.
 */
export class KafkaThreadSource implements Source {
  private thread: Worker | undefined;
  running = false;
  private stopping = false;
  /** Every batch handed over and not yet settled, for the fence and the drain. */
  private readonly inHand = new Set<Promise<void>>();
  /** Per partition, the last batch's handling: the next batch of that partition starts after it. */
  private readonly tails = new Map<string, Promise<void>>();
  /**
   * The decode settings sent to the consumer thread that a batch still to arrive may have been decoded with, by
   * version: the latest, and any the thread may not yet have switched from. A batch is decoded whole with one version
   * (see decodeStale); the port delivers in order, so a batch of version v means no older version is still to come.
   */
  private readonly settingsSent = new Map<number, SentSettings>();
  private settingsVersion = 0;

  constructor(
    private readonly kafkaConfig: Config['kafka'],
    private readonly groupId: string,
    private readonly specs: ReadonlyArray<Pick<Extract<SourceSpec, { type: 'kafka' }>, 'topics' | 'format' | 'fromBeginning'>>,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    /** The decode settings at start; a config reload sends new ones (decodeSettingsChanged). */
    settings: DecodeSettings,
    /** The pipeline's redelivery check remembers this many ids (`admission.dedupeWindow`). */
    private readonly dedupeWindow: number,
    private readonly hooks?: PartitionHooks,
  ) {
    this.settingsSent.set(0, { settings });
  }

  async run(handle: (records: SourceRecord[]) => Promise<void>): Promise<void> {
    const fence = new SharedArrayBuffer(4);
    const fenceFlag = new Int32Array(fence);
    const options: ConsumerThreadOptions = {
      kafka: { brokers: this.kafkaConfig.brokers, clientId: this.kafkaConfig.clientId, ssl: this.kafkaConfig.ssl, sasl: this.kafkaConfig.sasl },
      logLevel: this.log.level,
      groupId: this.groupId,
      subscriptions: this.specs.map((s) => ({ topics: s.topics, fromBeginning: s.fromBeginning, format: s.format })),
      tuning: this.kafkaConfig.consumer,
      settings: this.settingsSent.get(this.settingsVersion)!.settings,
      settingsVersion: this.settingsVersion,
      fence,
      // Half the redelivery check's window: what a rebalance leaves uncommitted is dropped when read again.
      maxRecordsInFlight: Math.max(1, Math.floor(this.dedupeWindow / 2)),
    };
    const thread = startThread(new URL(import.meta.url.endsWith('.ts') ? './thread-worker.ts' : './thread-worker.js', import.meta.url), options);
    this.thread = thread;
    const reader = new DecodedReader();
    let gaveUp!: (err: AuditwatchError) => void;
    const stopped = new Promise<void>((resolve, reject) => {
      thread.once('exit', (code) => (this.stopping ? resolve() : reject(new Error(`the consumer thread exited (${code}) while consuming`))));
      thread.once('error', reject);
      gaveUp = reject;
    });
    thread.on('message', (m: ThreadMessage) => {
      switch (m.type) {
        case 'consuming':
          this.running = true;
          this.log.info({ groupId: this.groupId, topics: this.specs.flatMap((s) => s.topics), consumerThread: true }, 'consuming');
          return;
        case 'rebalancing': {
          // Every batch handed over before this message is in `inHand` already: a port delivers in order.
          const batches = this.inHand.size;
          const started = Date.now();
          void Promise.allSettled([...this.inHand]).then(() => {
            this.log.info({ batches, ms: Date.now() - started }, 'rebalance: batches in hand settled; rejoining');
            Atomics.store(fenceFlag, 0, 1);
            Atomics.notify(fenceFlag, 0);
          });
          return;
        }
        case 'joined':
          this.hooks?.rebalanced(m.held);
          this.log.info({ partitions: m.held.length, fencedMs: m.fencedMs === undefined ? undefined : Math.round(m.fencedMs) }, 'joined the group');
          return;
        case 'gave-up':
          // The run fails with this; its stop() then drains what was handed over and ends the thread.
          this.running = false;
          gaveUp(new AuditwatchError('CONSUMER_GAVE_UP', m.message));
          return;
        case 'stopped':
          void thread.terminate();
          return;
        case 'batch':
          // Read now, in arrival order: the reader's string table follows the writer's, piece by piece.
          this.accept(m, this.records(m, reader), this.settingsOf(m), handle);
      }
    });
    await stopped;
    this.running = false;
  }

  /** The batch's records in offset order: those decoded on the consumer thread, and the raw rest. */
  private records(m: BatchMessage, reader: DecodedReader): SourceRecord[] {
    const { format } = m;
    const records = new Array<SourceRecord>(m.offsets.length);
    for (const line of reader.read(Buffer.from(m.decoded.buffer, m.decoded.byteOffset, m.decoded.byteLength)).records) {
      const i = line.line - 1;
      records[i] = { topic: m.topic, partition: m.partition, offset: offsetAt(m.offsets, i), key: null, value: null, format, decoded: line.decoded };
    }
    const raw = Buffer.from(m.raw.buffer, m.raw.byteOffset, m.raw.byteLength);
    for (let n = 0; n < m.rawIndex.length; n++) {
      const i = m.rawIndex[n]!;
      const keyAt = m.rawBounds[3 * n]!;
      const valueAt = m.rawBounds[3 * n + 1]!;
      const end = m.rawBounds[3 * n + 2]!;
      records[i] = {
        topic: m.topic, partition: m.partition, offset: offsetAt(m.offsets, i), format,
        key: keyAt < 0 ? null : raw.subarray(keyAt, valueAt < 0 ? end : valueAt),
        value: valueAt < 0 ? null : raw.subarray(valueAt, end),
      };
    }
    return records;
  }

  /** Queues the batch behind its partition's previous one; acknowledges it once handled and settled. */
  private accept(m: BatchMessage, all: SourceRecord[], decodedWith: SentSettings, handle: (records: SourceRecord[]) => Promise<void>): void {
    const key = `${m.topic}:${m.partition}`;
    const handled: Promise<void> = (this.tails.get(key) ?? Promise.resolve())
      // One turn of the event loop first: batches arriving back to back would otherwise keep it from polling
      // sockets and timers (a member joining the group once waited 11 s for its first request to go out).
      .then(() => nextTurn())
      .then(async () => {
        if (this.stopping) return this.post({ type: 'ack', seq: m.seq, commit: false });
        const hooks = this.hooks;
        const records = hooks ? fromPosition(all, await hooks.ready(m.topic, m.partition)) : all;
        this.decodeStale(m, decodedWith, records);
        if (records.length) await handle(records);
        if (hooks) await settlePartition(hooks, m.topic, m.partition, offsetAfter(m.offsets), { log: this.log, stopping: () => this.stopping });
        this.metrics.consumerLag.set({ topic: m.topic, partition: String(m.partition) }, m.lag);
        this.post({ type: 'ack', seq: m.seq, commit: true });
      })
      .catch((err: Error) => {
        // Not committed: the batch is read again after the next restart or rebalance.
        this.log.error({ err: err.message, topic: m.topic, partition: m.partition }, 'batch not settled; it will be read again');
        this.post({ type: 'ack', seq: m.seq, commit: false });
      })
      .finally(() => {
        this.inHand.delete(handled);
        if (this.tails.get(key) === handled) this.tails.delete(key);
      });
    this.inHand.add(handled);
    this.tails.set(key, handled);
  }

  /**
   * After a config reload: sends the new decode settings to the consumer thread, so that what it fetches from now on
   * is decoded with them. Batches it decoded before keep the settings they were decoded with (decodeStale).
   */
  decodeSettingsChanged(settings: DecodeSettings): void {
    this.settingsSent.set(++this.settingsVersion, { settings });
    this.post({ type: 'settings', version: this.settingsVersion, settings });
  }

  /** The settings a batch was decoded with; older versions cannot come again after it and are forgotten. */
  private settingsOf(m: BatchMessage): SentSettings {
    for (const version of this.settingsSent.keys()) if (version < m.settingsVersion) this.settingsSent.delete(version);
    return this.settingsSent.get(m.settingsVersion)!;
  }

  /**
   * A batch the consumer thread decoded with settings older than the latest sent (which the pipeline has decoded with
   * since the reload): the records it left raw are decoded here with the batch's own settings, not the pipeline's, so
   * that no batch is decoded half one way and half the other. The pipeline does not decode a record that has `decoded`.
   */
  private decodeStale(m: BatchMessage, decodedWith: SentSettings, records: SourceRecord[]): void {
    if (m.settingsVersion === this.settingsVersion) return;
    const ctx = (decodedWith.ctx ??= decodeContextFrom(decodedWith.settings));
    for (const r of records) r.decoded ??= decodeValue(r.value, r.format, ctx);
  }

  private post(m: ControlMessage): void {
    this.thread?.postMessage(m);
  }

  /** Lets the batches in hand settle and be committed, then leaves the group. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.running = false;
    // Batches not yet begun, and any that arrive from now on, are acknowledged without being handled or committed.
    this.stopping = true;
    await Promise.allSettled([...this.inHand]);
    // The consumer thread commits what was acknowledged before this, then leaves the group and exits.
    this.post({ type: 'stop' });
  }
}
