import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { simulateElbIncident, simulateNormalTraffic } from '../../src/sim/cloudtrail-sim.js';
import { decodeAlert } from '../../src/sinks/kafka.js';
import { bulkDeleteIds, JANITOR_ARN, produceCloudTrail, runNames, sendUntilCritical, writeRunConfig } from '../helpers/elb-run.js';
import { brokers, collect, inputProducer, testKafka, waitFor } from '../helpers/kafka.js';
import { everyOffsetCommitted, groupHasMembers } from '../helpers/offsets.js';
import { freePort, startAuditwatch, type RunningAuditwatch } from '../helpers/run-process.js';

describe('three instances in one consumer group on a real broker', () => {
  const kafka = testKafka();
  const names = runNames('scale');
  const { input, group, alertsTopic, controlTopic } = names;
  const instances: RunningAuditwatch[] = [];
  afterAll(() => {
    for (const aw of instances) aw.child.kill('SIGKILL');
  });

  async function start(n: number): Promise<RunningAuditwatch> {
    const dir = mkdtempSync(join(tmpdir(), `aw-scale-${n}-`));
    const port = await freePort();
    const configPath = writeRunConfig(dir, names, { brokers: brokers(), clientId: `${group}-${n}`, port });
    const aw = startAuditwatch(['--config', configPath, '--model-dir', join(PROJECT_ROOT, 'models')], port);
    instances.push(aw);
    return aw;
  }

  it('SIGKILL of the instance holding an ELB-style incident: alerted once by id, frozen once, every offset processed', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: input, numPartitions: 3 }], waitForLeaders: true });
    const producer = inputProducer(kafka);
    await producer.connect();
    const [a, b, c] = await Promise.all([start(1), start(2), start(3)]);
    for (const aw of [a!, b!, c!]) await aw.waitForLog(/"auditwatch running"/, 0, 60_000);
    await waitFor('both consumer groups stable with three members', async () => (await groupHasMembers(admin, group, 3)) && (await groupHasMembers(admin, `${group}-repartition`, 3)), 60_000);
    const alerts = await collect(kafka, alertsTopic);
    const control = await collect(kafka, controlTopic);

    // Background traffic from the simulated organisation's last half hour, on every partition.
    const now = Date.now();
    await produceCloudTrail(producer, input, simulateNormalTraffic({ seed: 21, from: now - 1_800_000, to: now - 60_000 }));

    // The incident: 600 load balancers and their target groups, 20 calls a second of event time (a minute).
    const incident = simulateElbIncident({ seed: 21, at: now, loadBalancers: 600, callsPerSecond: 20 });
    const janitorAlerts = () => alerts.messages.map((m) => decodeAlert(m.value!)).filter((x) => x.principal === JANITOR_ARN);
    const sent = await sendUntilCritical(producer, input, incident, janitorAlerts);
    await waitFor('a freeze on the control topic', () => control.messages.some((m) => m.value), 20_000);
    expect(sent).toBeLessThan(400);

    // Kill the instance that froze: it holds the janitor's partition, with the incident open.
    const freezesOf = await Promise.all([a!, b!, c!].map((aw) => aw.metric(/^auditwatch_freezes_total\{mode="enforce"\}/)));
    const owner = [a!, b!, c!][freezesOf.findIndex((n) => n > 0)]!;
    expect(freezesOf.filter((n) => n > 0)).toHaveLength(1);
    const killedAtEvent = Date.parse(incident[sent - 1]!.eventTime);
    owner.child.kill('SIGKILL');
    await owner.exited;

    // The janitor goes on (its calls were already in flight): the rest of the minute.
    await produceCloudTrail(producer, input, incident.slice(sent));
    const survivors = [a!, b!, c!].filter((aw) => aw !== owner);
    await waitFor('every input and re-keyed offset committed', () => everyOffsetCommitted(admin, input, group), 90_000);
    // A survivor restored the partition's state from the changelog before going on with it.
    expect(await Promise.any(survivors.map((aw) => aw.waitForLog(/"entries":[1-9].*"partition state restored"/, 0, 1000)))).toBeTruthy();

    const all = janitorAlerts();
    const bulk = all.filter((x) => x.detector === 'bulk-delete');
    // One incident per resource type, each with one id across the crash; its revisions went on after the takeover.
    const ids = bulkDeleteIds(bulk);
    expect([...ids.keys()].sort()).toEqual(['elasticloadbalancing:loadbalancer', 'elasticloadbalancing:targetgroup']);
    expect([...ids.values()].every((s) => s.size === 1)).toBe(true);
    expect(bulk.some((x) => x.detectedAt > killedAtEvent + 10_000)).toBe(true);
    // A revision delivered twice (published, then the crash before its state was written) is the same alert.
    const byRevision = new Map<string, Alert>();
    for (const x of all) {
      const seen = byRevision.get(`${x.id}/${x.revision}`);
      if (seen) expect(x).toEqual(seen);
      byRevision.set(`${x.id}/${x.revision}`, x);
    }
    // Frozen once: one freeze command on the control topic, whichever instance decided it.
    const freezes = control.messages.filter((m) => m.value);
    expect(freezes).toHaveLength(1);
    expect(freezes[0]!.key!.toString()).toBe(`environment=production;principal=${JANITOR_ARN}`);
    console.log(`scale-out: killed the owner after ${sent} incident calls; ${bulk.length} bulk-delete alert revisions, ids ${[...ids.values()].map((s) => [...s][0]).join(', ')}`);

    for (const aw of survivors) aw.child.kill('SIGTERM');
    expect(await Promise.all(survivors.map((aw) => aw.exited))).toEqual([0, 0]);
    await Promise.all([alerts.stop(), control.stop(), producer.disconnect(), admin.disconnect()]);
  }, 240_000);
});
