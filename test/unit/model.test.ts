import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Criticality } from '../../src/baseline/criticality.js';
import { validateConfig } from '../../src/config/load.js';
import { loadAutoencoder, reconstructionErrors, saveAutoencoder, trainAutoencoder } from '../../src/model/autoencoder.js';
import { useBestBackend } from '../../src/model/backend.js';
import { FEATURE_SPEC_VERSION, FEATURES, FeatureExtractor } from '../../src/model/features.js';
import { DECODERS, decodeContextFrom } from '../../src/decode/index.js';
import { simulateNormalTraffic } from '../../src/sim/cloudtrail-sim.js';

describe('the learned model (TensorFlow.js)', () => {
  it('runs on the WASM backend without tfjs-node, trains, calibrates, and round-trips through its files exactly', async () => {
    expect(['wasm', 'tensorflow']).toContain(await useBestBackend());
    const config = validateConfig({ environments: { awsAccounts: { '111111111111': 'production', '222222222222': 'staging' } } }, {});
    const ctx = decodeContextFrom(config);
    const extractor = new FeatureExtractor(undefined, ['production'], new Criticality({}));
    const vectors: Float32Array[] = [];
    const start = Date.parse('2026-02-02T00:00:00Z');
    for (const r of simulateNormalTraffic({ seed: 5, from: start, to: start + 2 * 86_400_000 })) {
      for (const e of DECODERS.cloudtrail(Buffer.from(JSON.stringify(r)), ctx).events) {
        const v = extractor.extract(e);
        if (v) vectors.push(v);
      }
    }
    expect(vectors.length).toBeGreaterThan(1000);
    expect(vectors[0]).toHaveLength(FEATURES.length);
    const ae = (await trainAutoencoder(vectors, { from: start, to: start + 2 * 86_400_000, events: vectors.length }))!;
    const { p50, p99, p999 } = ae.manifest.calibration;
    expect(0 < p50 && p50 <= p99 && p99 <= p999).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'aw-model-'));
    await saveAutoencoder(dir, ae);
    const loaded = (await loadAutoencoder(dir))!;
    expect(loaded.manifest).toEqual(JSON.parse(JSON.stringify(ae.manifest)));
    expect(loaded.manifest.featureSpecVersion).toBe(FEATURE_SPEC_VERSION);
    const sample = vectors.slice(0, 50);
    expect(Array.from(reconstructionErrors(loaded, sample))).toEqual(Array.from(reconstructionErrors(ae, sample)));
    // Something unlike the history (a huge delete, at 3 a.m., by a human, in production) reconstructs badly.
    const odd = Float32Array.from([Math.log1p(500), 6, 6, 6, 6, Math.sin(Math.PI / 4), Math.cos(Math.PI / 4), 0, 1, 1, Math.log(5), 0]);
    expect(reconstructionErrors(loaded, [odd])[0]! / p999).toBeGreaterThan(3);
  }, 60_000);

  it('no model files: no model (the detector is off), and a model for another feature spec is refused', async () => {
    expect(await loadAutoencoder(mkdtempSync(join(tmpdir(), 'aw-empty-')))).toBeNull();
  });
});
