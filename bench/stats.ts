import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/kafka/local-broker.js';

/** Percentile by nearest rank over a copy: p(50) is the median. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** What the figures were measured on, printed and saved with them. */
export function machine(): { cpu: string; cores: number; memoryGiB: number; node: string } {
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
}

/** Who and what a result came from: the commit (with "-dirty" for uncommitted changes), the machine, the date. */
export function stamp(): { date: string; commit: string; machine: ReturnType<typeof machine> } {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8' }).stdout?.trim() ?? '';
  const commit = git('rev-parse', '--short', 'HEAD') || 'unknown';
  return { date: new Date().toISOString(), commit: git('status', '--porcelain', '--untracked-files=no') ? `${commit}-dirty` : commit, machine: machine() };
}

/**
 * Writes a suite's results, stamped, as a new file in bench/results/<suite>/ (history: nothing is overwritten), and
 * returns its path.
 */
export function saveResults(suite: string, results: object): string {
  const s = stamp();
  const dir = join(PROJECT_ROOT, 'bench', 'results', suite);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${s.date.replace(/[:.]/g, '-')}-${s.commit}.json`);
  writeFileSync(path, `${JSON.stringify({ suite, ...s, ...results }, null, 2)}\n`);
  return path;
}
