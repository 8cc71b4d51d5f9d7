/**
 * npm run bench [suite] — one entry for every benchmark; each prints its figures with ratios against a baseline
 * measured in the same run, and writes its stamped results to bench/results/<suite>/. The suites and their knobs
 * (BENCH_* environment variables) are listed in docs/performance.md.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/kafka/local-broker.js';

/** suite → its script, and the Node flags it needs. */
export const SUITES: Record<string, { file: string; flags?: string[]; what: string }> = {
  throughput: { file: 'throughput.ts', what: 'events/s end to end against bare kafkajs, replay, produce→alert latency, memory (the default)' },
  freeze: { file: 'freeze-latency.ts', what: 'first delete produced → alert, PostgreSQL, write gate, IAM policy, admission denial' },
  delivery: { file: 'delivery.ts', what: 'produce→alert with no output, an endpoint answering after 5 s, one refusing until it recovers; every revision delivered after' },
  gate: { file: 'gate-check.ts', what: 'the write gate\'s answer: in process, over HTTP, the admission webhook over HTTPS' },
  decoders: { file: 'decoders.ts', what: 'each input format\'s decoder against JSON.parse of the same bytes' },
  pipeline: { file: 'in-process.ts', what: 'the detection pipeline in process, with and without the learned model' },
  cpu: { file: 'cpu-split.ts', what: 'CPU per event and cores busy, by phase (BENCH_PHASES)' },
  thread: { file: 'consumer-thread.ts', what: 'one process with and without the consumer thread, and --workers' },
  memory: { file: 'memory.ts', flags: ['--expose-gc'], what: 'bytes per tracked entity (argument: entities, default 1,000,000)' },
};

const [suite = 'throughput', ...rest] = process.argv.slice(2);
const chosen = SUITES[suite];
if (!chosen) {
  process.stderr.write(`bench: unknown suite "${suite}" (one of ${Object.keys(SUITES).join(', ')})\n`);
  process.exit(2);
}
const r = spawnSync(process.execPath, [...(chosen.flags ?? []), '--import', 'tsx', join(PROJECT_ROOT, 'bench', chosen.file), ...rest], { stdio: 'inherit' });
process.exit(r.status ?? 1);
