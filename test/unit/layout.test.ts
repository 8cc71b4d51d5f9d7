import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';

const SRC = join(PROJECT_ROOT, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The top folder of src/ a file is in ('' for src/ itself). */
const folderOf = (file: string) => {
  const parts = relative(SRC, file).split('/');
  return parts.length > 1 ? parts[0]! : '';
};

/** folder → the folders its files import, with one file that does it for each. */
function folderImports(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of files(SRC)) {
    const from = folderOf(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      const to = folderOf(resolve(dirname(file), spec!));
      if (!from || !to || from === to) continue;
      if (!graph.has(from)) graph.set(from, new Map());
      graph.get(from)!.set(to, relative(PROJECT_ROOT, file));
    }
  }
  return graph;
}

/**
 * Data flows source → decode → features/baselines → detectors → alert policy → freeze decisions → sinks and
 * actuators; the runtime wires them, the CLI runs it, reports and the console look at it. A stage does not import what
 * comes after it.
 */
const MUST_NOT_IMPORT: Record<string, string[]> = {
  decode: ['sources', 'baseline', 'detectors', 'alerts', 'actions', 'sinks', 'pipeline', 'runtime', 'report', 'console', 'cli'],
  baseline: ['detectors', 'alerts', 'actions', 'sinks', 'pipeline', 'runtime', 'report', 'console', 'cli'],
  detectors: ['alerts', 'actions', 'sinks', 'pipeline', 'runtime', 'report', 'console', 'cli'],
  alerts: ['actions', 'sinks', 'pipeline', 'runtime', 'report', 'console', 'cli'],
  actions: ['pipeline', 'runtime', 'report', 'console', 'cli'],
  sinks: ['actions', 'pipeline', 'runtime', 'report', 'console', 'cli'],
  pipeline: ['runtime', 'report', 'console', 'cli'],
  runtime: ['report', 'console', 'cli'],
  report: ['console', 'cli'],
};

describe('the layout of src/', () => {
  const graph = folderImports();

  it('imports follow the flow: no stage imports one after it', () => {
    const against: string[] = [];
    for (const [from, later] of Object.entries(MUST_NOT_IMPORT)) {
      for (const to of later) {
        const where = graph.get(from)?.get(to);
        if (where) against.push(`${from} -> ${to} (${where})`);
      }
    }
    expect(against).toEqual([]);
  });

  it('the folders import each other without a cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (node: string, path: string[]) => {
      state.set(node, 'open');
      for (const next of graph.get(node)?.keys() ?? []) {
        if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].join(' -> '));
        else if (!state.has(next)) visit(next, [...path, next]);
      }
      state.set(node, 'done');
    };
    for (const node of graph.keys()) if (!state.has(node)) visit(node, [node]);
    expect(cycles).toEqual([]);
  });
});
