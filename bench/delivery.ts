/**
 * Alert outputs do not hold detection back: produce→alert latency on the alerts topic, under background load, with
 * no output, with a webhook whose endpoint answers only after 5 s, and with one that refuses every request until it
 * recovers; then whether every alert revision reaches the endpoint once it is healthy again (by webhook-id, once
 * each). Each phase runs its own `auditwatch run` on fresh topics; the baseline is bare kafkajs receiving the same
 * first delete, in the same phase. Then detection throughput: one `auditwatch run` drains the same backlog (simulated
 * traffic with incidents in it) with no output, the slow endpoint and the refusing one, alternating.
 */
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logLevel, Partitioners } from 'kafkajs';
import { stringify } from 'yaml';
import { PROJECT_ROOT } from '../src/kafka/local-broker.js';
import { ephemeralSigning } from '../src/sim/config.js';
import { decodeAlert } from '../src/sinks/kafka.js';
import { freePort } from '../src/util/net.js';
import { auditwatchProcess, benchBroker, incidentArrivals, keyedCloudTrailValues, PARTITIONS, produce } from './consumers.js';
import { machine, median, percentile, saveResults } from './stats.js';
import { stopProcess, teardown } from './teardown.js';

const INCIDENTS = Number(process.env.BENCH_INCIDENTS ?? 10);
const LOAD_RATE = Number(process.env.BENCH_LOAD_RATE ?? 10_000);
/** The throughput stage: events in the backlog, incidents among them, and rounds (one run per endpoint each). */
const DRAIN_EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const DRAIN_INCIDENTS = Number(process.env.BENCH_DRAIN_INCIDENTS ?? 40);
const DRAIN_ROUNDS = Number(process.env.BENCH_REPEATS ?? 3);
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const say = (s: string) => process.stdout.write(`${s}\n`);

type Mode = 'no output' | 'endpoint answering after 5 s' | 'endpoint refusing until it recovers';

/** The webhook endpoint of a phase: records each webhook-id it accepts; slow or refusing as the mode says. */
async function endpoint(mode: Mode): Promise<{ port: number; accepted: string[]; recover: () => void }> {
  let healthy = mode !== 'endpoint refusing until it recovers';
  const accepted: string[] = [];
  const port = await freePort();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      if (!healthy) return res.writeHead(503).end();
      const answer = () => {
        accepted.push(id);
        res.writeHead(200).end();
      };
      if (mode === 'endpoint answering after 5 s') setTimeout(answer, 5000);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  teardown.add(`the ${mode} endpoint on ${port}`, () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return { port, accepted, recover: () => (healthy = true) };
}

const webhookSpec = (port: number) => ({ type: 'webhook', url: `http://127.0.0.1:${port}/hook`, secretEnv: 'BENCH_HOOK', timeout: '10s', retries: 100, backoff: '200ms' });

async function phase(mode: Mode, brokers: string, kafka: Awaited<ReturnType<typeof benchBroker>>['kafka'], admin: Awaited<ReturnType<typeof benchBroker>>['admin'], n: number) {
  const run = `delivery-${n}-${Date.now().toString(36)}`;
  const topics = { input: `audit.${run}`, alerts: `alerts.${run}`, control: `control.${run}` };
  await admin.createTopics({ topics: [{ topic: topics.input, numPartitions: 3 }, { topic: topics.alerts }], waitForLeaders: true });
  const hook = await endpoint(mode);
  const accepted = hook.accepted;
  const port = hook.port;
  const outputs = mode === 'no output' ? [] : [webhookSpec(port)];
  const dir = mkdtempSync(join(tmpdir(), 'aw-bench-delivery-'));
  const configPath = join(dir, 'config.yaml');
  writeFileSync(configPath, stringify({
    kafka: { brokers: brokers.split(','), groupId: `auditwatch-${run}` },
    sources: [{ type: 'kafka', topics: [topics.input], format: 'cloudtrail' }],
    environments: { awsAccounts: { '111111111111': 'production' } },
    alerts: { sinks: [{ type: 'kafka', topic: topics.alerts }, ...outputs] },
    freeze: { mode: 'dry-run', ...ephemeralSigning(), controlTopic: topics.control, auditTopic: `freeze-audit.${run}` },
    deadLetter: { topic: `dead.${run}` },
    metrics: { enabled: false },
    log: { level: 'error' },
  }));
  const auditwatch = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'auditwatch.js'), 'run', '--config', configPath], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, BENCH_HOOK: SECRET, KAFKA_BROKERS: '' } });
  teardown.addProcess(`auditwatch run (${mode})`, auditwatch, 30_000);

  const firstSeen = await incidentArrivals(kafka, topics.input, `baseline-${run}`);
  const alertSeen = new Map<string, number>();
  const revisions = new Set<string>();
  const alerts = kafka.consumer({ groupId: `alerts-${run}`, maxWaitTimeInMs: 100 });
  await alerts.connect();
  await alerts.subscribe({ topics: [topics.alerts], fromBeginning: true });
  await alerts.run({ eachMessage: async ({ message }) => {
    const a = decodeAlert(message.value!);
    if (a.severity !== 'info') revisions.add(`${a.id}.${a.revision}`);
    const k = /role\/janitor-(\d+)$/.exec(a.principal)?.[1];
    if (a.severity === 'critical' && k !== undefined && !alertSeen.has(k)) alertSeen.set(k, Date.now());
  } });
  await new Promise((r) => setTimeout(r, 6000)); // auditwatch joins its groups

  const load = fork(join(PROJECT_ROOT, 'bench', 'background-load.mjs'), [brokers, topics.input, String(LOAD_RATE), String(8 + INCIDENTS * 2)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  teardown.addProcess(`the background load (${mode})`, load);
  let loadReport = '';
  load.stdout!.on('data', (d) => (loadReport += d));
  await new Promise((r) => setTimeout(r, 3000));
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const rows: Array<{ baseline: number; alert: number }> = [];
  for (let k = 0; k < INCIDENTS; k++) {
    const messages = janitorDeletes(run, k, new Date().toISOString()).map(([key, value], i) => ({ key, value, headers: i === 0 ? { 'bench-incident': String(k) } : {} }));
    const t0 = Date.now();
    await producer.send({ topic: topics.input, messages });
    const deadline = t0 + 15_000;
    while (Date.now() < deadline && !(alertSeen.has(String(k)) && firstSeen.has(String(k)))) await new Promise((r) => setTimeout(r, 2));
    rows.push({ baseline: (firstSeen.get(String(k)) ?? NaN) - t0, alert: (alertSeen.get(String(k)) ?? NaN) - t0 });
    await new Promise((r) => setTimeout(r, 1000));
  }
  await stopProcess(load, 10_000);
  const achieved = JSON.parse(loadReport.trim() || '{"rate":0}') as { rate: number };
  // Recovery: the endpoint turns healthy; every revision written so far must reach it, once each.
  hook.recover();
  const recoveredAt = Date.now();
  let delivered: { all: boolean; seconds: number; distinct: number; duplicates: number } | undefined;
  if (mode !== 'no output') {
    const expected = new Set(revisions);
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline && ![...expected].every((id) => accepted.includes(id))) await new Promise((r) => setTimeout(r, 200));
    delivered = { all: [...expected].every((id) => accepted.includes(id)), seconds: Math.round((Date.now() - recoveredAt) / 100) / 10, distinct: new Set(accepted).size, duplicates: accepted.length - new Set(accepted).size };
  }
  await producer.disconnect();
  await alerts.disconnect();
  await stopProcess(auditwatch, 30_000);
  const col = (k: 'baseline' | 'alert') => rows.map((r) => r[k]).filter((x) => !Number.isNaN(x));
  return {
    mode, backgroundEventsPerSecond: Math.round(achieved.rate), missed: rows.filter((r) => Number.isNaN(r.alert)).length,
    baseline: { p50: percentile(col('baseline'), 50), p99: percentile(col('baseline'), 99) },
    alert: { p50: percentile(col('alert'), 50), p99: percentile(col('alert'), 99) },
    revisions: revisions.size, delivered,
  };
}

/** An ELB-style incident: 25 load balancers deleted by janitor `k` at `time`, keyed by its ARN. */
function janitorDeletes(run: string, k: number, time: string): Array<[key: string, value: string]> {
  const principalArn = `arn:aws:iam::111111111111:role/janitor-${k}`;
  return Array.from({ length: 25 }, (_, i) => [principalArn, JSON.stringify({
    eventVersion: '1.08', eventID: `incident-${run}-${k}-${i}`, eventTime: time, eventSource: 'elasticloadbalancing.amazonaws.com',
    eventName: 'DeleteLoadBalancer', recipientAccountId: '111111111111', awsRegion: 'us-east-1',
    userIdentity: { type: 'AssumedRole', arn: `arn:aws:sts::111111111111:assumed-role/janitor-${k}/s`, accountId: '111111111111', sessionContext: { sessionIssuer: { arn: principalArn, userName: `janitor-${k}` } } },
    requestParameters: { loadBalancerArn: `arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/lb-${k}-${i}` },
  })]);
}

/** The throughput stage's backlog: simulated traffic with an incident after every `n / incidents` events, at their time. */
function* backlog(run: string, n: number, incidents: number): Generator<[string, string]> {
  const every = Math.floor(n / incidents);
  let i = 0;
  for (const [key, value] of keyedCloudTrailValues(n)) {
    yield [key, value];
    if (++i % every === 0) yield* janitorDeletes(run, i / every, /"eventTime":"([^"]+)"/.exec(value)![1]!);
  }
}

/**
 * Detection throughput with each endpoint: one `auditwatch run` drains the same backlog, with incidents in it,
 * once per mode per round (modes alternating, so the machine's drift falls on all of them alike).
 */
async function throughputStage(brokers: string, kafka: Awaited<ReturnType<typeof benchBroker>>['kafka'], admin: Awaited<ReturnType<typeof benchBroker>>['admin']) {
  const run = `delivery-drain-${Date.now().toString(36)}`;
  const topic = `audit.${run}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const events = await produce(producer, topic, backlog(run, DRAIN_EVENTS, DRAIN_INCIDENTS));
  await producer.disconnect();
  const modes: Mode[] = ['no output', 'endpoint answering after 5 s', 'endpoint refusing until it recovers'];
  const rates = new Map<Mode, number[]>(modes.map((m) => [m, []]));
  const alertRevisions = new Map<Mode, number[]>(modes.map((m) => [m, []]));
  for (let round = 0; round < DRAIN_ROUNDS; round++) {
    for (const mode of modes) {
      const hook = await endpoint(mode);
      const alertsTopic = `alerts.${run}.${round}.${modes.indexOf(mode)}`;
      const outputs = mode === 'no output' ? [] : [webhookSpec(hook.port)];
      const rate = await auditwatchProcess(kafka, brokers, topic, 'cloudtrail', events, alertsTopic, 1, { outputs, env: { BENCH_HOOK: SECRET } });
      const written = (await admin.fetchTopicOffsets(alertsTopic)).reduce((sum, p) => sum + Number(p.high), 0);
      say(`  ${mode}: ${Math.round(rate)} events/s, ${written} alert revisions written, ${hook.accepted.length} accepted by the endpoint meanwhile`);
      rates.get(mode)!.push(rate);
      alertRevisions.get(mode)!.push(written);
    }
  }
  return { events, incidents: DRAIN_INCIDENTS, rounds: DRAIN_ROUNDS, rows: modes.map((mode) => ({ mode, eventsPerSecond: median(rates.get(mode)!), runs: rates.get(mode)!, alertRevisions: alertRevisions.get(mode)! })) };
}

async function main(): Promise<void> {
  const { brokers, kafka, admin } = await benchBroker('bench', logLevel.NOTHING);
  teardown.add('the admin client', () => admin.disconnect());
  const results = [];
  // Without an output first and last: the machine warms up over the run, and the baseline is their mean. Before
  // them, one phase to warm the broker and the machine up, not reported (the first phase measured was the slowest).
  const modes: Mode[] = ['no output', 'endpoint answering after 5 s', 'endpoint refusing until it recovers', 'no output'];
  say('warm-up phase (not reported)');
  await phase('no output', brokers, kafka, admin, modes.length);
  for (const [n, mode] of modes.entries()) {
    say(`phase: ${mode}`);
    results.push(await phase(mode, brokers, kafka, admin, n));
  }
  say(`throughput: ${DRAIN_ROUNDS} rounds of ${DRAIN_EVENTS} events with ${DRAIN_INCIDENTS} incidents, one run per endpoint per round`);
  const throughput = await throughputStage(brokers, kafka, admin);
  const m = machine();
  say('');
  say(`alert delivery, ${INCIDENTS} incidents per phase under ${LOAD_RATE} background events/s (${m.cores} cores, ${m.cpu})`);
  say('| phase | produce→alert p50 / p99 ms | kafkajs p50 / p99 ms | p99 vs without output (mean of both) | background events/s | revisions delivered after recovery |');
  say('|---|---|---|---|---|---|');
  const base = (results[0]!.alert.p99 + results.at(-1)!.alert.p99) / 2;
  for (const r of results) {
    const d = r.delivered ? `${r.delivered.all ? 'all' : 'NOT all'} ${r.delivered.distinct} of ${r.revisions} in ${r.delivered.seconds} s, ${r.delivered.duplicates} duplicates` : '';
    say(`| ${r.mode} | ${r.alert.p50} / ${r.alert.p99}${r.missed ? ` (${r.missed} missed)` : ''} | ${r.baseline.p50} / ${r.baseline.p99} | ${(r.alert.p99 / base).toFixed(2)} | ${r.backgroundEventsPerSecond} | ${d} |`);
  }
  say('');
  say(`detection throughput, ${throughput.events} events with ${throughput.incidents} incidents, medians of ${throughput.rounds} (\`auditwatch run\`, one process)`);
  say('| endpoint | events/s | vs no output | alert revisions written per run |');
  say('|---|---|---|---|');
  const none = throughput.rows[0]!.eventsPerSecond;
  for (const r of throughput.rows) say(`| ${r.mode} | ${Math.round(r.eventsPerSecond)} | ${(r.eventsPerSecond / none).toFixed(2)} | ${r.alertRevisions.join(', ')} |`);
  say(`written to ${saveResults('delivery', { when: new Date().toISOString(), machine: m, incidents: INCIDENTS, loadRate: LOAD_RATE, results, throughput })}`);
}

try {
  await main();
} finally {
  await teardown.run();
}
