import { OUTPUT_TYPES, type Config, type OutputSpec } from '../../config/schema.js';
import { envSecret, readConfigFile } from '../../config/files.js';
import { buildEach } from '../../errors.js';
import { alertmanagerOutput } from './alertmanager.js';
import type { AlertOutput } from './output.js';
import { pagerDutyOutput } from './pagerduty.js';
import { slackOutput } from './slack.js';
import { syslogOutput } from './syslog.js';
import { VERSION } from '../../util/version.js';
import { webhookOutput } from './webhook.js';

interface OutputContext {
  env: NodeJS.ProcessEnv;
  incidentGap: number;
  /** The key of this spec in the config, for problems (`alerts.sinks.2.secretEnv`). */
  at: string;
}

type OutputFactory<S extends OutputSpec> = (spec: S, ctx: OutputContext) => AlertOutput;

/** One factory per output `type`. */
const OUTPUTS: { [T in OutputSpec['type']]: OutputFactory<Extract<OutputSpec, { type: T }>> } = {
  webhook: (spec, ctx) => webhookOutput(spec, secretOf(ctx, 'secretEnv', spec.secretEnv)),
  alertmanager: (spec, ctx) => alertmanagerOutput(spec, ctx.incidentGap),
  slack: (spec, ctx) => slackOutput(spec, secretOf(ctx, 'urlEnv', spec.urlEnv)),
  pagerduty: (spec, ctx) => pagerDutyOutput(spec, secretOf(ctx, 'routingKeyEnv', spec.routingKeyEnv)),
  syslog: (spec, ctx) => syslogOutput(spec, VERSION, spec.tls && {
    ca: fileOf(ctx, 'tls.caFile', spec.tls.caFile), cert: fileOf(ctx, 'tls.certFile', spec.tls.certFile),
    key: fileOf(ctx, 'tls.keyFile', spec.tls.keyFile), serverName: spec.tls.serverName,
  }),
};

/** A secret the spec names by environment variable, or a config problem naming the key. */
const secretOf = (ctx: OutputContext, key: string, variable: string): string => envSecret(ctx.env, `${ctx.at}.${key}`, variable);

/** A file the spec names (a certificate, a key), or a config problem naming the key. */
const fileOf = (ctx: OutputContext, key: string, path: string | undefined): Buffer | undefined => (path === undefined ? undefined : readConfigFile(path, `${ctx.at}.${key}`));

export function isOutput(spec: Config['alerts']['sinks'][number]): spec is OutputSpec {
  return (OUTPUT_TYPES as readonly string[]).includes(spec.type);
}

/** The config's outputs, built; every problem at once, one line each naming its key. */
export function buildOutputs(config: Pick<Config, 'alerts'>, env: NodeJS.ProcessEnv = process.env): AlertOutput[] {
  return buildEach(config.alerts.sinks, (spec, i) => (isOutput(spec)
    ? (OUTPUTS[spec.type] as OutputFactory<typeof spec>)(spec, { env, incidentGap: config.alerts.incidentGap, at: `alerts.sinks.${i}` })
    : undefined));
}

export type { AlertOutput } from './output.js';
