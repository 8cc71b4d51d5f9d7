import type { ActuatorSpec, Config } from '../config/schema.js';
import { envSecret } from '../config/files.js';
import { buildEach } from '../errors.js';
import type { Actuator } from './actuator.js';
import { AwsIamActuator } from './aws-iam.js';
import { PostgresActuator } from './postgres.js';
import { WebhookActuator } from './webhook.js';

/** `at`: where the spec is in the config (`freeze.actuators.0`), for its problems. */
type ActuatorFactory<S extends ActuatorSpec> = (spec: S, env: NodeJS.ProcessEnv, at: string) => Actuator;

/**
 * One factory per actuator `type`. The control topic and the write gates that follow it are always on; these are
 * the optional ones the FreezeExecutor drives.
 */
const ACTUATORS: { [T in ActuatorSpec['type']]: ActuatorFactory<Extract<ActuatorSpec, { type: T }>> } = {
  postgres: (spec, env, at) => new PostgresActuator(spec, envSecret(env, `${at}.connectionEnv`, spec.connectionEnv)),
  'aws-iam': (spec, env) => new AwsIamActuator(spec, env),
  webhook: (spec, env, at) => new WebhookActuator(spec, envSecret(env, `${at}.secretEnv`, spec.secretEnv)),
};

/** The config's actuators, built (nothing connects yet); every problem at once, one line each naming its key. */
export function buildActuators(config: Pick<Config, 'freeze'>, env: NodeJS.ProcessEnv = process.env): Actuator[] {
  return buildEach(config.freeze.actuators, (spec, i) => (ACTUATORS[spec.type] as ActuatorFactory<typeof spec>)(spec, env, `freeze.actuators.${i}`));
}

export type { Actuator } from './actuator.js';
