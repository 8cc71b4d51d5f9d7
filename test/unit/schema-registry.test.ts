import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { validateConfig } from '../../src/config/load.js';
import { decodeContextFrom, decodeSettingsOf, decodeValue } from '../../src/decode/index.js';
import { isTransient } from '../../src/errors.js';
import { alertType, auditEventType } from '../../src/events/avro.js';
import { confluentFrame, SchemaRegistryClient, type WriterSchemas } from '../../src/kafka/schema-registry.js';
import { createLogger } from '../../src/log.js';
import { lookUpWriterSchemas } from '../../src/pipeline/schema-lookup.js';
import { decodeAlert } from '../../src/sinks/kafka.js';
import type { SourceRecord } from '../../src/sources/source.js';
import { freePort } from '../../src/util/net.js';

const config = validateConfig({ schemaRegistry: { url: 'http://127.0.0.1:1', timeout: '500ms' } }, {});
const event = {
  id: 'e-1', time: Date.parse('2026-01-05T10:00:00Z'), principal: { id: 'arn:aws:iam::1:role/j', kind: 'service' }, action: 'DeleteLoadBalancer',
  verb: 'delete', resource: { type: 'elasticloadbalancing:loadbalancer', id: 'lb-1' }, environment: 'production', source: 'canonical',
  outcome: 'success', changeTicket: null, objectCount: 1,
};
// A producer a release ahead: the canonical schema with a field added, with a default (a compatible change).
const current = auditEventType.schema({ exportAttrs: true }) as { fields: unknown[] };
const newer = avro.Type.forSchema({ ...current, fields: [...current.fields, { name: 'bytesTransferred', type: 'long', default: 0 }] } as avro.Schema);
const written = confluentFrame(7, newer.toBuffer({ ...event, bytesTransferred: 1234 }));
const writers = (known: Record<number, avro.Type | string>): WriterSchemas => ({
  lookup: (id) => {
    const w = known[id];
    return w === undefined ? undefined : typeof w === 'string' ? { unreadable: w } : { resolver: auditEventType.createResolver(w) };
  },
});

describe('canonical Avro with a schema registry', () => {
  it('an event written with a newer compatible schema decodes through the writer schema its id names; without a registry it cannot', () => {
    const decoded = decodeValue(written, 'canonical-avro', decodeContextFrom(config, writers({ 7: newer })));
    expect(decoded).toEqual({ events: [expect.objectContaining({ id: 'e-1', action: 'DeleteLoadBalancer', environment: 'production' })], ignored: 0 });
    const plain = decodeValue(written, 'canonical-avro', decodeContextFrom(validateConfig({}, {})));
    expect('error' in plain && plain.error.code).toBe('DECODE_NOT_AVRO');
    // `auto` recognises the frame by its magic byte and reads it the same way.
    expect(decodeValue(written, 'auto', decodeContextFrom(config, writers({ 7: newer })))).toEqual(decoded);
  });

  it('an id the registry does not know is dead-lettered with that reason; a decode thread without the schema hands the record back', async () => {
    const unknown = decodeValue(written, 'canonical-avro', decodeContextFrom(config, writers({ 7: 'schema id 7 is not in the schema registry' })));
    expect('error' in unknown && [unknown.error.code, unknown.error.message]).toEqual(['DECODE_SCHEMA_UNKNOWN', 'schema id 7 is not in the schema registry']);
    // A decode thread is given the settings only: it has no schemas of its own.
    const onThread = decodeValue(written, 'canonical-avro', decodeContextFrom(decodeSettingsOf(config)));
    expect('error' in onThread && onThread.error.code).toBe('DECODE_SCHEMA_PENDING');
    // The detection thread looks the id up and decodes it itself.
    const looked: number[][] = [];
    const main = decodeContextFrom(config, { ...writers({}), ensure: async (ids) => void looked.push([...ids]) });
    const record: SourceRecord = { topic: 't', partition: 0, offset: '0', key: null, value: written, format: 'canonical-avro', decoded: onThread };
    await lookUpWriterSchemas([record, { ...record, offset: '1', decoded: undefined }], main, createLogger('silent'), () => false);
    expect(looked).toEqual([[7]]);
    expect(record.decoded).toBeUndefined();
  });

  it('a registry that does not answer is a retriable error: the batch waits and retries, nothing is dead-lettered', async () => {
    const port = await freePort(); // nothing listens there
    const client = new SchemaRegistryClient(validateConfig({ schemaRegistry: { url: `http://127.0.0.1:${port}`, timeout: '500ms' } }, {}).schemaRegistry!, auditEventType);
    const err = await client.ensure([7]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SCHEMA_REGISTRY_UNAVAILABLE', retriable: true });
    expect(isTransient(err)).toBe(true);
    expect(client.lookup(7)).toBeUndefined();
    let attempts = 0;
    const ctx = decodeContextFrom(config, { lookup: () => undefined, ensure: (ids) => (attempts++, client.ensure(ids)) });
    const record: SourceRecord = { topic: 't', partition: 0, offset: '0', key: null, value: written, format: 'canonical-avro' };
    await expect(lookUpWriterSchemas([record], ctx, createLogger('silent'), () => attempts >= 3)).rejects.toMatchObject({ code: 'SCHEMA_REGISTRY_UNAVAILABLE' });
    expect(attempts).toBe(3);
  });

  it('credentials come from environment variables; one that is not set is a config line naming the key', () => {
    const spec = validateConfig({ schemaRegistry: { url: 'https://sr.example', auth: { usernameEnv: 'SR_USER', passwordEnv: 'SR_PASS' } } }, {}).schemaRegistry!;
    expect(() => new SchemaRegistryClient(spec, auditEventType, {})).toThrow('config: schemaRegistry.auth.usernameEnv: environment variable SR_USER is not set');
    expect(() => validateConfig({ schemaRegistry: { url: 'https://sr.example', auth: { usernameEnv: 'SR_USER' } } }, {})).toThrow(/schemaRegistry\.auth: either usernameEnv and passwordEnv, or tokenEnv/);
  });

  it('alerts on the topic read back whether Confluent-framed or raw, and from before alerts carried windows', () => {
    const alert: Alert = { id: 'a-1', revision: 0, principal: 'p', principalKind: 'service', environment: 'production', resourceType: 'r', severity: 'critical', score: 3, detector: 'bulk-delete', reason: 'r', firstEventTime: 1, detectedAt: 2, triggerEventId: 'e', eventCount: 1, objectCount: 40, action: 'freeze', context: [], contextScore: 3, windows: [{ windowMs: 60_000, observed: 40, baseline: 2, threshold: 10, unit: 'objects' }], closed: false };
    expect(decodeAlert(alertType.toBuffer(alert))).toEqual(alert);
    expect(decodeAlert(confluentFrame(3, alertType.toBuffer(alert)))).toEqual(alert);
    const schema = alertType.schema() as { fields: Array<{ name: string }> };
    // As an auditwatch before this release wrote them: without windows and closed.
    const older = avro.Type.forSchema({ ...schema, fields: schema.fields.filter((f) => f.name !== 'windows' && f.name !== 'closed') } as avro.Schema);
    expect(decodeAlert(older.toBuffer(alert))).toEqual({ ...alert, windows: [], closed: false });
  });
});
