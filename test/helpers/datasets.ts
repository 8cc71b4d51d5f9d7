import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** ../shared/datasets beside the checkout; tests that need it skip with a message when it is absent. */
export const DATASETS = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'datasets');
export const haveDatasets = existsSync(DATASETS);
if (!haveDatasets) console.warn(`datasets not found at ${DATASETS}: dataset tests are skipped`);

export function filesUnder(dir: string, ext: string): string[] {
  const abs = join(DATASETS, dir);
  return readdirSync(abs).filter((f) => f.endsWith(ext)).sort().map((f) => join(abs, f));
}
