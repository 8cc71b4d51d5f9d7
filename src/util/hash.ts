import { createHash } from 'node:crypto';

/** Short, stable id from its parts: the same parts always give the same id (replay relies on it). */
export function stableId(prefix: string, ...parts: Array<string | number>): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(String(p)).update('\u0000');
  return `${prefix}-${h.digest('hex').slice(0, 20)}`;
}

/**
 * FNV-1a over the UTF-16 code units, as an unsigned 32-bit number: cheap, stable across processes and runs (the
 * repartition stage's partitions and the detection tables rely on it), not for anything an attacker must not collide.
 */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
