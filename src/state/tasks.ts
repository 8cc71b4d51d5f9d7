import type { PolicyOutput } from '../alerts/policy.js';
import type { AuditEvent } from '../events/audit-event.js';
import type { DetectionProcessor } from '../pipeline/processors.js';
import type { EventProcessor } from '../pipeline/pipeline.js';
import type { SourceRecord } from '../sources/source.js';
import type { Changelogged } from './changelogged.js';

/** Everything detection keeps for one input partition: its own detectors and alert policy. */
export interface DetectionTask {
  readonly processor: DetectionProcessor;
  /** The stateful parts, in a fixed order: their entries are what the changelog holds. */
  readonly state: readonly Changelogged[];
  stats(): { tracked: number; evicted: number };
}

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
 * the changelog (src/state/partition-state.ts). Since every event of a principal lands on one partition (the input
 * is keyed by principal, or re-keyed through the repartition topic), each entity's state is whole in one task.
 */
export class DetectionTasks implements EventProcessor {
  private readonly tasks = new Map<string, DetectionTask>();

  constructor(private readonly build: () => DetectionTask) {}

  get(topic: string, partition: number): DetectionTask {
    const id = taskId(topic, partition);
    let task = this.tasks.get(id);
    if (!task) this.tasks.set(id, (task = this.build()));
    return task;
  }

  has(topic: string, partition: number): boolean {
    return this.tasks.has(taskId(topic, partition));
  }

  /** Replaces a task with one built fresh (before a restore fills it). */
  fresh(topic: string, partition: number): DetectionTask {
    const task = this.build();
    this.tasks.set(taskId(topic, partition), task);
    return task;
  }

  /** Whether this task object is still one of the held tasks. */
  holds(task: DetectionTask): boolean {
    for (const t of this.tasks.values()) if (t === task) return true;
    return false;
  }

  drop(topic: string, partition: number): void {
    this.tasks.delete(taskId(topic, partition));
  }

  refs(): TaskRef[] {
    return [...this.tasks.keys()].map((id) => {
      const at = id.lastIndexOf(':');
      return { topic: id.slice(0, at), partition: Number(id.slice(at + 1)) };
    });
  }

  process(event: AuditEvent, out: PolicyOutput, record: SourceRecord): void {
    this.get(record.topic, record.partition).processor.process(event, out);
  }

  flush(out: PolicyOutput): void {
    for (const task of this.tasks.values()) task.processor.flush(out);
  }

  stats(): { tracked: number; evicted: number } {
    let tracked = 0;
    let evicted = 0;
    for (const task of this.tasks.values()) {
      const s = task.stats();
      tracked += s.tracked;
      evicted += s.evicted;
    }
    return { tracked, evicted };
  }
}
