import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { DECODERS, decodeContextFrom } from '../../src/decode/index.js';
import { DecodeError } from '../../src/errors.js';
import type { AuditEvent } from '../../src/events/audit-event.js';
import { auditEventType, toConfluentWire } from '../../src/events/avro.js';

const ctx = decodeContextFrom(validateConfig({ environments: { awsAccounts: { '111111111111': 'production' }, kubernetesNamespaces: { 'prod-*': 'production' }, kubernetesDefault: 'dev' } }, {}));

const canonical: AuditEvent = {
  id: 'e-1', time: Date.parse('2026-03-01T12:00:00Z'), principal: { id: 'svc-a', kind: 'service' }, action: 'DropTable', verb: 'delete',
  resource: { type: 'db:table', id: 'orders' }, environment: 'production', source: 'postgres-audit', outcome: 'success', changeTicket: 'CHG-42', objectCount: 3,
};

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    return (err as DecodeError).code;
  }
  return 'no error';
}

describe('canonical decoders', () => {
  it('JSON round-trips, with time as ISO or epoch ms', () => {
    expect(DECODERS['canonical-json'](Buffer.from(JSON.stringify(canonical)), ctx).events).toEqual([canonical]);
    const iso = { ...canonical, time: '2026-03-01T12:00:00Z' };
    expect(DECODERS.auto(Buffer.from(JSON.stringify(iso)), ctx).events[0]!.time).toBe(canonical.time);
  });

  it('Avro raw and Confluent wire format decode to the same event', () => {
    const raw = auditEventType.toBuffer(canonical);
    const wire = toConfluentWire(auditEventType, canonical, 17);
    expect(DECODERS['canonical-avro'](raw, ctx).events).toEqual([canonical]);
    expect(DECODERS['canonical-avro'](wire, ctx).events).toEqual([canonical]);
    expect(DECODERS.auto(wire, ctx).events).toEqual([canonical]);
  });

  it('rejects bad input with a code that says why', () => {
    expect(codeOf(() => DECODERS['canonical-json'](Buffer.from(''), ctx))).toBe('DECODE_EMPTY');
    expect(codeOf(() => DECODERS['canonical-json'](Buffer.from('{"id":'), ctx))).toBe('DECODE_NOT_JSON');
    expect(codeOf(() => DECODERS['canonical-json'](Buffer.from(JSON.stringify({ ...canonical, verb: 'obliterate' })), ctx))).toBe('DECODE_BAD_FIELD');
    expect(codeOf(() => DECODERS['canonical-json'](Buffer.from(JSON.stringify({ ...canonical, principal: undefined })), ctx))).toBe('DECODE_MISSING_FIELD');
    expect(codeOf(() => DECODERS['canonical-avro'](Buffer.from([0, 0, 0, 0, 1, 0xff, 0xff, 0xff]), ctx))).toBe('DECODE_NOT_AVRO');
  });
});

describe('CloudTrail', () => {
  const terminate = {
    eventVersion: '1.08', eventID: 'ct-1', eventTime: '2026-03-01T12:00:00Z', eventSource: 'ec2.amazonaws.com', eventName: 'TerminateInstances',
    recipientAccountId: '111111111111',
    userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::111111111111:assumed-role/ci/x', sessionContext: { sessionIssuer: { arn: 'arn:aws:iam::111111111111:role/ci', userName: 'ci' } } },
    requestParameters: { instancesSet: { items: Array.from({ length: 60 }, (_, i) => ({ instanceId: `i-${i}` })) } },
  };

  it('TerminateInstances with 60 instance ids deletes 60, in the environment its account maps to', () => {
    const [e] = DECODERS.cloudtrail(Buffer.from(JSON.stringify(terminate)), ctx).events;
    expect(e).toMatchObject({ verb: 'delete', objectCount: 60, environment: 'production', resource: { type: 'ec2:instance', id: 'i-0' } });
    expect(e!.principal).toEqual({ id: 'arn:aws:iam::111111111111:role/ci', kind: 'service' });
  });

  it('reads a record, a log file, and one record per line alike', () => {
    const one = Buffer.from(JSON.stringify(terminate));
    const file = Buffer.from(JSON.stringify({ Records: [terminate, { ...terminate, eventID: 'ct-2' }] }));
    const lines = Buffer.from(`${JSON.stringify(terminate)}\n${JSON.stringify({ ...terminate, eventID: 'ct-2' })}\n`);
    expect(DECODERS.cloudtrail(one, ctx).events).toHaveLength(1);
    expect(DECODERS.cloudtrail(file, ctx).events.map((e) => e.id)).toEqual(['ct-1', 'ct-2']);
    expect(DECODERS.cloudtrail(lines, ctx).events.map((e) => e.id)).toEqual(['ct-1', 'ct-2']);
  });

  it('an unmapped account falls to the default environment; a failed call is a failure', () => {
    const [e] = DECODERS.cloudtrail(Buffer.from(JSON.stringify({ ...terminate, recipientAccountId: '999999999999', errorCode: 'AccessDenied' })), ctx).events;
    expect(e!.environment).toBe('unknown');
    expect(e!.outcome).toBe('failure');
  });

  it('names verbs and resource types from the event name', () => {
    const cases: Array<[string, string, string]> = [
      ['DeleteLoadBalancer', 'delete', 'elasticloadbalancing:loadbalancer'],
      ['DescribeLoadBalancers', 'read', 'elasticloadbalancing:loadbalancer'],
      ['CreateTargetGroup', 'create', 'elasticloadbalancing:targetgroup'],
      ['ModifyLoadBalancerAttributes', 'update', 'elasticloadbalancing:loadbalancerattribute'],
    ];
    for (const [eventName, verb, type] of cases) {
      const [e] = DECODERS.cloudtrail(Buffer.from(JSON.stringify({ ...terminate, eventName, eventSource: 'elasticloadbalancing.amazonaws.com', requestParameters: null })), ctx).events;
      expect([e!.verb, e!.resource.type]).toEqual([verb, type]);
    }
  });
});

describe('Kubernetes audit', () => {
  const del = {
    kind: 'Event', apiVersion: 'audit.k8s.io/v1', auditID: 'k-1', stage: 'ResponseComplete', verb: 'delete',
    user: { username: 'system:serviceaccount:ops:janitor' }, objectRef: { resource: 'deployments', namespace: 'prod-web', name: 'api', apiGroup: 'apps' },
    responseStatus: { code: 200 }, requestReceivedTimestamp: '2026-03-01T12:00:00.123456Z',
  };

  it('maps namespace to environment, service accounts to services, and only final stages to events', () => {
    const r = DECODERS.k8s(Buffer.from([JSON.stringify({ ...del, stage: 'RequestReceived' }), JSON.stringify(del)].join('\n')), ctx);
    expect(r.ignored).toBe(1);
    expect(r.events[0]).toMatchObject({ verb: 'delete', environment: 'production', resource: { type: 'k8s:deployments', id: 'prod-web/api' }, principal: { kind: 'service' } });
    expect(r.events[0]!.time).toBe(Date.parse('2026-03-01T12:00:00.123Z'));
  });

  it('deletecollection counts the items it removed', () => {
    const [e] = DECODERS.k8s(Buffer.from(JSON.stringify({ ...del, verb: 'deletecollection', objectRef: { resource: 'pods', namespace: 'dev' }, responseObject: { items: [{}, {}, {}, {}] } })), ctx).events;
    expect(e).toMatchObject({ objectCount: 4, environment: 'dev' });
  });

  it('a human with a 403 is a failed call by a human', () => {
    const [e] = DECODERS.auto(Buffer.from(JSON.stringify({ ...del, user: { username: 'jane@example.com' }, responseStatus: { code: 403 } })), ctx).events;
    expect(e).toMatchObject({ outcome: 'failure', principal: { id: 'jane@example.com', kind: 'human' } });
  });
});
