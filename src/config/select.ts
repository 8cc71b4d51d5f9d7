import type { BulkDeleteSpec, Config } from './schema.js';

/** The volume (bulk-delete) detector's spec: it owns the windows the model learns and the criticality table. */
export function volumeSpec(config: Config): BulkDeleteSpec | undefined {
  return config.detectors.find((d): d is BulkDeleteSpec => d.type === 'bulk-delete');
}
