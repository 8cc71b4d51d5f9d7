import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditwatchError } from '../errors.js';
import { tf, useBestBackend, type ModelBackend } from './backend.js';
import { FEATURE_SPEC_VERSION, FEATURES } from './features.js';

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';
export const MANIFEST_FILE = 'model-manifest.json';
const MAX_SAMPLES = 20_000;
const EPOCHS = 40;

export interface ModelManifest {
  featureSpecVersion: number;
  features: readonly string[];
  trainedOn: { from: number | null; to: number | null; events: number };
  samples: number;
  epochs: number;
  backend: ModelBackend;
  mean: number[];
  std: number[];
  /** Reconstruction-error quantiles on the training vectors: the score is error ÷ p999. */
  calibration: { p50: number; p99: number; p999: number };
}

export interface Autoencoder {
  model: tf.LayersModel;
  manifest: ModelManifest;
}

function quantile(sorted: Float32Array, q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))]! : 0;
}

function normalise(rows: readonly Float32Array[], mean: readonly number[], std: readonly number[]): tf.Tensor2D {
  const n = FEATURES.length;
  const flat = new Float32Array(rows.length * n);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    for (let j = 0; j < n; j++) flat[i * n + j] = (r[j]! - mean[j]!) / std[j]!;
  }
  return tf.tensor2d(flat, [rows.length, n]);
}

interface DenseLayer {
  kernel: tf.Tensor2D;
  bias: tf.Tensor1D;
  activation: 'relu' | 'linear';
}

/** Each model's dense stack, read once: its weights stay on the backend for the model's lifetime. */
const denseStacks = new WeakMap<tf.LayersModel, DenseLayer[] | null>();

function denseStack(model: tf.LayersModel): DenseLayer[] | null {
  let stack = denseStacks.get(model);
  if (stack === undefined) {
    stack = model.layers.every((l) => l.getClassName() === 'Dense' && ['relu', 'linear'].includes((l.getConfig() as { activation: string }).activation))
      ? model.layers.map((l) => {
        const [kernel, bias] = l.getWeights();
        return { kernel: kernel as tf.Tensor2D, bias: bias as tf.Tensor1D, activation: (l.getConfig() as { activation: 'relu' | 'linear' }).activation };
      })
      : null;
    denseStacks.set(model, stack);
  }
  return stack;
}

/**
 * Mean squared reconstruction error per row. The model's dense layers run as fused matMul+bias+activation ops:
 * the same arithmetic as `model.predict` (bit for bit on the WASM backend), without its per-call layer machinery,
 * which cost ten times the maths at the batch sizes the pipeline sends.
 */
export function reconstructionErrors(ae: Autoencoder, rows: Float32Array[]): Float32Array {
  const stack = denseStack(ae.model);
  // The errors are read after the scope ends: tidy walks whatever its function returns looking for tensors to keep,
  // and a Float32Array of the batch's errors would be walked element by element.
  const errors = tf.tidy(() => {
    const x = normalise(rows, ae.manifest.mean, ae.manifest.std);
    let y: tf.Tensor2D;
    if (stack) {
      y = x;
      for (const l of stack) y = tf.fused.matMul({ a: y, b: l.kernel, bias: l.bias, activation: l.activation }) as tf.Tensor2D;
    } else {
      y = ae.model.predict(x) as tf.Tensor2D;
    }
    return tf.mean(tf.squaredDifference(x, y), 1);
  });
  try {
    return errors.dataSync() as Float32Array;
  } finally {
    errors.dispose();
  }
}

/**
 * A small autoencoder (12 → 8 → 4 → 8 → 12) over destructive-event feature vectors. What it reconstructs badly
 * is unlike anything in the history. Initialisation is seeded and the data is not shuffled, so training is
 * repeatable on one backend.
 */
export async function trainAutoencoder(vectors: Float32Array[], trainedOn: ModelManifest['trainedOn']): Promise<Autoencoder | null> {
  if (vectors.length < 200) return null; // too little to learn from: the model detector stays off
  const backend = await useBestBackend();
  const step = Math.max(1, Math.ceil(vectors.length / MAX_SAMPLES));
  const rows = vectors.filter((_, i) => i % step === 0);
  const n = FEATURES.length;
  const mean = Array.from({ length: n }, (_, j) => rows.reduce((s, r) => s + r[j]!, 0) / rows.length);
  const std = Array.from({ length: n }, (_, j) => Math.max(1e-3, Math.sqrt(rows.reduce((s, r) => s + (r[j]! - mean[j]!) ** 2, 0) / rows.length)));
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [n], units: 8, activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.dense({ units: 4, activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.dense({ units: 8, activation: 'relu', kernelInitializer: init(3) }),
      tf.layers.dense({ units: n, kernelInitializer: init(4) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
  const x = normalise(rows, mean, std);
  await model.fit(x, x, { epochs: EPOCHS, batchSize: 256, shuffle: false, verbose: 0 });
  x.dispose();
  const partial: Autoencoder = { model, manifest: { featureSpecVersion: FEATURE_SPEC_VERSION, features: FEATURES, trainedOn, samples: rows.length, epochs: EPOCHS, backend, mean, std, calibration: { p50: 0, p99: 0, p999: 0 } } };
  const errors = reconstructionErrors(partial, rows).slice().sort();
  partial.manifest.calibration = { p50: quantile(errors, 0.5), p99: quantile(errors, 0.99), p999: quantile(errors, 0.999) };
  return partial;
}

export async function saveAutoencoder(dir: string, ae: Autoencoder): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await ae.model.save(tf.io.withSaveHandler(async (artifacts) => {
    writeFileSync(join(dir, WEIGHTS_FILE), Buffer.from(artifacts.weightData as ArrayBuffer));
    writeFileSync(join(dir, MODEL_FILE), `${JSON.stringify({ format: 'layers-model', modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs }] })}\n`);
    return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
  }));
  writeFileSync(join(dir, MANIFEST_FILE), `${JSON.stringify(ae.manifest, null, 1)}\n`);
}

/** The learned model in `dir`, or null when there is none (the model detector is then off). */
export async function loadAutoencoder(dir: string): Promise<Autoencoder | null> {
  if (!existsSync(join(dir, MODEL_FILE)) || !existsSync(join(dir, MANIFEST_FILE))) return null;
  const manifest = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as ModelManifest;
  if (manifest.featureSpecVersion !== FEATURE_SPEC_VERSION) {
    throw new AuditwatchError('MODEL_INVALID', `model: ${dir}/${MANIFEST_FILE} has feature spec ${manifest.featureSpecVersion}, this build uses ${FEATURE_SPEC_VERSION}; retrain`);
  }
  await useBestBackend();
  const json = JSON.parse(readFileSync(join(dir, MODEL_FILE), 'utf8'));
  const weights = readFileSync(join(dir, WEIGHTS_FILE));
  const model = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest[0].weights,
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  }));
  return { model, manifest };
}
