import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { committedTotal, highTotal } from '../helpers/offsets.js';
import { brokers, collect, fresh, inputProducer, testKafka, waitFor } from '../helpers/kafka.js';
import { freePort, startAuditwatch, type RunningAuditwatch } from '../helpers/run-process.js';

describe('auditwatch run, as a process on a real broker', () => {
  const kafka = testKafka();
  const input = fresh('audit.in');
  const dlq = fresh('dead');
  const group = fresh('group');
  const dir = mkdtempSync(join(tmpdir(), 'aw-run-'));
  let aw: RunningAuditwatch | undefined;
  afterAll(() => aw?.child.kill('SIGKILL'));

  it('dead-letters undecodable records with the reason, keeps consuming, exports metrics, and drains on SIGTERM', async () => {
    const port = await freePort();
    const configPath = join(dir, 'config.yaml');
    writeFileSync(configPath, stringify({
      kafka: { brokers: brokers(), groupId: group },
      sources: [{ type: 'kafka', topics: [input], format: 'auto' }],
      deadLetter: { topic: dlq },
      alerts: { sinks: [{ type: 'kafka', topic: fresh('alerts') }] },
      freeze: { controlTopic: fresh('control') },
      metrics: { port },
    }));
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: input, numPartitions: 2 }], waitForLeaders: true });
    const producer = inputProducer(kafka);
    await producer.connect();
    const good = { id: 'ok-1', time: Date.now(), principal: { id: 'u', kind: 'human' }, action: 'GetThing', verb: 'read', resource: { type: 't', id: '1' }, environment: 'dev' };
    await producer.send({
      topic: input,
      messages: [
        { partition: 0, value: JSON.stringify(good) },
        { partition: 0, value: '{"truncated": ' },
        { partition: 1, value: JSON.stringify({ ...good, id: 'bad-verb', verb: 'obliterate' }) },
        { partition: 1, value: Buffer.alloc(0) },
        { partition: 1, value: JSON.stringify({ ...good, id: 'ok-2' }) },
      ],
    });

    const dead = await collect(kafka, dlq).catch(async () => {
      await admin.createTopics({ topics: [{ topic: dlq }], waitForLeaders: true });
      return collect(kafka, dlq);
    });
    aw = startAuditwatch(['--config', configPath, '--model-dir', join(PROJECT_ROOT, 'models')], port);

    await waitFor('three dead letters', () => dead.messages.length >= 3 && dead.messages, 30_000);
    const reasons = dead.messages.map((m) => ({
      code: m.headers!['auditwatch-error-code']!.toString(),
      topic: m.headers!['auditwatch-source-topic']!.toString(),
      partition: m.headers!['auditwatch-source-partition']!.toString(),
      offset: m.headers!['auditwatch-source-offset']!.toString(),
    }));
    expect(reasons).toEqual(expect.arrayContaining([
      { code: 'DECODE_NOT_JSON', topic: input, partition: '0', offset: '1' },
      { code: 'DECODE_BAD_FIELD', topic: input, partition: '1', offset: '0' },
      { code: 'DECODE_EMPTY', topic: input, partition: '1', offset: '1' },
    ]));
    expect(dead.messages.find((m) => m.headers!['auditwatch-error-code']!.toString() === 'DECODE_NOT_JSON')!.value!.toString()).toBe('{"truncated": ');

    const metrics = await waitFor('metrics with both good events', async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return /auditwatch_events_decoded_total\{source="canonical"\} 2/.test(text) ? text : undefined;
    }, 20_000);
    expect(metrics).toMatch(/auditwatch_records_failed_total\{code="DECODE_NOT_JSON"\} 1/);
    expect(metrics).toMatch(/auditwatch_records_consumed_total\{topic="[^"]+"\} 5/);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

    aw.child.kill('SIGTERM');
    expect(await aw.exited).toBe(0);
    // Every record, good or bad, was settled before its offset was committed: nothing left behind.
    // The input is not keyed by principal: the repartition stage committed it, detection committed what it re-keyed.
    const committed = await admin.fetchOffsets({ groupId: `${group}-repartition`, topics: [input] });
    expect(committed[0]!.partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([[0, '2'], [1, '3']]);
    // Re-keyed events travel many to a record: every record of the repartition topic was committed by detection.
    expect(await committedTotal(admin, group, `${group}-repartition`)).toBe(await highTotal(admin, `${group}-repartition`));
    await Promise.all([dead.stop(), producer.disconnect(), admin.disconnect()]);
  }, 90_000);

  it('waits, saying which key names it, for an input topic that does not exist yet; then consumes it; SIGTERM while waiting exits 0', async () => {
    const later = fresh('audit.later');
    const group = fresh('group');
    const port = await freePort();
    const configPath = join(dir, 'later.yaml');
    writeFileSync(configPath, stringify({
      kafka: { brokers: brokers(), groupId: group },
      sources: [{ type: 'kafka', topics: [later], format: 'canonical-json' }],
      alerts: { sinks: [{ type: 'kafka', topic: fresh('alerts') }] },
      freeze: { controlTopic: fresh('control') },
      metrics: { port },
    }));
    const waiting = startAuditwatch(['--config', configPath, '--model-dir', join(PROJECT_ROOT, 'models')], port);
    const said = await waiting.waitForLog(/waiting for input topics to exist/);
    expect(said).toContain(`sources[0].topics[0]: topic \\"${later}\\" does not exist`);
    waiting.child.kill('SIGTERM');
    expect(await waiting.exited).toBe(0);

    aw = startAuditwatch(['--config', configPath, '--model-dir', join(PROJECT_ROOT, 'models')], port);
    await aw.waitForLog(/waiting for input topics to exist/);
    const admin = kafka.admin();
    const producer = inputProducer(kafka);
    await Promise.all([admin.connect(), producer.connect()]);
    await admin.createTopics({ topics: [{ topic: later, numPartitions: 2 }], waitForLeaders: true });
    const event = { id: 'later-1', time: Date.now(), principal: { id: 'u', kind: 'human' }, action: 'GetThing', verb: 'read', resource: { type: 't', id: '1' }, environment: 'dev' };
    await producer.send({ topic: later, messages: [{ value: JSON.stringify(event) }] });
    await aw.waitForLog(/auditwatch running/);
    await waitFor('the event decoded', async () => (await aw!.metric(/^auditwatch_events_decoded_total/)) === 1, 30_000);
    aw.child.kill('SIGTERM');
    expect(await aw.exited).toBe(0);
    await Promise.all([producer.disconnect(), admin.disconnect()]);
  }, 90_000);

  // The broker bounds the session timeout (group.min.session.timeout.ms, 6 s by default). kafkajs gives up a consumer
  // it refuses without restarting it, and its run() resolves all the same: auditwatch used to log "consuming" and
  // stay up, ready, reading nothing.
  // The first case is the consumer thread's path. In the second both stages are group sources with the same
  // refused setting: whichever is refused first fails the run, and the other stops with it.
  it.each([
    ['keyed input, on the consumer thread (one consumer stage)', true, ['']],
    ['unkeyed input (two stages, both refused: the first failure ends the run)', false, ['', '-repartition']],
  ])('a consumer the broker refuses (session timeout out of its bounds) fails the run with one line naming the key: %s', async (_what, keyedByPrincipal, suffixes) => {
    const topic = fresh('audit.refused');
    const refusedGroup = fresh('group');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const port = await freePort();
    const configPath = join(dir, `refused-${keyedByPrincipal}.yaml`);
    writeFileSync(configPath, stringify({
      kafka: { brokers: brokers(), groupId: refusedGroup, consumer: { sessionTimeout: '1s', heartbeatInterval: '300ms', thread: keyedByPrincipal } },
      sources: [{ type: 'kafka', topics: [topic], format: 'canonical-json', keyedByPrincipal }],
      alerts: { sinks: [{ type: 'kafka', topic: fresh('alerts') }] },
      freeze: { controlTopic: fresh('control') },
      metrics: { port },
    }));
    const refused = startAuditwatch(['--config', configPath, '--model-dir', join(PROJECT_ROOT, 'models')], port);
    expect(await refused.exited).toBe(1);
    const groups = suffixes.map((suffix) => `${refusedGroup}${suffix}`);
    const lineFor = (group: string) => `auditwatch: CONSUMER_GAVE_UP: the consumer of group "${group}" stopped and will not restart: `
      + 'The session timeout is not within the range allowed by the broker (as configured by group.min.session.timeout.ms and '
      + 'group.max.session.timeout.ms) (kafka.consumer.sessionTimeout is 1000 ms)';
    // The run's one closing line is that of one refused group.
    const closing = refused.stderr.filter((l) => l.startsWith('auditwatch: '));
    expect(closing).toHaveLength(1);
    expect(groups.map(lineFor)).toContain(closing[0]);
    expect(refused.stderr.filter((l) => l.includes('"msg":"consuming"'))).toEqual([]);
    expect(refused.stderr.some((l) => l.includes('"reason":"a consumer failed"'))).toBe(true);
  }, 90_000);
});
