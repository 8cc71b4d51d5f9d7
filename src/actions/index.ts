import type { ActuatorSpec, Config } from '../config/schema.js';
import type { Actuator } from './actuator.js';
import { AwsIamActuator } from './aws-iam.js';
import { PostgresActuator } from './postgres.js';
import { WebhookActuator } from './webhook.js';

type ActuatorFactory<S extends ActuatorSpec> = (spec: S, env: NodeJS.ProcessEnv) => Actuator;

/**
 * One factory per actuator `type`. The control topic and the write gates that follow it are always on; these are
 * the optional ones the FreezeExecutor drives.
 */
const ACTUATORS: { [T in ActuatorSpec['type']]: ActuatorFactory<Extract<ActuatorSpec, { type: T }>> } = {
  postgres: (spec, env) => new PostgresActuator(spec, env),
  'aws-iam': (spec, env) => new AwsIamActuator(spec, env),
  webhook: (spec, env) => new WebhookActuator(spec, env),
};

export function buildActuators(config: Config, env: NodeJS.ProcessEnv = process.env): Actuator[] {
  return config.freeze.actuators.map((spec) => (ACTUATORS[spec.type] as ActuatorFactory<typeof spec>)(spec, env));
}

export type { Actuator } from './actuator.js';
