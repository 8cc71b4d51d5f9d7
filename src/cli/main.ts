import { Command, CommanderError, Option } from 'commander';
import { AuditwatchError, ConfigError, errorMessage } from '../errors.js';
import { UsageError, formatOption } from './common.js';
import { backtestCommand } from './commands/backtest.js';
import { brokerCommand } from './commands/broker.js';
import { configCheckCommand } from './commands/config-check.js';
import { demoCommand } from './commands/demo.js';
import { evaluateCommand } from './commands/evaluate.js';
import { changeApproveCommand, changesCommand } from './commands/change.js';
import { deliverCommand } from './commands/deliver.js';
import { freezeCommand, freezesCommand, unfreezeCommand } from './commands/freeze.js';
import { consoleCommand } from './commands/console.js';
import { gateCommand, keysGenerateCommand } from './commands/gate.js';
import { admissionCommand } from './commands/admission.js';
import { ingestCommand } from './commands/ingest.js';
import { replayCommand } from './commands/replay.js';
import { reportCommand } from './commands/report.js';
import { runCommand } from './commands/run.js';
import { simulateCommand } from './commands/simulate.js';
import { trainCommand } from './commands/train.js';

/** The command line: every command, its options and what it runs. Exported for the generated CLI reference. */
export function program(setExit: (code: number) => void = () => {}): Command {
  const root = new Command('auditwatch')
    .description('Scores audit events from Kafka against learned baselines; alerts on unusual bulk deletes and can freeze writes.')
    .exitOverride()
    .showSuggestionAfterError(false)
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  const done = (p: Promise<number>) => p.then(setExit);

  root.command('run')
    .description('consume the configured topics as a consumer group and detect live (SIGTERM drains and exits 0)')
    .option('--config <file>', 'YAML config file')
    .option('--model-dir <dir>', 'model directory (default: modelDir in config, "models")')
    .option('--workers <n>', 'processes to run, each with its share of the partitions, or "auto" (one per core); default: workers in config, 1')
    .action((o) => done(runCommand(o)));

  /** The window every replaying command reads: a file, stdin, or a topic's time range. */
  const windowOptions = (c: Command) => c
    .option('--input <file>', 'file, directory of files, or - for stdin')
    .option('--topic <topic>', 'read a Kafka topic instead of a file')
    .option('--from <time>', 'with --topic: start (ISO-8601 or epoch ms); default the beginning')
    .option('--to <time>', 'with --topic: end, exclusive; default the end as it is now')
    .addOption(formatOption())
    .option('--model-dir <dir>', 'model directory (default: modelDir in config, "models")');
  const rangeOptions = (c: Command) => windowOptions(c).option('--config <file>', 'YAML config file');

  rangeOptions(root.command('train').description('learn baselines from a file or a topic time range and write them to the model directory'))
    .action((o) => done(trainCommand(o)));

  rangeOptions(root.command('replay').description('run detection over a file or topic range with the live code; freezes are dry-run'))
    .requiredOption('--alerts <file>', 'write alerts here as NDJSON (- for stdout)')
    .option('--live-actions', 'apply freezes for real (default: dry run)')
    .action((o) => done(replayCommand(o)));

  rangeOptions(root.command('report').description('incident report for a window: first destructive event, restore point, deleted resources, changes to re-apply'))
    .option('--alert <id>', 'report on this alert (default: the first critical one in the window)')
    .option('--out <file>', 'write the report as JSON')
    .option('--html <file>', 'write the report as one self-contained HTML page')
    .action((o) => done(reportCommand(o)));

  windowOptions(root.command('backtest'))
    .description('run two configs over the same window and show which incidents each raises: new, gone, changed severity')
    .option('--config <file>', 'a config file; give it twice: the running one, then the candidate', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--out <file>', 'also write the comparison as JSON')
    .action((o) => done(backtestCommand(o)));

  root.command('ingest')
    .description('write an archive (a file, a directory tree such as an S3 export, gzip\'d or not) to a topic as canonical events, keyed by principal, stamped with event time: then train --topic learns from it')
    .option('--input <path>', 'file, directory of files, or - for stdin')
    .option('--topic <topic>', 'the topic to write to (created if missing)')
    .option('--partitions <n>', 'partitions of the topic if it is created', '6')
    .addOption(formatOption())
    .option('--config <file>', 'YAML config file (kafka, environments, deadLetter)')
    .action((o) => done(ingestCommand(o)));

  root.command('evaluate')
    .description('train on simulated history, replay a window with labelled incidents, and score detection per incident')
    .addOption(new Option('--seeds <list>', 'comma-separated seeds').default('11,12,13'))
    .addOption(new Option('--history-days <n>', 'days of history to train on').default('7'))
    .addOption(new Option('--test-days <n>', 'days of test traffic with the incidents in it').default('2'))
    .option('--config <file>', 'YAML config (default: the simulated organisation, freezes enforced)')
    .option('--out <file>', 'also write the results as JSON')
    .option('--partitions <n>', 'split detection into the tasks of a topic of n partitions, as `run` does (default 1: one task)')
    .action((o) => done(evaluateCommand(o)));

  root.command('demo')
    .description('start a local broker, stream simulated traffic with an ELB-style incident, show the alert and the freeze')
    .option('--model-dir <dir>', 'model directory (default: the shipped models/)')
    .action((o) => done(demoCommand(o)));

  root.command('simulate')
    .description('write simulated CloudTrail (one record per line) for training and tests')
    .addOption(new Option('--days <n>', 'days of history').default('7'))
    .addOption(new Option('--seed <n>', 'random seed').default('1'))
    .option('--end <time>', 'end of the simulated range (default: today 00:00 UTC)')
    .option('--kubernetes', 'also write the simulated cluster\'s Kubernetes audit events, interleaved (read them with --format auto)')
    .option('--elb-incident-at <time>', 'also re-enact the ELB incident at this time')
    .option('--gcp-wipe-at <time>', 'also a mass delete of disks in the simulated GCP project (Cloud Audit Logs entries)')
    .option('--azure-wipe-at <time>', 'also a mass delete of storage accounts in the simulated Azure subscription (Activity Log records)')
    .requiredOption('--out <file>', 'output file, or - for stdout')
    .action((o) => done(simulateCommand(o)));

  const scopeOptions = (c: Command) => c
    .option('--environment <env>', 'the environment of the scope')
    .option('--principal <id>', 'the principal (e.g. a role ARN)')
    .option('--resource-type <type>', 'the resource type, e.g. elasticloadbalancing:loadbalancer')
    .option('--reason <text>', 'why (goes into the audit topic)')
    .option('--operator <name>', 'who you are (default: $AUDITWATCH_OPERATOR or your user name)')
    .option('--config <file>', 'YAML config file');

  scopeOptions(root.command('freeze').description('freeze a scope by hand, or --approve a proposal from approval mode'))
    .addOption(new Option('--ttl <duration>', 'how long until it lifts by itself').default('1h'))
    .option('--approve <alertId>', 'confirm the freeze auditwatch proposed for this alert')
    .action((o) => done(freezeCommand(o)));

  scopeOptions(root.command('unfreeze').description('lift a freeze now'))
    .option('--scope <key>', 'the scope key exactly as `auditwatch freezes` prints it')
    .action((o) => done(unfreezeCommand(o)));

  root.command('freezes')
    .description('list freezes in force (scope, owner, reason, alert id, expiry) and proposals waiting for approval')
    .option('--json', 'as JSON')
    .option('--config <file>', 'YAML config file')
    .action((o) => done(freezesCommand(o)));

  const change = root.command('change').description('approved changes: what may modify production state, where and when');
  change.command('approve')
    .description('sign and publish an approved change: inside it, destructive volume is an info alert naming the ticket and never freezes')
    .option('--ticket <id>', 'the change ticket')
    .option('--environment <env>', 'the environment it covers')
    .option('--principal <id>', 'only this principal (default: any)')
    .option('--resource-type <glob>', 'only these resource types (default: any)')
    .option('--from <time>', 'start, ISO-8601 or epoch ms (default: now)')
    .option('--until <time>', 'end, ISO-8601 or epoch ms')
    .option('--operator <name>', 'who approves (default: $AUDITWATCH_OPERATOR or your user name)')
    .option('--config <file>', 'YAML config file (freeze.signing: the approver\'s key)')
    .action((o) => done(changeApproveCommand(o)));

  root.command('changes')
    .description('list approved changes (active, pending, ended) and how many records on the changes topic were refused')
    .option('--json', 'as JSON')
    .option('--config <file>', 'YAML config file')
    .action((o) => done(changesCommand(o)));

  root.command('deliver')
    .description('deliver the alerts topic to the configured outputs (webhook, alertmanager, slack, pagerduty, syslog) as a process of its own, until SIGTERM')
    .option('--config <file>', 'YAML config file')
    .action((o) => done(deliverCommand(o)));

  root.command('console')
    .description('a local web console: live alerts with filters, incidents and their revisions, freezes and proposals; approve and lift, signed and audited as the operator')
    .option('--config <file>', 'YAML config file (kafka, alerts.sinks, freeze, console)')
    .option('--host <host>', 'address to listen on (default console.host, 127.0.0.1); beyond loopback needs console.auth')
    .option('--port <port>', 'port to listen on (default console.port, 8470; 0: any free port)')
    .option('--operator <name>', 'who approves and lifts from it (default console.operator, $AUDITWATCH_OPERATOR or your user name)')
    .option('--alerts-topic <topic>', 'the alerts topic to follow (default: the first Avro kafka sink\'s)')
    .action((o) => done(consoleCommand(o)));

  root.command('gate')
    .description('serve the write gate over HTTP (GET /v1/check?environment=&principal=&resourceType= answers 200 or 423) beside a service')
    .option('--config <file>', 'YAML config file (kafka, freeze.controlTopic, freeze.trustedKeys)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', '8423')
    .action((o) => done(gateCommand(o)));

  root.command('admission')
    .description('serve the Kubernetes validating admission webhook (TLS) that refuses writes by frozen users and groups')
    .option('--config <file>', 'YAML config file (admissionWebhook.certFile, admissionWebhook.keyFile, environments.kubernetesNamespaces, freeze.trustedKeys)')
    .option('--port <port>', 'overrides admissionWebhook.port')
    .action((o) => done(admissionCommand(o)));

  root.command('keys')
    .description('signing keys for the control topic')
    .command('generate')
    .description('write a new Ed25519 key pair (<key-id>.key, <key-id>.pub) and print the config that uses it')
    .requiredOption('--key-id <id>', 'the key id records carry, e.g. auditwatch-2026-12')
    .requiredOption('--dir <dir>', 'where to write the two files')
    .action((o) => done(keysGenerateCommand(o)));

  root.command('broker')
    .description('run a local single-node Kafka (KRaft) in the foreground')
    .action(() => done(brokerCommand()));

  root.command('config')
    .description('configuration tools')
    .command('check <file>')
    .description('validate a config file: one line per problem, exit 2 if any')
    .action((file: string) => done(configCheckCommand(file)));

  return root;
}

/** Runs the CLI and returns the exit code: 0 ok, 1 failure, 2 bad argument or config. */
export async function main(argv: string[]): Promise<number> {
  // The AWS SDK warns on Node 20 that its releases after January 2027 need Node 22, in several lines on stderr at
  // the first client; the lock file pins a release that supports Node 20, and a one-line error must stay one line.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let code = 0;
  try {
    await program((c) => (code = c)).parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed its one-line message already; help and version are not errors.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2;
    }
    if (err instanceof ConfigError) {
      for (const line of err.problems) process.stderr.write(`${line}\n`);
      return 2;
    }
    if (err instanceof AuditwatchError && err.code === 'CONFIG_INVALID') {
      // A config problem found while building (an actuator's secret variable unset): the same one line and exit 2.
      process.stderr.write(`config: ${err.message}\n`);
      return 2;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`auditwatch: ${err instanceof AuditwatchError ? `${err.code}: ` : ''}${errorMessage(err)}\n`);
    return 1;
  }
}
