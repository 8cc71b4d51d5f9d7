import { globToRegExp } from '../util/glob.js';
import { memo } from '../util/memo.js';

/**
 * Criticality weight per resource type (glob → weight, first match, otherwise 1). One instance is shared by every
 * detector of a pipeline, so a reload that changes the table changes it for all of them at once.
 */
export class Criticality {
  private rules: Array<[RegExp, number]> = [];
  private lookup: (type: string) => number = () => 1;

  constructor(table: Record<string, number>) {
    this.replace(table);
  }

  replace(table: Record<string, number>): void {
    this.rules = Object.entries(table).map(([glob, w]) => [globToRegExp(glob), w]);
    this.lookup = memo((type) => this.rules.find(([re]) => re.test(type))?.[1] ?? 1);
  }

  weight(resourceType: string): number {
    return this.lookup(resourceType);
  }
}
