import { controlKeys } from '../../actions/control-publisher.js';
import { envSecret } from '../../config/files.js';
import { alertsTopicOf } from '../../config/select.js';
import { ConsoleState } from '../../console/state.js';
import { checkConsoleHost, startConsoleServer } from '../../console/server.js';
import { createKafka } from '../../kafka/client.js';
import { createLogger } from '../../log.js';
import { connectProducer } from '../../pipeline/assemble.js';
import { configFrom, untilSignal, UsageError } from '../common.js';
import { operator } from './freeze.js';
import { parsePort } from './gate.js';

export interface ConsoleArgs {
  config?: string;
  host?: string;
  port?: string;
  operator?: string;
  alertsTopic?: string;
}

/**
 * `auditwatch console`: a local web console that follows the alerts, control and freeze audit topics, and approves
 * proposals and lifts freezes as the console's operator, signed and audited as from the CLI. Until SIGTERM or SIGINT.
 */
export async function consoleCommand(args: ConsoleArgs): Promise<number> {
  const config = configFrom(args);
  const host = args.host ?? config.console.host;
  const port = args.port !== undefined ? parsePort('--port', args.port) : config.console.port;
  const auth = config.console.auth;
  checkConsoleHost(host, !!auth);
  let credentials: { username: string; password: string } | undefined;
  if (auth) {
    credentials = {
      username: envSecret(process.env, 'console.auth.usernameEnv', auth.usernameEnv),
      password: envSecret(process.env, 'console.auth.passwordEnv', auth.passwordEnv),
    };
  }
  const topics = { alerts: args.alertsTopic ?? alertsTopicOf(config) ?? '', control: config.freeze.controlTopic, audit: config.freeze.auditTopic };
  if (!topics.alerts) throw new UsageError('no alerts topic: add a kafka sink with format avro to alerts.sinks, or give --alerts-topic');
  const reportTopic = config.console.reportTopic ?? config.sources[0]?.topics[0];
  if (!reportTopic) throw new UsageError('no audit-event topic for reports: set console.reportTopic');
  const { keys, signer } = controlKeys(config);
  const log = createLogger(config.log.level).child({ component: 'console' });
  const kafka = createKafka(config.kafka, log);
  // A topic that is not there is a wrong name, not an empty console: say which, before following anything.
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = Object.entries(topics).filter(([, t]) => !existing.has(t));
    if (missing.length) throw new UsageError(`${missing.map(([what, t]) => `the ${what} topic ${t}`).join(', ')} does not exist on ${config.kafka.brokers.join(',')}`);
  } finally {
    await admin.disconnect();
  }
  const state = new ConsoleState(kafka, topics, keys, log);
  const producer = await connectProducer(kafka);
  const who = operator({ operator: args.operator ?? config.console.operator });
  const server = await startConsoleServer({ config, state, kafka, producer, signer, operator: who, credentials, reportTopic, topics, log }, host, port);
  log.info({ url: `http://${host.includes(':') ? `[${host}]` : host}:${server.port}/`, operator: who.id, signing: signer ? signer.keyId : null }, 'console listening; reading the topics');
  const done = untilSignal();
  await Promise.race([state.start().then(() => log.info('console caught up')), done]);
  await done;
  await server.stop();
  await state.stop();
  await producer.disconnect();
  return 0;
}
