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
    try {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const require = createRequire(import.meta.url);
      wasm.setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);
      if (await tf.setBackend('wasm')) return 'wasm';
    } catch {
      /* fall through to CPU */
    }
    await tf.setBackend('cpu');
    return 'cpu';
  })();
  return chosen;
}

export { tf };
