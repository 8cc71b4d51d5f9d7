/**
 * npm run bench freeze — latency from the first destructive event produced to
 *   (a) the critical alert on the alerts topic,
 *   (b) the PostgreSQL role frozen (its INSERT privilege gone),
 *   (c) the write gate refusing a write,
 *   (d) the IAM actuator's deny policy attached to the principal's role (a local IAM API, moto),
 *   (e) the Kubernetes admission webhook denying the principal's delete (over HTTPS, following the control topic),
 * under steady background load on the same broker and topic, with `auditwatch run` as its own process.
 * Baseline in the same run: bare kafkajs, produce → a plain consumer receiving the same first event.
 */
// First, so that its handler for an uncaught exception comes before any other module's.
import { CreateRoleCommand, IAMClient, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import { startAdmissionServer } from '../src/actions/admission.js';
import { iamPolicyName } from '../src/actions/aws-iam.js';
import { scopeKey } from '../src/actions/freeze-command.js';
import { loadKeyRing } from '../src/actions/signing.js';
import { validateConfig } from '../src/config/load.js';
import { decodeContextFrom } from '../src/decode/context.js';
import { LOCAL_AWS_ENV, startLocalIam } from '../src/sim/local-iam.js';
import { ephemeralSigning } from '../src/sim/config.js';
import { stopProcess, teardown } from './teardown.js';
import { fork, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logLevel, Partitioners } from 'kafkajs';
import pg from 'pg';
import { stringify } from 'yaml';
import { WriteGate } from '../src/actions/write-gate.js';
import { PROJECT_ROOT } from '../src/kafka/local-broker.js';
import { internalTopicNames } from '../src/runtime/topology.js';
import { decodeAlert } from '../src/sinks/kafka.js';
import { startLocalPostgres } from '../test/helpers/postgres.js';
import { benchBroker, incidentArrivals } from './consumers.js';
import { machine, percentile, saveResults } from './stats.js';

const INCIDENTS = Number(process.env.BENCH_INCIDENTS ?? 20);
const LOAD_RATE = Number(process.env.BENCH_LOAD_RATE ?? 10_000);
/** `auditwatch run --workers`: 1 by default, as `run` starts. */
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 5000);
const BURST = 25; // deletes in the incident's first produce call; critical is reached at the 20th object

const say = (s: string) => process.stdout.write(`${s}\n`);

async function main(): Promise<void> {
  const { brokers, run, kafka, admin } = await benchBroker('bench', logLevel.NOTHING);
  teardown.add('the admin client', () => admin.disconnect());
  const pgServer = await startLocalPostgres();
  teardown.addServer('PostgreSQL', pgServer);
  const topics = { input: `audit.${run}`, alerts: `alerts.${run}`, control: `control.${run}`, audit: `freeze-audit.${run}`, dead: `dead.${run}` };
  await admin.createTopics({ topics: [{ topic: topics.input, numPartitions: 3 }, { topic: topics.alerts }, { topic: topics.control, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }, { topic: topics.audit }, { topic: topics.dead }], waitForLeaders: true });

  const db = new pg.Client({ connectionString: pgServer.url });
  await db.connect();
  teardown.add('the PostgreSQL client', () => db.end());
  const roles = Array.from({ length: INCIDENTS }, (_, k) => `janitor_${k}`);
  await db.query(`CREATE TABLE public.lbs (id int); ${roles.map((r) => `CREATE ROLE ${r} LOGIN; GRANT INSERT, DELETE ON public.lbs TO ${r};`).join(' ')}`);

  // A real IAM API on loopback, the roles of the simulated production account in it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const localIam = await startLocalIam({ account: '111111111111' });
  teardown.add('the local IAM API', () => localIam.stop());
  const iam = new IAMClient({ endpoint: localIam.endpoint, region: LOCAL_AWS_ENV.AWS_REGION, credentials: { accessKeyId: LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY } });
  teardown.add('the IAM client', () => iam.destroy());
  for (let k = 0; k < INCIDENTS; k++) await iam.send(new CreateRoleCommand({ RoleName: `janitor-${k}`, AssumeRolePolicyDocument: '{"Version":"2012-10-17","Statement":[]}' }));

  const groupId = `auditwatch-${run}`;
  const dir = mkdtempSync(join(tmpdir(), 'aw-bench-'));
  const configPath = join(dir, 'config.yaml');
  writeFileSync(configPath, stringify({
    kafka: { brokers: brokers.split(','), groupId },
    sources: [{ type: 'kafka', topics: [topics.input], format: 'cloudtrail', keyedByPrincipal: process.env.BENCH_KEYED === '1' }],
    deadLetter: { topic: topics.dead },
    environments: { awsAccounts: { '111111111111': 'production', '222222222222': 'staging' } },
    alerts: { sinks: [{ type: 'kafka', topic: topics.alerts }] },
    freeze: {
      mode: 'enforce', ...ephemeralSigning(), controlTopic: topics.control, auditTopic: topics.audit, cap: { maxFreezes: INCIDENTS + 1, window: '1h' },
      actuators: [
        { type: 'postgres', roles: roles.map((role, k) => ({ environment: 'production', principal: `role/janitor-${k}$`, role })) },
        { type: 'aws-iam', endpoint: localIam.endpoint, environments: ['production'] },
      ],
    },
    metrics: { enabled: false },
    log: { level: 'error' },
  }));
  const auditwatch = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'auditwatch.js'), 'run', '--config', configPath, '--workers', String(WORKERS)], {
    stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...LOCAL_AWS_ENV, AUDITWATCH_PG_URL: pgServer.url, KAFKA_BROKERS: '' },
  });
  // Its drain commits and disconnects; the broker and PostgreSQL, stopped after it, must still be there for that.
  teardown.addProcess('auditwatch run', auditwatch, 30_000);

  // Observers: bare kafkajs on the input topic (the baseline), the alerts topic, and a write gate.
  const firstSeen = await incidentArrivals(kafka, topics.input, `baseline-${run}`);
  const alertSeen = new Map<string, number>();
  const alerts = kafka.consumer({ groupId: `alerts-${run}`, maxWaitTimeInMs: 100 });
  teardown.add('the alerts consumer', () => alerts.disconnect());
  await alerts.connect();
  await alerts.subscribe({ topics: [topics.alerts], fromBeginning: true });
  await alerts.run({ eachMessage: async ({ message }) => {
    const a = decodeAlert(message.value!);
    const k = /role\/janitor-(\d+)$/.exec(a.principal)?.[1];
    if (a.severity === 'critical' && k !== undefined && !alertSeen.has(k)) alertSeen.set(k, Date.now());
  } });
  // Unkeyed input goes through the repartition stage: when the incident's first event reaches the repartition topic
  // splits its latency into the stage before the hop and detection after it. Its records pack many events as Avro,
  // where the event id is a plain string, so the id's bytes are looked for in each record. Only with
  // BENCH_REPARTITION_PROBE=1: the probe reads the whole stream on the same cores, which earlier runs did not.
  const keyed = process.env.BENCH_KEYED === '1';
  const probe = !keyed && process.env.BENCH_REPARTITION_PROBE === '1';
  const repartitionSeen = new Map<string, number>();
  let awaited: { k: string; id: Buffer } | undefined;
  const repartition = probe ? kafka.consumer({ groupId: `repartition-${run}`, maxWaitTimeInMs: 100 }) : undefined;
  if (repartition) {
    teardown.add('the repartition probe', () => repartition.disconnect());
    // auditwatch creates the repartition topic as it starts; subscribing before would fail.
    const repartitionTopic = internalTopicNames(groupId).repartition;
    for (let waited = 0; !(await admin.listTopics()).includes(repartitionTopic); waited += 200) {
      if (waited > 60_000) throw new Error(`auditwatch did not create ${repartitionTopic} within 60 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await repartition.connect();
    await repartition.subscribe({ topics: [repartitionTopic], fromBeginning: true });
    await repartition.run({ eachMessage: async ({ message }) => {
      if (awaited && message.value && message.value.indexOf(awaited.id) >= 0) {
        repartitionSeen.set(awaited.k, Date.now());
        awaited = undefined;
      }
    } });
  }
  const gate = new WriteGate(kafka, topics.control, { keys: loadKeyRing(ephemeralSigning().trustedKeys) });
  teardown.add('the write gate', () => gate.stop());
  await gate.start();
  const gateSeen = new Map<string, number>();
  gate.onChange(({ freeze: c }) => {
    const k = c && /role\/janitor-(\d+)$/.exec(c.scope.principal ?? '')?.[1];
    if (k !== undefined && k !== null && !gateSeen.has(k)) gateSeen.set(k, Date.now());
  });
  // The admission webhook over TLS, following the control topic with its own gate, as in a cluster.
  const tlsDir = mkdtempSync(join(tmpdir(), 'aw-bench-tls-'));
  teardown.removeOnExit(tlsDir);
  const [certFile, keyFile] = [join(tlsDir, 'tls.crt'), join(tlsDir, 'tls.key')];
  const openssl = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=bench', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  if (openssl.status !== 0) throw new Error(`openssl: ${openssl.stderr}`);
  const webhookGate = new WriteGate(kafka, topics.control, { keys: loadKeyRing(ephemeralSigning().trustedKeys) });
  teardown.add('the webhook\'s gate', () => webhookGate.stop());
  await webhookGate.start();
  const webhook = await startAdmissionServer({
    host: '127.0.0.1', port: 0, certFile, keyFile, check: (e, p, t) => webhookGate.check(e, p, t), ready: () => webhookGate.ready,
    ctx: decodeContextFrom(validateConfig({ environments: { kubernetesNamespaces: { 'prod-*': 'production' } } }, {})),
  });
  teardown.add('the admission webhook', () => webhook.stop());
  const ca = readFileSync(certFile);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  teardown.add('the webhook client', () => agent.destroy());
  const admissionDenied = (username: string) => new Promise<boolean>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: webhook.port, path: '/validate', method: 'POST', agent, ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve(JSON.parse(text).response.allowed === false));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'bench', operation: 'DELETE', resource: { group: '', version: 'v1', resource: 'services' }, name: 'lb', namespace: 'prod-bench', userInfo: { username } } }));
  });
  await new Promise((r) => setTimeout(r, 4000)); // auditwatch joins its group

  const load = fork(join(PROJECT_ROOT, 'bench', 'background-load.mjs'), [brokers, topics.input, String(LOAD_RATE), String(10 + WARMUP_MS / 1000 + INCIDENTS * 2)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  teardown.addProcess('the background load', load);
  let loadReport = '';
  load.stdout!.on('data', (d) => (loadReport += d));
  // The load reaches steady state. BENCH_WARMUP_MS waits longer, to tell a slow start from a slow steady state.
  await new Promise((r) => setTimeout(r, WARMUP_MS));

  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  teardown.add('the incident producer', () => producer.disconnect());
  await producer.connect();
  const rows: Array<{ baseline: number; repartition: number; alert: number; pg: number; gate: number; iam: number; admission: number }> = [];
  for (let k = 0; k < INCIDENTS; k++) {
    const principalArn = `arn:aws:iam::111111111111:role/janitor-${k}`;
    const now = Date.now();
    const messages = Array.from({ length: BURST }, (_, i) => ({
      key: principalArn,
      headers: i === 0 ? { 'bench-incident': String(k) } : {},
      value: JSON.stringify({
        eventVersion: '1.08', eventID: `incident-${run}-${k}-${i}`, eventTime: new Date(now).toISOString(), eventSource: 'elasticloadbalancing.amazonaws.com',
        eventName: 'DeleteLoadBalancer', recipientAccountId: '111111111111', awsRegion: 'us-east-1',
        userIdentity: { type: 'AssumedRole', arn: `arn:aws:sts::111111111111:assumed-role/janitor-${k}/s`, accountId: '111111111111', sessionContext: { sessionIssuer: { arn: principalArn, userName: `janitor-${k}` } } },
        requestParameters: { loadBalancerArn: `arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/lb-${k}-${i}` },
      }),
    }));
    if (probe) awaited = { k: String(k), id: Buffer.from(`incident-${run}-${k}-0`) };
    const t0 = Date.now();
    await producer.send({ topic: topics.input, messages });
    const deadline = t0 + 15_000;
    // Each effect is polled on its own, as its own client would see it.
    const poll = async (done: () => Promise<boolean>, everyMs: number): Promise<number> => {
      while (Date.now() < deadline) {
        if (await done()) return Date.now();
        await new Promise((r) => setTimeout(r, everyMs));
      }
      return 0;
    };
    const policy = iamPolicyName('auditwatch-freeze-', scopeKey({ environment: 'production', principal: principalArn }));
    const [pgAt, iamAt, admissionAt] = await Promise.all([
      poll(async () => !(await db.query('SELECT has_table_privilege($1, $2, $3) AS ok', [roles[k], 'public.lbs', 'INSERT'])).rows[0].ok, 2),
      poll(async () => ((await iam.send(new ListRolePoliciesCommand({ RoleName: `janitor-${k}` }))).PolicyNames ?? []).includes(policy), 5),
      poll(() => admissionDenied(principalArn), 2),
      poll(async () => alertSeen.has(String(k)) && gateSeen.has(String(k)) && firstSeen.has(String(k)) && (!probe || repartitionSeen.has(String(k))), 2),
    ]);
    const ms = (t?: number) => (t ? t - t0 : NaN);
    rows.push({ baseline: ms(firstSeen.get(String(k))), repartition: ms(repartitionSeen.get(String(k))), alert: ms(alertSeen.get(String(k))), pg: ms(pgAt), gate: ms(gateSeen.get(String(k))), iam: ms(iamAt), admission: ms(admissionAt) });
    const r = rows.at(-1)!;
    say(`incident ${k}: baseline ${r.baseline} ms, ${probe ? `repartition topic ${r.repartition} ms, ` : ''}alert ${r.alert} ms, postgres ${r.pg} ms, gate ${r.gate} ms, IAM ${r.iam} ms, admission ${r.admission} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
  // Stopped here, or already done when incidents took longer than the load ran: its report is written either way.
  await stopProcess(load, 10_000);
  const achieved = JSON.parse(loadReport.trim() || '{"rate":0}') as { rate: number };

  const col = (name: keyof (typeof rows)[number]) => rows.map((r) => r[name]);
  const summary = {
    when: new Date().toISOString(),
    machine: machine(),
    incidents: INCIDENTS,
    workers: WORKERS,
    backgroundEventsPerSecond: Math.round(achieved.rate),
    missed: { alert: col('alert').filter(Number.isNaN).length, postgres: col('pg').filter(Number.isNaN).length, gate: col('gate').filter(Number.isNaN).length, iam: col('iam').filter(Number.isNaN).length, admission: col('admission').filter(Number.isNaN).length },
    ms: Object.fromEntries((['baseline', ...(probe ? ['repartition'] as const : []), 'alert', 'pg', 'gate', 'iam', 'admission'] as const).map((n) => {
      const v = col(n).filter((x) => !Number.isNaN(x));
      return [n, { p50: percentile(v, 50), p99: percentile(v, 99), max: Math.max(...v) }];
    })),
  };
  const b = summary.ms.baseline!.p50;
  say('');
  say(`freeze latency, ${INCIDENTS} incidents under ${summary.backgroundEventsPerSecond} background events/s (${summary.machine.cores} cores, ${summary.machine.cpu})`);
  say('| from first delete produced to            | p50 ms | p99 ms | p50 vs baseline |');
  say('|---|---|---|---|');
  for (const [label, key] of [['bare kafkajs consumer receives it (baseline)', 'baseline'], ...(probe ? [['the first event on the repartition topic', 'repartition'] as const] : []), ['(a) critical alert on the alerts topic', 'alert'], ['(b) PostgreSQL role frozen', 'pg'], ['(c) write gate refuses', 'gate'], ['(d) IAM deny policy attached', 'iam'], ['(e) admission webhook denies', 'admission']] as const) {
    const m = summary.ms[key]!;
    say(`| ${label} | ${m.p50} | ${m.p99} | ${key === 'baseline' ? '1.0x' : `${(m.p50 / b).toFixed(1)}x`} |`);
  }
  // Unkeyed input goes through the repartition stage (the default); BENCH_KEYED=1 declares it keyed by principal.
  const resultsPath = saveResults('freeze', { keyed: process.env.BENCH_KEYED === '1', ...summary });
  // The throughput suite runs this one and reads its figures back from where it says.
  if (process.env.BENCH_RESULTS_FILE) writeFileSync(process.env.BENCH_RESULTS_FILE, `${JSON.stringify(summary, null, 2)}\n`);
  say(`written to ${resultsPath}`);
}

try {
  await main();
} finally {
  await teardown.run();
}
