import { buildOutputs } from '../../sinks/outputs/index.js';
import { loadConfig } from '../../config/load.js';
import { buildActuators } from '../../actions/index.js';
import { ConfigError } from '../../errors.js';

/** Validates a config file; problems are thrown as a ConfigError (one line each, exit 2). */
export async function configCheckCommand(file: string): Promise<number> {
  const config = loadConfig(file);
  // What only building finds, before anything connects: an output's or an actuator's secret variable that is not set.
  const problems = [buildOutputs, buildActuators].flatMap((build) => {
    try {
      build(config);
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
  });
  if (problems.length) throw new ConfigError(problems);
  process.stdout.write(`${file}: ok (${config.sources.length} source(s), ${config.detectors.length} detector(s), freeze ${config.freeze.mode})\n`);
  return 0;
}
