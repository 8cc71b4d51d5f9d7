import { buildOutputs } from '../../sinks/outputs/index.js';
import { loadConfig } from '../../config/load.js';
import { buildActuators } from '../../actions/index.js';
import { buildEach } from '../../errors.js';

/** Validates a config file; problems are thrown as a ConfigError (one line each, exit 2). */
export async function configCheckCommand(file: string): Promise<number> {
  const config = loadConfig(file);
  // What only building finds, before anything connects: an output's or an actuator's secret variable that is not set.
  buildEach([buildOutputs, buildActuators], (build) => build(config));
  process.stdout.write(`${file}: ok (${config.sources.length} source(s), ${config.detectors.length} detector(s), freeze ${config.freeze.mode})\n`);
  return 0;
}
