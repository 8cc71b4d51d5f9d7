import type { BaselineModel } from '../baseline/model.js';
import type { Config, DetectorSpec } from '../config/schema.js';
import { BulkDeleteDetector } from './bulk-delete.js';
import { ContextDetector } from './context.js';
import type { Detector } from './detector.js';

type DetectorFactory<S extends DetectorSpec> = (spec: S, config: Config, model: BaselineModel) => Detector;

/** One factory per detector `type`: the only place a detector name in config turns into code. */
const DETECTORS: { [T in DetectorSpec['type']]: DetectorFactory<Extract<DetectorSpec, { type: T }>> } = {
  'bulk-delete': (spec, config, model) =>
    new BulkDeleteDetector({ spec, model, criticalEnvironments: config.environments.critical, runGapMs: config.alerts.incidentGap }),
  context: (spec, config, model) => {
    // One criticality table for the whole config: the volume detector's.
    const volume = config.detectors.find((d) => d.type === 'bulk-delete');
    return new ContextDetector(spec, model, config.environments.critical, volume?.type === 'bulk-delete' ? volume.criticality : {});
  },
};

export function buildDetectors(config: Config, model: BaselineModel): Detector[] {
  return config.detectors.map((spec) => (DETECTORS[spec.type] as DetectorFactory<typeof spec>)(spec, config, model));
}

export type { Detector, Finding, Severity } from './detector.js';
