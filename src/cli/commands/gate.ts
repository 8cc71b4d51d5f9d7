import { controlKeys } from '../../actions/control-publisher.js';
import { reportRejections } from '../../actions/control-watch.js';
import { startGateServer } from '../../actions/gate-server.js';
import { generateKeyFiles } from '../../actions/signing.js';
import { WriteGate } from '../../actions/write-gate.js';
import { createKafka } from '../../kafka/client.js';
import { createLogger } from '../../log.js';
import { Metrics } from '../../metrics/metrics.js';
import { absolute, configFrom, untilSignal, UsageError } from '../common.js';

export interface GateArgs {
  config?: string;
  host: string;
  port: string;
}

export function parsePort(flag: string, text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new UsageError(`${flag}: expected a port from 0 to 65535, got "${text}"`);
  return port;
}

/** `auditwatch gate`: the write gate as an HTTP sidecar, until SIGTERM or SIGINT. */
export async function gateCommand(args: GateArgs): Promise<number> {
  const port = parsePort('--port', args.port);
  const config = configFrom(args);
  const { keys } = controlKeys(config);
  const log = createLogger(config.log.level).child({ component: 'gate' });
  if (keys.size === 0) log.warn('freeze.trustedKeys is empty: every control record will be refused, so nothing is ever frozen here');
  const metrics = new Metrics({ defaultMetrics: true });
  const gate = new WriteGate(createKafka(config.kafka, log), config.freeze.controlTopic, { keys, onReject: reportRejections(metrics, log) });
  gate.onChange((c) => log.info({ scope: c.scopeKey, op: c.op, alertId: c.record.freeze.alertId, seq: c.record.seq }, `control: ${c.op}`));
  const server = await startGateServer(gate, { host: args.host, port, registry: metrics.registry });
  log.info({ host: args.host, port: server.port, topic: config.freeze.controlTopic }, 'write gate listening; reading the control topic');
  const done = untilSignal();
  await Promise.race([gate.start().then(() => log.info({ active: gate.active().length }, 'write gate ready')), done]);
  await done;
  await server.stop();
  await gate.stop();
  return 0;
}

/** `auditwatch keys generate`: an Ed25519 key pair for signing control records, and the config that uses it. */
export async function keysGenerateCommand(args: { keyId: string; dir: string }): Promise<number> {
  if (!/^[A-Za-z0-9._-]+$/.test(args.keyId)) throw new UsageError(`--key-id: letters, digits, '.', '_' and '-' only, got "${args.keyId}"`);
  const files = generateKeyFiles(absolute(args.dir), args.keyId);
  process.stdout.write([
    `wrote ${files.privateKeyFile} (private, mode 0600) and ${files.publicKeyFile}`,
    'freeze:',
    '  signing:',
    `    keyId: ${args.keyId}`,
    `    privateKeyFile: ${files.privateKeyFile}`,
    '  trustedKeys:',
    `    - keyId: ${args.keyId}`,
    `      publicKeyFile: ${files.publicKeyFile}`,
    '',
  ].join('\n'));
  return 0;
}
