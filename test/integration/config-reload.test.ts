import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { decodeAlert } from '../../src/sinks/kafka.js';
import { committedTotal, highTotal } from '../helpers/offsets.js';
import { brokers, collect, fresh, inputProducer, testKafka, waitFor } from '../helpers/kafka.js';
import { freePort, startAuditwatch, type RunningAuditwatch } from '../helpers/run-process.js';

function burst(principal: string, count = 30): Array<{ key: string; value: string }> {
  const t = Date.now();
  return Array.from({ length: count }, (_, i) => ({
    key: principal,
    value: JSON.stringify({ id: `${principal}-${i}`, time: t + i * 100, principal: { id: principal, kind: 'service' }, action: 'DropTable', verb: 'delete', resource: { type: 'db:table', id: `t${i}` }, environment: 'production', objectCount: 1 }),
  }));
}

describe('hot reload of a running auditwatch, on a real broker', () => {
  const kafka = testKafka();
  const input = fresh('reload.in');
  const alertsTopic = fresh('reload.alerts');
  const group = fresh('reload.group');
  const dir = mkdtempSync(join(tmpdir(), 'aw-reload-'));
  const file = join(dir, 'auditwatch.yaml');
  let aw: RunningAuditwatch | undefined;
  afterAll(() => aw?.child.kill('SIGKILL'));

  const config = (bulk: Record<string, unknown>, extra: Record<string, unknown> = {}, port = 0) => stringify({
    kafka: { brokers: brokers(), groupId: group },
    sources: [{ type: 'kafka', topics: [input], format: 'canonical-json' }],
    deadLetter: { topic: fresh('reload.dead') },
    alerts: { sinks: [{ type: 'kafka', topic: alertsTopic }] },
    freeze: { controlTopic: fresh('reload.control'), auditTopic: fresh('reload.audit') },
    detectors: [{ type: 'bulk-delete', ...bulk }],
    metrics: { port },
    ...extra,
  });

  it('applies a lowered threshold and suppressions live, refuses a bad config, and loses or repeats no event', async () => {
    const port = await freePort();
    writeFileSync(file, config({ minObjects: 1000 }, {}, port));
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: input }, { topic: alertsTopic }], waitForLeaders: true });
    const producer = inputProducer(kafka);
    await producer.connect();
    const alerts = await collect(kafka, alertsTopic);
    aw = startAuditwatch(['--config', file, '--model-dir', join(PROJECT_ROOT, 'models')], port);
    await aw.waitForLog(/auditwatch running/);
    let produced = 0;
    const send = async (principal: string) => {
      const messages = burst(principal);
      await producer.send({ topic: input, messages });
      produced += messages.length;
      await waitFor(`${produced} events consumed`, async () => (await aw!.metric(/^auditwatch_records_consumed_total/)) >= produced, 20_000);
    };
    const principalsAlerted = () => new Set(alerts.messages.map((m) => decodeAlert(m.value!).principal));

    await send('svc-a'); // 30 deletes, threshold 1000: quiet
    await new Promise((r) => setTimeout(r, 500));
    expect(principalsAlerted().has('svc-a')).toBe(false);

    let mark = aw.stderr.length;
    writeFileSync(file, config({ minObjects: 1000, overrides: [{ environment: 'production', resourceType: 'db:*', minObjects: 10 }] }, {}, port));
    await aw.waitForLog(/config reloaded/, mark);
    await send('svc-b');
    await waitFor('an alert for svc-b', () => principalsAlerted().has('svc-b'));

    mark = aw.stderr.length;
    writeFileSync(file, `${config({ minObjects: 'ten' }, { freeze: { mode: 'sometimes' } }, port)}\nbogusKey: 1\n`);
    await aw.waitForLog(/config reload refused/, mark);
    const problems = aw.stderr.slice(mark).filter((l) => /"msg":"config: /.test(l));
    expect(problems).toHaveLength(3);
    await send('svc-c'); // the old (lowered) config is still the one running
    await waitFor('an alert for svc-c', () => principalsAlerted().has('svc-c'));

    mark = aw.stderr.length;
    writeFileSync(file, config({ minObjects: 10 }, {
      suppressions: [
        { principal: '^svc-d$', owner: 'dba-team', reason: 'planned table cleanup, CHG-1234', expires: '2099-01-01T00:00:00Z' },
        { principal: '^svc-e$', owner: 'dba-team', reason: 'last year\'s cleanup', expires: '2020-01-01T00:00:00Z' },
      ],
    }, port));
    aw.child.kill('SIGHUP');
    await aw.waitForLog(/config reloaded/, mark);
    await send('svc-d');
    await send('svc-e');
    await waitFor('an alert for svc-e', () => principalsAlerted().has('svc-e'));
    expect(principalsAlerted().has('svc-d')).toBe(false);
    expect(await aw.metric(/^auditwatch_alerts_suppressed_total\{owner="dba-team"\}/)).toBeGreaterThan(0);
    expect(await aw.metric(/^auditwatch_suppressions_expired_total\{owner="dba-team"\}/)).toBe(1);
    await aw.waitForLog(/suppression expired: no longer suppressing/, mark);
    expect(await aw.metric(/^auditwatch_config_reloads_total\{outcome="applied"\}/)).toBe(2);
    expect(await aw.metric(/^auditwatch_config_reloads_total\{outcome="refused"\}/)).toBe(1);

    // Every event reached detection once: none lost across the reloads, none counted twice.
    await waitFor('all 150 events decoded by detection', async () => (await aw!.metric(/^auditwatch_events_decoded_total/)) >= 150, 20_000);
    expect(await aw.metric(/^auditwatch_events_decoded_total/)).toBe(150);
    aw.child.kill('SIGTERM');
    expect(await aw.exited).toBe(0);
    expect(produced).toBe(150);
    // The input is not keyed by principal: the repartition stage committed it, detection committed what it re-keyed.
    const committed = await admin.fetchOffsets({ groupId: `${group}-repartition`, topics: [input] });
    expect(committed[0]!.partitions[0]!.offset).toBe('150');
    // Re-keyed events travel many to a record: every record of the repartition topic was committed by detection.
    expect(await committedTotal(admin, group, `${group}-repartition`)).toBe(await highTotal(admin, `${group}-repartition`));
    await Promise.all([alerts.stop(), producer.disconnect(), admin.disconnect()]);
  }, 120_000);
});
