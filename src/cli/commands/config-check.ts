import { buildOutputs } from '../../sinks/outputs/index.js';
import { loadConfig } from '../../config/load.js';

/** Validates a config file; problems are thrown as a ConfigError (one line each, exit 2). */
export async function configCheckCommand(file: string): Promise<number> {
  const config = loadConfig(file);
  // What only building finds, before anything connects: an output's secret variable that is not set.
  buildOutputs(config);
  process.stdout.write(`${file}: ok (${config.sources.length} source(s), ${config.detectors.length} detector(s), freeze ${config.freeze.mode})\n`);
  return 0;
}
