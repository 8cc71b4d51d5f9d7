import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

export type ModelBackend = 'tensorflow' | 'wasm' | 'cpu';
let chosen: Promise<ModelBackend> | undefined;

/**
 * tfjs-node when it is installed and loads (its install needs a download some machines cannot make), else the WASM
 * backend shipped inside its npm package (works offline), else plain CPU. Chosen once per process.
 */
export function useBestBackend(): Promise<ModelBackend> {
  chosen ??= (async (): Promise<ModelBackend> => {
    try {
      await import('@tensorflow/tfjs-node' as string);
      if (await tf.setBackend('tensorflow')) return 'tensorflow';
    } catch {
      /* optional dependency absent or unloadable */
    }
    const before = processErrorListeners();
    try {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const require = createRequire(import.meta.url);
      wasm.setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);
      if (await tf.setBackend('wasm')) return 'wasm';
    } catch {
      /* fall through to CPU */
    } finally {
      removeListenersAddedSince(before);
    }
    await tf.setBackend('cpu');
    return 'cpu';
  })();
  return chosen;
}

const PROCESS_ERROR_EVENTS = ['uncaughtException', 'unhandledRejection'];
/** The process as a plain emitter: its typed overloads take one event name at a time. */
const processEvents: NodeJS.EventEmitter = process;

function processErrorListeners(): Map<string, Set<Function>> {
  return new Map(PROCESS_ERROR_EVENTS.map((event) => [event, new Set(processEvents.listeners(event))]));
}

/**
 * The WASM module (Emscripten) installs process-wide handlers as it loads: one that rethrows any uncaught exception
 * and one that throws any unhandled rejection. Node then ends the process with code 7 and a stack trace that points
 * into tf-backend-wasm, whatever the error was: an operator or a supervisor would read it as a model failure. Its
 * handlers serve only Emscripten's own exit(), which tfjs never calls; removed, Node's own handling (the error
 * printed, exit code 1) applies again.
 */
function removeListenersAddedSince(before: Map<string, Set<Function>>): void {
  for (const event of PROCESS_ERROR_EVENTS) {
    for (const listener of processEvents.listeners(event)) {
      if (!before.get(event)!.has(listener)) processEvents.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
}

export { tf };
