import type { DetectionOutput } from '../actions/freeze-stage.js';
import type { AuditEvent } from '../events/audit-event.js';
import type { DetectionProcessor } from './processors.js';
import type { EventProcessor } from './pipeline.js';
import type { SourceRecord } from '../sources/source.js';
import type { Changelogged } from '../state/changelogged.js';
import { partitionOf } from './repartition.js';

/** Everything detection keeps for one input partition: its own detectors and alert policy. */
export interface DetectionTask {
  readonly processor: DetectionProcessor;
  /** The stateful parts, in a fixed order: their entries are what the changelog holds. */
  readonly state: readonly Changelogged[];
  stats(): { tracked: number; evicted: number };
}

/**
 * Which task an event is detected in. `record`: its record's partition, for input keyed by principal (what `run`
 * consumes: keyed inputs and the repartition topic); each task then sees its partition in offset order, however
 * fast each partition is read, so a replay gives the live run's alerts. `principal`: the partition the repartition
 * stage gives its principal, so a window read from an input that is not keyed is split into the tasks `run` had;
 * the order within a task then follows the pace the partitions are read at, as it did live.
 */
export type TaskRoute = { by: 'record' } | { by: 'principal'; partitions: number };

/** The topic name `principal` routing files its tasks under: the repartition topic's partitions, by number. */
const BY_PRINCIPAL = 'principal';

export interface TaskRef {
  topic: string;
  partition: number;
}

/** The one name of a task: in the changelog keys, the local snapshot file names and the logs. */
export function taskId(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/**
 * Detection state split by input partition, as Kafka Streams splits it into tasks. An instance holds the tasks of
 * the partitions assigned to it; a rebalance drops the ones it gave up, and the ones it is given are restored from
 * the changelog (src/runtime/partition-state.ts). Since every event of a principal lands on one partition (the input
 * is keyed by principal, or re-keyed through the repartition topic), each entity's state is whole in one task.
 */
export class DetectionTasks<T extends DetectionTask = DetectionTask> implements EventProcessor {
  /** By topic, then partition: looked up for every event, so without building a task id string each time. */
  private readonly tasks = new Map<string, Map<number, T>>();

  constructor(private readonly build: () => T, private readonly route: TaskRoute = { by: 'record' }) {}

  get(topic: string, partition: number): T {
    return this.held(topic, partition) ?? this.fresh(topic, partition);
  }

  has(topic: string, partition: number): boolean {
    return this.held(topic, partition) !== undefined;
  }

  /** The task, if this instance holds it (unlike `get`, never creates one). */
  held(topic: string, partition: number): T | undefined {
    return this.tasks.get(topic)?.get(partition);
  }

  /** Replaces a task with one built fresh (before a restore fills it). */
  fresh(topic: string, partition: number): T {
    const task = this.build();
    let byPartition = this.tasks.get(topic);
    if (!byPartition) this.tasks.set(topic, (byPartition = new Map()));
    byPartition.set(partition, task);
    return task;
  }

  /** The tasks held now (a reload reconfigures each). */
  all(): T[] {
    return [...this.each()];
  }

  private *each(): Iterable<T> {
    for (const byPartition of this.tasks.values()) yield* byPartition.values();
  }

  drop(topic: string, partition: number): void {
    const byPartition = this.tasks.get(topic);
    byPartition?.delete(partition);
    if (byPartition?.size === 0) this.tasks.delete(topic);
  }

  refs(): TaskRef[] {
    return [...this.tasks].flatMap(([topic, byPartition]) => [...byPartition.keys()].map((partition) => ({ topic, partition })));
  }

  process(event: AuditEvent, out: DetectionOutput, record: SourceRecord): void {
    const task = this.route.by === 'record' ? this.get(record.topic, record.partition) : this.get(BY_PRINCIPAL, partitionOf(event.principal.id, this.route.partitions));
    task.processor.process(event, out);
  }

  flush(out: DetectionOutput): void {
    for (const task of this.each()) task.processor.flush(out);
  }

  stats(): { tracked: number; evicted: number } {
    let tracked = 0;
    let evicted = 0;
    for (const task of this.each()) {
      const s = task.stats();
      tracked += s.tracked;
      evicted += s.evicted;
    }
    return { tracked, evicted };
  }
}
