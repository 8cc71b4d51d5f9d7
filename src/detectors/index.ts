import type { BaselineModel } from '../baseline/model.js';
import type { Config, DetectorSpec } from '../config/schema.js';
import { BulkDeleteDetector } from './bulk-delete.js';
import { ContextDetector } from './context.js';
import { ModelDetector } from './model.js';
import type { Autoencoder } from '../model/autoencoder.js';
import type { Detector } from './detector.js';

type DetectorFactory<S extends DetectorSpec> = (spec: S, config: Config, model: BaselineModel, autoencoder: Autoencoder | null) => Detector;

/** The volume detector's criticality table: one for the whole config. */
function criticalityOf(config: Config): Record<string, number> {
  const volume = config.detectors.find((d) => d.type === 'bulk-delete');
  return volume?.type === 'bulk-delete' ? volume.criticality : {};
}

/** Stands in for the model detector when no learned model is in the model directory. */
const OFF: Detector = { name: 'model', observe: () => null };

/** One factory per detector `type`: the only place a detector name in config turns into code. */
const DETECTORS: { [T in DetectorSpec['type']]: DetectorFactory<Extract<DetectorSpec, { type: T }>> } = {
  'bulk-delete': (spec, config, model) =>
    new BulkDeleteDetector({ spec, model, criticalEnvironments: config.environments.critical, runGapMs: config.alerts.incidentGap }),
  context: (spec, config, model) => new ContextDetector(spec, model, config.environments.critical, criticalityOf(config)),
  model: (spec, config, model, autoencoder) => (autoencoder ? new ModelDetector(spec, autoencoder, model, config.environments.critical, criticalityOf(config)) : OFF),
};

export function buildDetectors(config: Config, model: BaselineModel, autoencoder: Autoencoder | null = null): Detector[] {
  return config.detectors.map((spec) => (DETECTORS[spec.type] as DetectorFactory<typeof spec>)(spec, config, model, autoencoder));
}

export type { Detector, Finding, Severity } from './detector.js';
