import type { ActuatorSpec, Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { Actuator } from './actuator.js';
import { AwsIamActuator } from './aws-iam.js';
import { PostgresActuator } from './postgres.js';
import { WebhookActuator } from './webhook.js';

type ActuatorFactory<S extends ActuatorSpec> = (spec: S, env: NodeJS.ProcessEnv, at: string) => Actuator;

/**
 * One factory per actuator `type`. The control topic and the write gates that follow it are always on; these are
 * the optional ones the FreezeExecutor drives.
 */
const ACTUATORS: { [T in ActuatorSpec['type']]: ActuatorFactory<Extract<ActuatorSpec, { type: T }>> } = {
  postgres: (spec, env, at) => new PostgresActuator(spec, env, at),
  'aws-iam': (spec, env) => new AwsIamActuator(spec, env),
  webhook: (spec, env, at) => new WebhookActuator(spec, env, undefined, at),
};

/** The config's actuators, built (nothing connects yet); every problem at once, one line each naming its key. */
export function buildActuators(config: Pick<Config, 'freeze'>, env: NodeJS.ProcessEnv = process.env): Actuator[] {
  const actuators: Actuator[] = [];
  const problems: string[] = [];
  config.freeze.actuators.forEach((spec, i) => {
    try {
      actuators.push((ACTUATORS[spec.type] as ActuatorFactory<typeof spec>)(spec, env, `freeze.actuators.${i}`));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
    }
  });
  if (problems.length) throw new ConfigError(problems);
  return actuators;
}

export type { Actuator } from './actuator.js';
