import type { BaselineModel } from '../baseline/model.js';
import type { Config, DetectorSpec } from '../config/schema.js';
import { Criticality } from '../baseline/criticality.js';
import { volumeSpec, volumeWindows } from '../config/select.js';
import { DESTROYED, VolumeDetector } from './volume.js';
import { BulkReadDetector } from './bulk-read.js';
import { ChangeControlDetector } from './change-control.js';
import { ContextDetector } from './context.js';
import { ModelDetector } from './model.js';
import type { Autoencoder } from '../model/autoencoder.js';
import type { Detector } from './detector.js';

type DetectorFactory<S extends DetectorSpec> = (spec: S, config: Config, model: BaselineModel, autoencoder: Autoencoder | null, criticality: Criticality) => Detector;

/** Stands in for the model detector when no learned model is in the model directory. */
const OFF: Detector = { name: 'model', observe: () => null };

/** One factory per detector `type`: the only place a detector name in config turns into code. */
const DETECTORS: { [T in DetectorSpec['type']]: DetectorFactory<Extract<DetectorSpec, { type: T }>> } = {
  'bulk-delete': (spec, config, model, _ae, criticality) =>
    new VolumeDetector({ spec, measure: DESTROYED, model, criticalEnvironments: config.environments.critical, criticality, runGapMs: config.alerts.incidentGap }),
  // The windows are the ones the model learned, bulk-delete's (its defaults when it is not configured).
  'bulk-read': (spec, config, model, _ae, criticality) =>
    new BulkReadDetector({ spec: { ...spec, windows: volumeWindows(config) }, model, criticalEnvironments: config.environments.critical, criticality, runGapMs: config.alerts.incidentGap }),
  context: (spec, config, model, _ae, criticality) => new ContextDetector(spec, model, config.environments.critical, criticality),
  model: (spec, config, model, autoencoder, criticality) => (autoencoder ? new ModelDetector(spec, autoencoder, model, config.environments.critical, criticality) : OFF),
};

export function buildDetectors(config: Config, model: BaselineModel, autoencoder: Autoencoder | null = null): Detector[] {
  // One criticality table for all of them: the volume detector's, which a reload replaces in place.
  const criticality = new Criticality(volumeSpec(config)?.criticality ?? {});
  const detectors = config.detectors.map((spec) => (DETECTORS[spec.type] as DetectorFactory<typeof spec>)(spec, config, model, autoencoder, criticality));
  // Last, after the configured list (a reload matches detectors to config.detectors by position).
  if (config.freeze.rules.some((r) => r.requireChange)) detectors.push(new ChangeControlDetector(model, config.environments.critical));
  return detectors;
}

export type { Detector, Finding, Severity } from './detector.js';
