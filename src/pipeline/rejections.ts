import type { AuditwatchError } from '../errors.js';

/** A file's kind by its extension (`*.json.gz`, `*.txt`), or a topic's name: how rejections are grouped for people. */
function kindOf(source: string): string {
  if (!source.includes('/')) return source;
  const base = source.slice(source.lastIndexOf('/') + 1);
  const dot = base.indexOf('.');
  return dot > 0 ? `*${base.slice(dot)}` : base;
}

interface Tally {
  count: number;
  first: string;
}

/**
 * Why records were dead-lettered, kept for the people who gave the input: per error code, and per kind of input
 * with the sources it came from, each with its count and first reason. Only dead letters pass through here.
 */
export class Rejections {
  readonly byCode = new Map<string, Tally>();
  readonly byKind = new Map<string, { records: number; sources: Set<string>; codes: Map<string, number>; first: string }>();

  add(source: string, error: AuditwatchError): void {
    const code = this.byCode.get(error.code);
    if (code) code.count++;
    else this.byCode.set(error.code, { count: 1, first: error.message });
    const kind = kindOf(source);
    let byKind = this.byKind.get(kind);
    if (!byKind) this.byKind.set(kind, (byKind = { records: 0, sources: new Set(), codes: new Map(), first: error.message }));
    byKind.records++;
    if (byKind.sources.size < 100_000) byKind.sources.add(source);
    byKind.codes.set(error.code, (byKind.codes.get(error.code) ?? 0) + 1);
  }
}
