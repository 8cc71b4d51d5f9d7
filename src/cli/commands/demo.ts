import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { LOCAL_AWS_ENV } from '../../sim/local-iam.js';
import { startDemoIam, type DemoIam } from '../../sim/demo-iam.js';
import type { Alert } from '../../alerts/alert.js';
import { readModel, type BaselineModel } from '../../baseline/model.js';
import { loadAutoencoder } from '../../model/autoencoder.js';
import type { Config } from '../../config/schema.js';
import { createKafka, ensureOutputTopics } from '../../kafka/client.js';
import { PROJECT_ROOT, startLocalBroker, type LocalBroker } from '../../kafka/local-broker.js';
import { createLogger } from '../../log.js';
import { Metrics } from '../../metrics/metrics.js';
import { buildTrainingPipeline } from '../../pipeline/assemble.js';
import { buildRuntime } from '../../runtime/runtime.js';
import { decodeAlert } from '../../sinks/kafka.js';
import { simulationConfig } from '../../sim/config.js';
import { ELB_JANITOR, SIM_ACCOUNTS, simulateElbIncident, simulateNormalTraffic } from '../../sim/cloudtrail-sim.js';
import { history, SHIPPED_HISTORY } from '../../sim/scenario.js';
import { KafkaFollower } from '../../sources/kafka/topic-reader.js';
import { MemorySource } from '../../sources/memory.js';

export interface DemoArgs {
  modelDir?: string;
}

/** Trains in process on the same simulated history the shipped model came from (used when models/ is absent). */
async function trainFromSimulator(config: Config): Promise<BaselineModel> {
  const { pipeline, learner } = buildTrainingPipeline(config, new Metrics(), createLogger('warn'));
  await new MemorySource(history(SHIPPED_HISTORY).map((r) => JSON.stringify(r)), 'cloudtrail').run(pipeline.handle);
  return learner.model();
}

/** The alerts topic, followed from its start, each alert decoded (what a subscriber of the topic sees). */
function watchAlerts(kafka: Kafka, topic: string, onAlert: (a: Alert) => void): { start: () => Promise<void>; stop: () => Promise<void> } {
  const follower = new KafkaFollower(kafka, topic, 'demo-watch');
  return { start: () => follower.start((r) => r.value && onAlert(decodeAlert(r.value))), stop: () => follower.stop() };
}

/**
 * `npm start`: a local broker, simulated traffic, and the 2012 ELB incident re-enacted. The janitor asks the write
 * gate before each delete, as a protected service would, so the freeze visibly stops it.
 */
export async function demoCommand(args: DemoArgs): Promise<number> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  let broker: LocalBroker | undefined;
  let brokers = process.env.KAFKA_BROKERS;
  if (!brokers) {
    say('starting a local Apache Kafka (KRaft, official jars, Java 17) on a free loopback port...');
    broker = await startLocalBroker({ log: say });
    brokers = broker.brokers;
  }
  say(`Kafka at ${brokers}`);
  const run = `demo-${Date.now().toString(36)}`;
  const config = simulationConfig(brokers.split(','), run);
  // A short TTL, so the demo also shows the freeze ending by itself and the IAM policy going with it.
  config.freeze.rules = config.freeze.rules.map((r) => ({ ...r, ttl: DEMO_TTL_MS }));
  let iam: DemoIam | undefined;
  try {
    say('starting a local IAM API (moto) with the janitor\'s role in the production account...');
    iam = await startDemoIam(say);
    config.freeze.actuators = [iam.spec];
    say(`IAM API at ${iam.endpoint}`);
  } catch (err) {
    say(`no local IAM API (${(err as Error).message}): the freeze binds the write gate only`);
  }
  const modelDir = args.modelDir ?? join(PROJECT_ROOT, 'models');
  const model = existsSync(join(modelDir, 'baselines.json')) ? readModel(modelDir) : await trainFromSimulator(config);
  say(`baselines: ${Object.keys(model.entities).length} entities learned from ${model.eventCount} events of simulated history`);

  const log = createLogger('error'); // the demo narrates on stdout; the pipeline's own logs would repeat it
  const inputTopic = config.sources[0]!.topics[0]!;
  await ensureOutputTopics(createKafka(config.kafka, log), config, [{ topic: inputTopic }]);
  const autoencoder = existsSync(join(modelDir, 'baselines.json')) ? await loadAutoencoder(modelDir) : null;
  // The same runtime as `auditwatch run`: the repartition stage, per-partition state, the freeze stage, the
  // FreezeExecutor driving the IAM actuator from the control topic.
  const runtime = await buildRuntime(config, { log, metrics: new Metrics(), model, autoencoder, env: { ...process.env, ...LOCAL_AWS_ENV } });
  const running = runtime.run();
  const { kafka, producer, gate } = runtime;
  for (const deadline = Date.now() + 60_000; !runtime.isReady() && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));

  let firstDeleteAt = 0;
  const since = () => ((Date.now() - firstDeleteAt) / 1000).toFixed(2);
  let resolveAlert!: () => void;
  const sawCritical = new Promise<void>((r) => (resolveAlert = r));
  const watcher = watchAlerts(kafka, (config.alerts.sinks[0] as { topic: string }).topic, (a) => {
    say(`[+${since()}s] ALERT ${a.severity} (${a.detector}) ${a.id} rev ${a.revision} score ${a.score} (with context ${a.contextScore}) action=${a.action}\n           ${a.reason}` +
      (a.context.length ? `\n           context: ${a.context.join('; ')}` : ''));
    if (a.severity === 'critical') resolveAlert();
  });
  await watcher.start();
  gate.onChange(({ scopeKey: key, freeze: c, record }) => c && say(`[+${since()}s] FREEZE ${key} until ${new Date(c.expiresAt).toISOString()} (alert ${c.alertId}, signed by ${record.keyId})`));

  const iamWatch = iam ? watchIamFreeze(iam, say, since) : undefined;

  // Warm-up: the last hour of ordinary traffic, stamped as if just now.
  const now = Date.now();
  const warm = simulateNormalTraffic({ seed: 7, from: now - 60 * 60_000, to: now });
  await producer.send({ topic: inputTopic, messages: warm.map((r) => ({ value: JSON.stringify(r), timestamp: String(Date.parse(r.eventTime)) })) });
  say(`streamed ${warm.length} events of ordinary traffic; now the janitor is pointed at production...`);

  const incident = simulateElbIncident({ seed: 7, at: Date.now(), loadBalancers: 300, callsPerSecond: 20 });
  const deletes = incident.filter((r) => String(r.eventName).startsWith('Delete'));
  const principal = `arn:aws:iam::${SIM_ACCOUNTS.production}:role/${ELB_JANITOR}`;
  let made = 0;
  let refusedAt: string | undefined;
  for (const r of incident) {
    const resourceType = r.eventName === 'DeleteTargetGroup' ? 'elasticloadbalancing:targetgroup' : 'elasticloadbalancing:loadbalancer';
    if (String(r.eventName).startsWith('Delete') && gate.check('production', principal, resourceType)) {
      refusedAt = since();
      say(`[+${refusedAt}s] write gate refused ${r.eventName} by ${ELB_JANITOR}: production is frozen for it`);
      break;
    }
    if (String(r.eventName).startsWith('Delete')) {
      if (made === 0) {
        firstDeleteAt = Date.now();
        say(`[+0.00s] first production delete: ${r.eventName}`);
      }
      made++;
    }
    await producer.send({ topic: inputTopic, messages: [{ value: JSON.stringify(r), timestamp: String(Date.parse(r.eventTime)) }] });
    await new Promise((res) => setTimeout(res, 50));
  }
  await Promise.race([sawCritical, new Promise((res) => setTimeout(res, 10_000))]);
  say(refusedAt
    ? `the freeze stopped the janitor after ${made} of ${deletes.length} deletes, ${refusedAt}s after the first one (in 2012: 4.5 hours to notice).`
    : `the janitor finished all ${made} deletes without being stopped.`);
  const iamShown = iamWatch ? await iamWatch : true;

  await watcher.stop();
  runtime.stop('the demo is over');
  await running;
  await runtime.close();
  await iam?.stop();
  await broker?.stop();
  return refusedAt && iamShown ? 0 : 1;
}

const DEMO_TTL_MS = 15_000;

/**
 * Watches the janitor's role on the IAM API from before the incident: the deny policy attached by the freeze, then
 * removed at its expiry. True once both were seen.
 */
async function watchIamFreeze(iam: DemoIam, say: (line: string) => void, since: () => string): Promise<boolean> {
  const deadline = Date.now() + 60_000 + DEMO_TTL_MS;
  let attached: string | undefined;
  while (Date.now() < deadline) {
    const policies = (await iam.janitorPolicies()).filter((p) => p.startsWith('auditwatch-freeze-'));
    if (!attached && policies.length) {
      attached = policies[0];
      say(`[+${since()}s] IAM: deny policy ${attached} is on role ${ELB_JANITOR} (no write by it, nor any call by a session issued before the freeze)`);
      say(`           waiting for the freeze to expire (TTL ${DEMO_TTL_MS / 1000}s)...`);
    } else if (attached && !policies.includes(attached)) {
      say(`[+${since()}s] freeze expired: ${attached} removed from role ${ELB_JANITOR}, which is as it was before`);
      return true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  say(attached ? `the IAM policy was still attached ${DEMO_TTL_MS / 1000 + 15}s after the freeze` : 'the IAM actuator attached no policy');
  return false;
}
