import { DEFAULT_WINDOWS, type BulkDeleteSpec, type Config } from './schema.js';

/** The volume (bulk-delete) detector's spec: it owns the windows the model learns and the criticality table. */
export function volumeSpec(config: Config): BulkDeleteSpec | undefined {
  return config.detectors.find((d): d is BulkDeleteSpec => d.type === 'bulk-delete');
}

/** The windows the model learns and the volume detectors check: bulk-delete's, or its defaults without it. */
export function volumeWindows(config: Config): number[] {
  return volumeSpec(config)?.windows ?? DEFAULT_WINDOWS;
}

/** The alerts topic: the first Kafka sink's in Avro, which the outputs read. */
export function alertsTopicOf(config: Pick<Config, 'alerts'>): string | undefined {
  for (const s of config.alerts.sinks) if (s.type === 'kafka' && s.format === 'avro') return s.topic;
  return undefined;
}
