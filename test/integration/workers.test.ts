import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { simulateElbIncident, simulateNormalTraffic } from '../../src/sim/cloudtrail-sim.js';
import { decodeAlert } from '../../src/sinks/kafka.js';
import { bulkDeleteIds, JANITOR_ARN, produceCloudTrail, runNames, sendUntilCritical, writeRunConfig } from '../helpers/elb-run.js';
import { brokers, collect, inputProducer, testKafka, waitFor } from '../helpers/kafka.js';
import { everyOffsetCommitted, groupHasMembers } from '../helpers/offsets.js';
import { freePort, startAuditwatch, type RunningAuditwatch } from '../helpers/run-process.js';

describe('auditwatch run --workers 2 on a real broker', () => {
  const kafka = testKafka();
  const names = runNames('workers');
  const { input, group, alertsTopic, controlTopic } = names;
  let aw: RunningAuditwatch | undefined;
  afterAll(() => {
    aw?.child.kill('SIGKILL');
  });

  it('two worker processes share the partitions: every event once, one freeze, a dead worker replaced, SIGTERM drains both', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: input, numPartitions: 4 }], waitForLeaders: true });
    const producer = inputProducer(kafka);
    await producer.connect();
    const dir = mkdtempSync(join(tmpdir(), 'aw-workers-'));
    const port = await freePort();
    const configPath = writeRunConfig(dir, names, { brokers: brokers(), port });
    aw = startAuditwatch(['--config', configPath, '--model-dir', join(PROJECT_ROOT, 'models'), '--workers', '2'], port);
    await aw.waitForLog(/"auditwatch supervising workers"/, 0, 60_000);
    const bothStable = async () => (await groupHasMembers(admin, group, 2)) && (await groupHasMembers(admin, `${group}-repartition`, 2));
    const ready = async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
    await waitFor('both groups stable with the two workers, and /readyz', async () => (await bothStable()) && (await ready()), 60_000);
    const workerPids = [0, 1].map((w) => Number(new RegExp(`"worker":${w},"pid":(\\d+)`).exec(aw!.stderr.join('\n'))?.[1]));
    expect(workerPids.every((p) => p > 0 && p !== aw!.child.pid)).toBe(true);
    // Neither consumed before both had loaded: they joined the group together.
    const firstConsuming = aw.stderr.findIndex((l) => /"msg":"consuming"/.test(l));
    const running = aw.stderr.flatMap((l, i) => (/"msg":"auditwatch running"/.test(l) ? [i] : []));
    expect(running).toHaveLength(2);
    expect(firstConsuming).toBeGreaterThan(Math.max(...running));
    const alerts = await collect(kafka, alertsTopic);
    const control = await collect(kafka, controlTopic);

    const now = Date.now();
    const background = simulateNormalTraffic({ seed: 31, from: now - 1_800_000, to: now - 60_000 });
    await produceCloudTrail(producer, input, background);
    const incident = simulateElbIncident({ seed: 31, at: now, loadBalancers: 600, callsPerSecond: 20 });
    const janitorAlerts = () => alerts.messages.map((m) => decodeAlert(m.value!)).filter((x) => x.principal === JANITOR_ARN);
    const sent = await sendUntilCritical(producer, input, incident, janitorAlerts);
    await waitFor('a freeze on the control topic', () => control.messages.some((m) => m.value), 20_000);
    expect(sent).toBeLessThan(400);
    const allCommitted = () => everyOffsetCommitted(admin, input, group);
    await waitFor('every input and re-keyed offset committed', allCommitted, 60_000);
    // The supervisor's /metrics is the workers' sum: every event detected once, by one worker or the other.
    expect(await aw.metric(/^auditwatch_events_decoded_total\{source="cloudtrail"\}/)).toBe(background.length + sent);
    expect(await aw.metric(/^auditwatch_ready /)).toBe(1);

    // A worker dies mid-incident: the supervisor starts another, and the partitions' state follows them.
    const logsBefore = aw.stderr.length;
    process.kill(workerPids[1]!, 'SIGKILL');
    await aw.waitForLog(/"a worker died; starting another in its place"/, logsBefore, 20_000);
    await waitFor('both groups stable with two workers again', bothStable, 60_000);
    await produceCloudTrail(producer, input, incident.slice(sent));
    await waitFor('every offset committed after the replacement', allCommitted, 90_000);

    const ids = bulkDeleteIds(janitorAlerts());
    expect([...ids.keys()].sort()).toEqual(['elasticloadbalancing:loadbalancer', 'elasticloadbalancing:targetgroup']);
    expect([...ids.values()].every((s) => s.size === 1)).toBe(true);
    const freezes = control.messages.filter((m) => m.value);
    expect(freezes).toHaveLength(1);
    expect(freezes[0]!.key!.toString()).toBe(`environment=production;principal=${JANITOR_ARN}`);
    console.log(`workers: ${background.length + sent} events over two workers; froze after ${sent} incident calls; worker ${workerPids[1]} killed and replaced`);

    aw.child.kill('SIGTERM');
    expect(await aw.exited).toBe(0);
    expect(aw.stderr.some((l) => /"exitCode":0,.*"every worker stopped"/.test(l))).toBe(true);
    await Promise.all([alerts.stop(), control.stop(), producer.disconnect(), admin.disconnect()]);
  }, 240_000);

  it('SIGTERM while the workers are still loading: every process stops, exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aw-workers-early-'));
    const port = await freePort();
    const configPath = writeRunConfig(dir, names, { brokers: brokers(), groupId: `${group}-early`, port });
    const early = startAuditwatch(['--config', configPath, '--model-dir', join(PROJECT_ROOT, 'models'), '--workers', '2'], port);
    await early.waitForLog(/"auditwatch supervising workers"/, 0, 60_000);
    early.child.kill('SIGTERM');
    expect(await early.exited).toBe(0);
    expect(early.stderr.some((l) => /"exitCode":0,.*"every worker stopped"/.test(l))).toBe(true);
  }, 60_000);
});
