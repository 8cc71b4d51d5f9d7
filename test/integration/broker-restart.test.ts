import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, startLocalBroker, type LocalBroker } from '../../src/kafka/local-broker.js';
import { simulateElbIncident, simulateNormalTraffic } from '../../src/sim/cloudtrail-sim.js';
import { decodeAlert } from '../../src/sinks/kafka.js';
import { JANITOR_ARN, produceCloudTrail, runNames, writeRunConfig } from '../helpers/elb-run.js';
import { collect, fresh, inputProducer, waitFor } from '../helpers/kafka.js';
import { everyOffsetCommitted, highTotal } from '../helpers/offsets.js';
import { freePort, startAuditwatch, type RunningAuditwatch } from '../helpers/run-process.js';

/** Its own broker, since this test kills it: the shared one stays up for the other tests. */
describe('the broker killed and restarted mid-stream', () => {
  let broker: LocalBroker | undefined;
  let aw: RunningAuditwatch | undefined;
  afterAll(async () => {
    aw?.child.kill('SIGKILL');
    await broker?.stop();
  });

  it('loses nothing: consumption resumes, every event is processed once, an incident after the restart is alerted and frozen', async () => {
    broker = await startLocalBroker({ heap: '512m' });
    const kafka = new Kafka({ clientId: fresh('test'), brokers: [broker.brokers], logLevel: logLevel.NOTHING, retry: { retries: 12 } });
    const names = runNames('restart');
    const { input, group } = names;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: input, numPartitions: 2 }], waitForLeaders: true });
    const dir = mkdtempSync(join(tmpdir(), 'aw-restart-'));
    const port = await freePort();
    const configPath = writeRunConfig(dir, names, { brokers: [broker.brokers], port });
    aw = startAuditwatch(['--config', configPath, '--model-dir', join(PROJECT_ROOT, 'models')], port);
    await aw.waitForLog(/"auditwatch running"/, 0, 60_000);
    let producer = inputProducer(kafka);
    await producer.connect();

    const now = Date.now();
    // Yesterday 00:50-02:00, whatever the time now: it holds the nightly cleanup, so thousands of events are in
    // flight when the broker dies.
    const yesterday = Math.floor(now / 86_400_000) * 86_400_000 - 86_400_000;
    const before = simulateNormalTraffic({ seed: 31, from: yesterday + 50 * 60_000, to: yesterday + 2 * 3_600_000 });
    expect(before.length).toBeGreaterThan(2000);
    await produceCloudTrail(producer, input, before, 500);
    await producer.disconnect();
    // Mid-stream: auditwatch is still working through what was just produced.
    await broker.halt('SIGKILL');
    await new Promise((r) => setTimeout(r, 8000));
    expect(aw.child.exitCode).toBeNull();
    await broker.restart();

    producer = inputProducer(kafka);
    await producer.connect();
    const incident = simulateElbIncident({ seed: 31, at: Date.now(), loadBalancers: 100, callsPerSecond: 20 });
    await produceCloudTrail(producer, input, incident, 500);
    const total = before.length + incident.length;
    await waitFor('every input and re-keyed offset committed after the restart',
      async () => (await highTotal(admin, input)) === total && (await everyOffsetCommitted(admin, input, group)), 120_000);
    // Every event reached detection exactly once: re-keyed again after the outage or not, duplicates were dropped.
    expect(await aw.metric(/^auditwatch_events_decoded_total\{source="cloudtrail"\}/)).toBe(total);
    expect(aw.child.exitCode).toBeNull();

    const alerts = await collect(kafka, names.alertsTopic);
    const control = await collect(kafka, names.controlTopic);
    await waitFor('the janitor alerted critical after the restart', () => alerts.messages.map((m) => decodeAlert(m.value!)).some((a) => a.principal === JANITOR_ARN && a.severity === 'critical'), 30_000);
    await waitFor('its freeze', () => control.messages.some((m) => m.value), 10_000);
    expect(control.messages.filter((m) => m.value)).toHaveLength(1);
    console.log(`broker restart: ${total} events processed once across a broker SIGKILL and restart; warnings logged while it was down: ${aw.stderr.filter((l) => /"level":40/.test(l)).length}`);

    aw.child.kill('SIGTERM');
    expect(await aw.exited).toBe(0);
    await Promise.all([alerts.stop(), control.stop(), producer.disconnect(), admin.disconnect()]);
  }, 300_000);
});
