import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';

const BACKEND = pathToFileURL(join(PROJECT_ROOT, 'dist', 'model', 'backend.js')).href;

/** A process that loads the model backend as `run` does, then fails in the way given. */
function failingAfterBackend(failure: string) {
  const script = `
    const { useBestBackend } = await import(${JSON.stringify(BACKEND)});
    console.log('backend=' + await useBestBackend());
    ${failure}
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('the model backend and the process\'s own error handling (built dist/)', () => {
  // Emscripten's handlers, installed as the WASM module loads, made both exit 7 with the stack pointing into tf-backend-wasm.
  it.each([
    ['an uncaught exception', "setTimeout(() => { throw new Error('thrown from a timer'); }, 1);", 'Error: thrown from a timer'],
    ['an unhandled rejection', "Promise.reject(new Error('a rejection nobody handled'));", 'Error: a rejection nobody handled'],
  ])('%s after the WASM backend loads ends the process as Node would: its error, exit 1', (_what, failure, error) => {
    const r = failingAfterBackend(failure);
    expect(r.out).toContain('backend=wasm');
    expect(r.err).toContain(error);
    expect(r.err).not.toContain('tf-backend-wasm');
    expect(r.code).toBe(1);
  });
});
