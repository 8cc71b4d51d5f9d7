import { createHash } from 'node:crypto';

/** Short, stable id from its parts: the same parts always give the same id (replay relies on it). */
export function stableId(prefix: string, ...parts: Array<string | number>): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(String(p)).update('\u0000');
  return `${prefix}-${h.digest('hex').slice(0, 20)}`;
}
