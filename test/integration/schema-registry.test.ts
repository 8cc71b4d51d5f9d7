import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { decodeContextFrom, decodeValue } from '../../src/decode/index.js';
import type { AuditEvent } from '../../src/events/audit-event.js';
import { auditEventType } from '../../src/events/avro.js';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { confluentFrame } from '../../src/kafka/schema-registry.js';
import { simulateElbIncident } from '../../src/sim/cloudtrail-sim.js';
import { decodeAlert } from '../../src/sinks/kafka.js';
import { JANITOR_ARN, runNames, writeRunConfig } from '../helpers/elb-run.js';
import { brokers, collect, inputProducer, testKafka, waitFor } from '../helpers/kafka.js';
import { freePort, startAuditwatch } from '../helpers/run-process.js';
import { startLocalSchemaRegistry, type LocalSchemaRegistry } from '../helpers/schema-registry.js';

// A producer a release ahead of auditwatch: the canonical schema with a field added, with a default.
const canonical = auditEventType.schema({ exportAttrs: true }) as { fields: unknown[] };
const newer = avro.Type.forSchema({ ...canonical, fields: [...canonical.fields, { name: 'bytesTransferred', type: 'long', default: 0 }] } as avro.Schema);

describe('canonical Avro through a real schema registry (Apicurio Registry, its Confluent-compatible API)', () => {
  const kafka = testKafka();
  const dataDir = mkdtempSync(join(tmpdir(), 'aw-registry-'));
  let registry: LocalSchemaRegistry;
  let producer: Producer;
  beforeAll(async () => {
    registry = await startLocalSchemaRegistry(dataDir);
    producer = inputProducer(kafka);
    await producer.connect();
  }, 180_000);
  afterAll(async () => {
    await producer?.disconnect();
    await registry?.stop();
  });

  it('a newer compatible schema decodes and an ELB-style incident is alerted, the alerts written Confluent-framed with their schema registered; an unknown id is dead-lettered with that reason; while the registry is down the records wait, and none is dead-lettered', async () => {
    const names = runNames('registry');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: names.input, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    // The producer registers its schema, as a Confluent serializer would.
    const registered = await fetch(`${registry.url}/subjects/${names.input}-value/versions`, {
      method: 'POST', headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify({ schema: JSON.stringify(newer.schema()) }),
    });
    const { id } = await registered.json() as { id: number };
    expect(typeof id).toBe('number');

    // The incident, as canonical events the newer producer writes.
    const dir = mkdtempSync(join(tmpdir(), 'aw-registry-run-'));
    const metricsPort = await freePort();
    const raw = parse(readFileSync(writeRunConfig(dir, names, { brokers: brokers(), port: metricsPort }), 'utf8')) as Record<string, any>;
    raw.sources[0].format = 'canonical-avro';
    raw.schemaRegistry = { url: registry.url, timeout: '1s' };
    const configPath = join(dir, 'registry.yaml');
    writeFileSync(configPath, stringify(raw));
    const ctx = decodeContextFrom(loadConfig(configPath, {}));
    const events = simulateElbIncident({ seed: 7, at: Date.now(), loadBalancers: 40, callsPerSecond: 20 })
      .flatMap((r) => { const d = decodeValue(Buffer.from(JSON.stringify(r)), 'cloudtrail', ctx); return 'error' in d ? [] : d.events; }) as AuditEvent[];
    expect(events.length).toBeGreaterThan(50);

    // The registry goes down before auditwatch starts: the records must wait for it, not be dead-lettered.
    const port = registry.port;
    await registry.stop();
    const aw = startAuditwatch(['--config', configPath, '--model-dir', join(PROJECT_ROOT, 'models')], metricsPort);
    let dead: Awaited<ReturnType<typeof collect>> | undefined;
    let alerts: Awaited<ReturnType<typeof collect>> | undefined;
    try {
      await aw.waitForLog(/consuming/, 0, 60_000);
      // auditwatch made its output topics at start.
      const deadLetters = (dead = await collect(kafka, `dead.${names.run}`));
      const alerted = (alerts = await collect(kafka, names.alertsTopic));
      await producer.send({
        topic: names.input,
        messages: [
          ...events.map((e) => ({ key: e.principal.id, value: confluentFrame(id, newer.toBuffer({ ...e, bytesTransferred: 10 })), timestamp: String(e.time) })),
          { key: 'unknown', value: confluentFrame(424_242, newer.toBuffer({ ...events[0]!, id: 'unknown-schema' })), timestamp: String(events[0]!.time) },
        ],
      });
      await aw.waitForLog(/looking up writer schemas failed; retrying/, 0, 30_000);
      // Down for longer than the group's session timeout (6 s here): the waiting batch must keep its membership, or
      // it would be handed over and handled twice.
      await new Promise((r) => setTimeout(r, 8000));
      expect(deadLetters.messages).toHaveLength(0);
      expect(alerted.messages).toHaveLength(0);

      // Back, with the same storage: the schema is there again, and the waiting records go on.
      registry = await startLocalSchemaRegistry(dataDir, port);
      const critical = await waitFor('a critical alert for the janitor', () => alerted.messages.find((m) => {
        const a = decodeAlert(m.value!);
        return a.principal === JANITOR_ARN && a.severity === 'critical';
      }), 60_000);
      // Written in the Confluent wire format, with the alert schema registered under <topic>-value.
      expect(critical.value![0]).toBe(0);
      const alertSchemaId = critical.value!.readUInt32BE(1);
      const alertSchema = await (await fetch(`${registry.url}/schemas/ids/${alertSchemaId}`)).json() as { schema: string };
      expect(avro.Type.forSchema(JSON.parse(alertSchema.schema) as avro.Schema).name).toBe('dev.auditwatch.Alert');
      // Registered with its defaults: the next release may add a field with a default and still be compatible.
      const fields = (JSON.parse(alertSchema.schema) as { fields: Array<{ name: string; default?: unknown }> }).fields;
      expect(fields.find((f) => f.name === 'closed')).toMatchObject({ default: false });
      expect(await (await fetch(`${registry.url}/subjects`)).json()).toEqual(expect.arrayContaining([`${names.input}-value`, `${names.alertsTopic}-value`]));
      // The one record whose schema id the registry does not know: dead-lettered, with that reason; nothing else.
      const letter = await waitFor('the unknown-id record on the dead-letter topic', () => deadLetters.messages[0], 30_000);
      expect(letter.headers!['auditwatch-error-code']!.toString()).toBe('DECODE_SCHEMA_UNKNOWN');
      expect(letter.headers!['auditwatch-error-reason']!.toString()).toBe('schema id 424242 is not in the schema registry');
      await new Promise((r) => setTimeout(r, 1000));
      expect(deadLetters.messages.map((m) => m.headers!['auditwatch-error-reason']!.toString())).toEqual(['schema id 424242 is not in the schema registry']);
    } finally {
      aw.child.kill('SIGTERM');
      expect(await aw.exited).toBe(0);
      await dead?.stop();
      await alerts?.stop();
    }
  }, 240_000);
});
