import { BoundedSet } from '../util/bounded-set.js';
import { freezeId, type FreezeCommand } from './freeze-command.js';

/**
 * The freezes a cap counts: each once however often it is seen (decided here, read back from the control topic),
 * by its event time. The dispatcher decides with one; every reader of the control topic enforces with another.
 */
export class CapWindow {
  private times: number[] = [];
  private readonly ids = new BoundedSet<string>(10_000);

  has(c: FreezeCommand): boolean {
    return this.ids.has(freezeId(c));
  }

  /** False when the freeze was counted already. */
  add(c: FreezeCommand): boolean {
    const id = freezeId(c);
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    this.times.push(c.createdAt);
    return true;
  }

  /** Freezes decided after `since` and no later than `until`. */
  count(since: number, until = Infinity): number {
    let n = 0;
    for (const t of this.times) if (t > since && t <= until) n++;
    return n;
  }

  /** Forgets what was decided at or before `before`: no window reaches back that far any more. */
  forget(before: number): void {
    this.times = this.times.filter((t) => t > before);
  }
}
