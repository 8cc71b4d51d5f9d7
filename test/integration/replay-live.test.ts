import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Partitioners } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { Alert } from '../../src/alerts/alert.js';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { decodeAlert } from '../../src/sinks/kafka.js';
import { brokers, collect, fresh, testKafka, waitFor } from '../helpers/kafka.js';
import { committedTotal, highTotal } from '../helpers/offsets.js';
import { freePort, startAuditwatch, type RunningAuditwatch } from '../helpers/run-process.js';
import { dayWithSpreadDestruction, principalKey } from '../helpers/spread.js';

describe('a replay of a topic gives the alerts the live run gave', () => {
  const kafka = testKafka();
  const input = fresh('audit.keyed');
  const alertsTopic = fresh('alerts');
  const group = fresh('group');
  const dir = mkdtempSync(join(tmpdir(), 'aw-replay-live-'));
  let aw: RunningAuditwatch | undefined;
  afterAll(() => aw?.child.kill('SIGKILL'));

  it('auditwatch run on a 3-partition topic keyed by principal, then auditwatch replay --topic: the same alert ids and revisions', async () => {
    const traffic = dayWithSpreadDestruction();
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: input, numPartitions: 3 }, { topic: alertsTopic }], waitForLeaders: true });
    // Each partition's leader answering for it, before the first send (a new topic's metadata reaches brokers a moment later).
    await waitFor('the new topic on its leaders', () => admin.fetchTopicOffsets(input).then((o) => o.length === 3).catch(() => false));
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < traffic.length; i += 500) {
      await producer.send({ topic: input, messages: traffic.slice(i, i + 500).map((r) => ({ key: principalKey(r), value: JSON.stringify(r), timestamp: String(Date.parse(r.eventTime)) })) });
    }
    await producer.disconnect();

    const simulation = parse(readFileSync(join(PROJECT_ROOT, 'config', 'simulation.yaml'), 'utf8')) as { environments: unknown; freeze: Record<string, unknown> };
    const port = await freePort();
    const configPath = join(dir, 'config.yaml');
    writeFileSync(configPath, stringify({
      kafka: { brokers: brokers(), groupId: group },
      sources: [{ type: 'kafka', topics: [input], format: 'cloudtrail', keyedByPrincipal: true }],
      environments: simulation.environments,
      alerts: { sinks: [{ type: 'kafka', topic: alertsTopic }] },
      // The cap counts freezes across tasks in the order they are decided, which differs run to run: out of the way.
      freeze: { ...simulation.freeze, cap: { maxFreezes: 1000 }, controlTopic: fresh('control'), auditTopic: fresh('freeze-audit') },
      deadLetter: { topic: fresh('dead') },
      metrics: { port },
    }));
    aw = startAuditwatch(['--config', configPath, '--model-dir', join(PROJECT_ROOT, 'models')], port);
    // Every offset committed: each batch's alerts were on the alerts topic before its offsets were.
    await waitFor('the live run to commit every record', () => {
      if (aw!.child.exitCode !== null) throw new Error(`auditwatch run exited with ${aw!.child.exitCode}: ${aw!.stderr.slice(-5).join('\n')}`);
      return Promise.all([committedTotal(admin, group, input), highTotal(admin, input)]).then(([done, high]) => done === high).catch(() => false);
    }, 90_000).catch((err: Error) => {
      throw new Error(`${err.message}; auditwatch run said: ${aw!.stderr.slice(-8).join('\n')}`);
    });
    aw.child.kill('SIGTERM');
    expect(await aw.exited).toBe(0);
    const written = (await admin.fetchTopicOffsets(alertsTopic)).reduce((n, p) => n + Number(p.high), 0);
    const live = await collect(kafka, alertsTopic);
    await waitFor('the live alerts', () => live.messages.length === written, 20_000);
    await live.stop();
    await admin.disconnect();
    const key = (a: Alert) => `${a.id}/${a.revision}/${a.severity}/${a.action}/${a.triggerEventId}`;
    const liveAlerts = live.messages.map((m) => decodeAlert(m.value!));
    // The ELB janitor, and the queues deleted by many services (their type across principals, per task).
    expect(liveAlerts.some((a) => a.principal.endsWith('role/elb-janitor') && a.severity === 'critical')).toBe(true);
    expect(liveAlerts.some((a) => a.resourceType.startsWith('sqs'))).toBe(true);

    const replayOf = (config: string) => {
      const out = join(dir, `replay-${Math.random().toString(36).slice(2)}.ndjson`);
      const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'auditwatch.js'), 'replay', '--topic', input, '--format', 'cloudtrail', '--config', config, '--model-dir', join(PROJECT_ROOT, 'models'), '--alerts', out],
        { encoding: 'utf8', env: { ...process.env, KAFKA_BROKERS: '' } });
      expect(r.status, r.stderr).toBe(0);
      return readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Alert);
    };
    expect(replayOf(configPath).map(key).sort()).toEqual(liveAlerts.map(key).sort());

    // One task for every partition (a config without state.changelog, as replay used to run whatever the config):
    // the queues' aggregate spans tasks the live run kept apart, so the alerts differ.
    const oneTask = join(dir, 'one-task.yaml');
    writeFileSync(oneTask, stringify({ ...parse(readFileSync(configPath, 'utf8')), state: { changelog: false } }));
    expect(replayOf(oneTask).map(key).sort()).not.toEqual(liveAlerts.map(key).sort());
  }, 180_000);
});
