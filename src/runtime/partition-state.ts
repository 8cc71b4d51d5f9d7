import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kafka, Message, Producer } from 'kafkajs';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { KafkaTopicReader } from '../sources/kafka/topic-reader.js';
import { taskId, type DetectionTasks, type TaskRef } from '../pipeline/tasks.js';

/** Key separator in the changelog: `topic \0 partition \0 component \0 entity`. */
const SEP = '\u0000';
const POSITION = '@position';
/** Keep each produce request well under the broker's default 1 MB message limit. */
const MAX_SEND_BYTES = 600_000;

interface LocalSnapshot {
  version: 1;
  task: string;
  /** The changelog offset this snapshot includes everything up to (its partition is the task's partition). */
  changelogOffset: string;
  position: string | null;
  state: Record<string, Array<[string, unknown]>>;
}

export interface PartitionStateOptions {
  /** The compacted changelog topic; it has at least as many partitions as any input topic. */
  topic: string;
  /** Local snapshots for a fast restart (none when absent). */
  dir?: string;
}

/**
 * Per-partition detection state in a compacted Kafka topic, so a partition's baselines, windows and open incidents
 * move with the partition: after each batch whose outputs settled, the entries it changed are written (tombstones
 * for entities that are gone), followed by the task's position (the next input offset). Input partition p writes
 * changelog partition p, so one task's restore reads one changelog partition.
 *
 * Restore (a partition newly assigned): the local snapshot if there is one, then the changelog after the offset
 * that snapshot covers. The restored position may be ahead of the committed offset (a crash between the changelog
 * write and the commit): the source skips records below it, as their effect is already in the state.
 */
export class PartitionState {
  private readonly restoring = new Map<string, Promise<void>>();
  /** Restored positions not yet handed to the source. */
  private readonly positions = new Map<string, string | null>();
  /** Changelog offset of the last entry written or read per task, for local snapshots. */
  private readonly changelogOffsets = new Map<string, bigint>();
  /** The last position written to the changelog per task. */
  private readonly written = new Map<string, string>();
  /** Entries a failed write did not get out: they go first in the next write. */
  private readonly unsent = new Map<string, Message[]>();

  constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly tasks: DetectionTasks,
    private readonly opts: PartitionStateOptions,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  /**
   * The partitions this instance holds now (after a rebalance): tasks of the others are snapshotted and dropped;
   * the new ones start restoring at once, together, in one read of the changelog.
   */
  rebalanced(held: readonly TaskRef[]): void {
    const keep = new Set(held.map((r) => taskId(r.topic, r.partition)));
    for (const ref of this.tasks.refs()) {
      const id = taskId(ref.topic, ref.partition);
      if (keep.has(id)) continue;
      this.writeLocalSnapshot(ref);
      this.tasks.drop(ref.topic, ref.partition);
      this.restoring.delete(id);
      this.positions.delete(id);
      this.written.delete(id);
      this.changelogOffsets.delete(id);
      this.log.info({ task: id }, 'partition given up: its state stays in the changelog');
    }
    // A restore still running for a partition given up is abandoned: it will not install its task.
    for (const id of [...this.restoring.keys()]) if (!keep.has(id)) this.restoring.delete(id);
    const fresh = held.filter((r) => !this.restoring.has(taskId(r.topic, r.partition)));
    if (fresh.length) this.startRestore(fresh);
  }

  /**
   * Resolves when the task is restored, with the offset its state covers up to (records below it are already in
   * the state), or null when the source should simply go on from its committed offset. The position is handed out
   * once, for the first batch after the restore.
   */
  async ready(topic: string, partition: number): Promise<string | null> {
    const id = taskId(topic, partition);
    if (!this.restoring.has(id)) this.startRestore([{ topic, partition }]);
    await this.restoring.get(id);
    const position = this.positions.get(id) ?? null;
    this.positions.delete(id);
    return position;
  }

  private startRestore(refs: readonly TaskRef[]): void {
    const all = this.restore(refs, (id) => this.restoring.get(id) === all);
    for (const r of refs) this.restoring.set(taskId(r.topic, r.partition), all);
    // A failed restore is retried by the next ready() (the consumer re-delivers the batch that awaited it).
    all.catch((err: Error) => {
      for (const r of refs) this.restoring.delete(taskId(r.topic, r.partition));
      this.log.error({ tasks: refs.map((r) => taskId(r.topic, r.partition)), err: err.message }, 'state restore failed; retrying with the next batch');
    });
  }

  /** `current(id)`: this restore is still the one wanted for the task (a rebalance may have taken it away meanwhile). */
  private async restore(refs: readonly TaskRef[], current: (id: string) => boolean): Promise<void> {
    const started = Date.now();
    const pending = new Map<string, { ref: TaskRef; entries: Map<string, unknown>; position: string | null; offset: bigint }>();
    const from = new Map<number, bigint>();
    for (const ref of refs) {
      const id = taskId(ref.topic, ref.partition);
      const snap = this.readLocalSnapshot(id);
      const entries = new Map<string, unknown>();
      for (const [component, list] of Object.entries(snap?.state ?? {})) for (const [k, v] of list) entries.set(`${component}${SEP}${k}`, v);
      const offset = snap ? BigInt(snap.changelogOffset) : -1n;
      pending.set(id, { ref, entries, position: snap?.position ?? null, offset });
      const start = offset + 1n;
      const prev = from.get(ref.partition);
      if (prev === undefined || start < prev) from.set(ref.partition, start);
    }
    let read = 0;
    await new KafkaTopicReader(this.kafka, { topic: this.opts.topic, format: 'auto', partitions: [...from.keys()], startOffsets: from }, 'range').read((records) => {
      for (const r of records) {
        if (!r.key) continue;
        const key = r.key.toString();
        const a = key.indexOf(SEP);
        const b = key.indexOf(SEP, a + 1);
        const task = pending.get(`${key.slice(0, a)}:${key.slice(a + 1, b)}`);
        const offset = BigInt(r.offset);
        if (!task || offset <= task.offset) continue;
        task.offset = offset;
        read++;
        const rest = key.slice(b + 1);
        if (rest === POSITION) task.position = r.value ? (JSON.parse(r.value.toString()) as { next: string }).next : null;
        else if (r.value) task.entries.set(rest, JSON.parse(r.value.toString()));
        else task.entries.delete(rest);
      }
    });
    for (const [id, { ref, entries, position, offset }] of pending) {
      if (!current(id)) continue;
      const task = this.tasks.fresh(ref.topic, ref.partition);
      const byName = new Map(task.state.map((s) => [s.stateName, s]));
      for (const [k, v] of entries) {
        const at = k.indexOf(SEP);
        byName.get(k.slice(0, at))?.restoreEntry(k.slice(at + 1), v);
      }
      for (const s of task.state) s.changes.start();
      this.positions.set(id, position);
      if (position !== null) this.written.set(id, position);
      if (offset >= 0n) this.changelogOffsets.set(id, offset);
      this.metrics.stateRestoredEntries.inc(entries.size);
      this.log.info({ task: id, entries: entries.size, position, ms: Date.now() - started }, 'partition state restored');
    }
    this.metrics.stateRestoreSeconds.observe((Date.now() - started) / 1000);
    this.log.debug({ records: read }, 'changelog read');
  }

  /**
   * After a batch's outputs settled: writes what the batch changed in this partition's state, then its position
   * (`nextOffset`). Retries until written, so the source commits only offsets whose state is in the changelog.
   */
  async settled(topic: string, partition: number, nextOffset: string): Promise<void> {
    const id = taskId(topic, partition);
    const task = this.tasks.held(topic, partition);
    if (!task) return;
    const prefix = `${topic}${SEP}${partition}${SEP}`;
    const messages = this.unsent.get(id) ?? [];
    this.unsent.delete(id);
    for (const s of task.state) {
      for (const [k, v] of s.changes.drain((key) => s.entryOf(key))) messages.push({ key: `${prefix}${s.stateName}${SEP}${k}`, value: v === null ? null : JSON.stringify(v) });
    }
    // Nothing changed: the last written position still describes the state (these events changed none of it).
    if (messages.length === 0) return;
    messages.push({ key: `${prefix}${POSITION}`, value: JSON.stringify({ next: nextOffset }) });
    try {
      await this.send(id, partition, messages);
    } catch (err) {
      this.unsent.set(id, messages.slice(0, -1));
      throw err;
    }
    this.written.set(id, nextOffset);
    this.metrics.stateEntriesWritten.inc(messages.length - 1);
  }

  private async send(id: string, partition: number, messages: Message[]): Promise<void> {
    let chunk: Message[] = [];
    let bytes = 0;
    const flush = async () => {
      if (!chunk.length) return;
      const [meta] = await this.producer.send({ topic: this.opts.topic, acks: -1, messages: chunk.map((m) => ({ ...m, partition })) });
      if (meta?.baseOffset !== undefined) this.changelogOffsets.set(id, BigInt(meta.baseOffset) + BigInt(chunk.length - 1));
      chunk = [];
      bytes = 0;
    };
    for (const m of messages) {
      const size = String(m.key).length + (m.value ? String(m.value).length : 0) + 64;
      if (bytes + size > MAX_SEND_BYTES) await flush();
      chunk.push(m);
      bytes += size;
    }
    await flush();
  }

  /** Writes a local snapshot of every held task (on shutdown), so the next start restores from disk. */
  close(): void {
    for (const ref of this.tasks.refs()) this.writeLocalSnapshot(ref);
  }

  private file(id: string): string | undefined {
    return this.opts.dir ? join(this.opts.dir, `${encodeURIComponent(id)}.json`) : undefined;
  }

  private readLocalSnapshot(id: string): LocalSnapshot | undefined {
    const file = this.file(id);
    if (!file || !existsSync(file)) return undefined;
    try {
      const snap = JSON.parse(readFileSync(file, 'utf8')) as LocalSnapshot;
      if (snap.version !== 1 || snap.task !== id) throw new Error('not a snapshot of this task');
      return snap;
    } catch (err) {
      // The changelog alone restores the task: a bad snapshot costs only restore time.
      this.log.warn({ task: id, file, err: (err as Error).message }, 'local state snapshot unreadable; restoring from the changelog alone');
      return undefined;
    }
  }

  private writeLocalSnapshot(ref: TaskRef): void {
    const id = taskId(ref.topic, ref.partition);
    const file = this.file(id);
    const offset = this.changelogOffsets.get(id);
    // Only what the changelog already holds may be snapshotted: then "snapshot + changelog after it" is exact.
    const task = this.tasks.held(ref.topic, ref.partition);
    if (!file || offset === undefined || this.unsent.has(id) || !task || task.state.some((s) => s.changes.pending)) return;
    const state: LocalSnapshot['state'] = {};
    for (const s of task.state) state[s.stateName] = [...s.entries()];
    const snap: LocalSnapshot = { version: 1, task: id, changelogOffset: offset.toString(), position: this.written.get(id) ?? null, state };
    mkdirSync(this.opts.dir!, { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(snap));
    renameSync(`${file}.tmp`, file);
  }
}
