import { cpus, totalmem } from 'node:os';

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
