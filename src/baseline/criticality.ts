import { globToRegExp } from '../util/glob.js';
import { memo } from '../util/memo.js';

/**
 * Criticality weight per resource type (glob → weight, first match, otherwise 1). One instance is shared by every
 * detector of a pipeline, so a reload that changes the table changes it for all of them at once.
 */
export class Criticality {
  private lookup: (type: string) => number = () => 1;
  private actionLookup: (action: string) => number | undefined = () => undefined;

  constructor(table: Record<string, number>) {
    this.replace(table);
  }

  /** Entries `action:<glob>` weigh a qualified action (a write that destroys); the others a resource type. */
  replace(table: Record<string, number>): void {
    const entries = Object.entries(table);
    const types = entries.filter(([k]) => !k.startsWith(ACTION)).map(([glob, w]): [RegExp, number] => [globToRegExp(glob), w]);
    const actions = entries.filter(([k]) => k.startsWith(ACTION)).map(([k, w]): [RegExp, number] => [globToRegExp(k.slice(ACTION.length)), w]);
    this.lookup = memo((type) => types.find(([re]) => re.test(type))?.[1] ?? 1);
    this.actionLookup = memo((action) => actions.find(([re]) => re.test(action))?.[1]);
  }

  weight(resourceType: string): number {
    return this.lookup(resourceType);
  }

  /** The weight of a qualified action, when the table names it. */
  actionWeight(action: string): number | undefined {
    return this.actionLookup(action);
  }
}

const ACTION = 'action:';
