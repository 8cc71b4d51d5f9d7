import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { decodeSettingsOf } from '../../src/decode/index.js';
import { AuditwatchError } from '../../src/errors.js';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { simulateNormalTraffic } from '../../src/sim/cloudtrail-sim.js';
import { FileSource } from '../../src/sources/file.js';

// Every decode thread the source starts, so that the test can end one mid-replay as a crash would. The threads are
// real: only their construction is observed.
const started = vi.hoisted(() => [] as Worker[]);
vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  class ObservedWorker extends real.Worker {
    constructor(...args: ConstructorParameters<typeof real.Worker>) {
      super(...args);
      started.push(this);
    }
  }
  return { ...real, Worker: ObservedWorker };
});

describe('a decode thread that dies mid-replay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-thread-fail-'));
  const config = loadConfig(join(PROJECT_ROOT, 'config', 'simulation.yaml'), {});
  const settings = decodeSettingsOf(config);
  const start = Date.parse('2026-02-02T00:00:00Z');
  const lines = simulateNormalTraffic({ seed: 5, from: start, to: start + 86_400_000 }).slice(0, 4000).map((r) => JSON.stringify(r));
  const path = join(dir, 'events.ndjson');
  writeFileSync(path, `${lines.join('\n')}\n`);

  it('fails the replay with a coded error after an unbroken run of lines, and skips none silently', async () => {
    expect(lines).toHaveLength(4000);
    const seen: number[] = [];
    // 64 KiB pieces: about fifty of them, most still ahead when the thread goes.
    const source = new FileSource(path, 'cloudtrail', { chunkBytes: 64 * 1024, decodeAhead: { threads: 1, settings } });
    const run = source.run(async (batch) => {
      for (const r of batch) {
        expect(r.decoded).toBeDefined();
        seen.push(Number(r.offset));
      }
      if (seen.length >= 100 && started.length === 1) await started[0]!.terminate();
    });

    const failure = await run.then(() => null, (err: unknown) => err);
    expect(started).toHaveLength(1);
    expect(failure).toBeInstanceOf(AuditwatchError);
    expect(failure).toMatchObject({ code: 'THREAD_FAILED', retriable: false, message: expect.stringMatching(/^decode thread exited with code \d+$/) });
    // What reached detection is the file's first lines, in order, each once: a prefix, not a sample.
    expect(seen.length).toBeGreaterThanOrEqual(100);
    expect(seen.length).toBeLessThan(lines.length);
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
  });
});
