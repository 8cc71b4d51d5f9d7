import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ChangeFeed } from '../../src/actions/change-feed.js';
import { generateKeyFiles, loadKeyRing } from '../../src/actions/signing.js';
import type { Alert } from '../../src/alerts/alert.js';
import { emptyModel } from '../../src/baseline/model.js';
import { validateConfig } from '../../src/config/load.js';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { buildDetectionPipeline } from '../../src/pipeline/assemble.js';
import type { SourceRecord } from '../../src/sources/source.js';
import { brokers, fresh, inputProducer, testKafka } from '../helpers/kafka.js';

const dir = mkdtempSync(join(tmpdir(), 'aw-changes-'));
const keys = generateKeyFiles(dir, 'operator');
const strangerKeys = generateKeyFiles(join(dir, 'stranger'), 'stranger');
const MIGRATOR = 'arn:aws:iam::111111111111:role/migration-runner';
const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'auditwatch.js'), ...args], { encoding: 'utf8', env: { ...process.env, KAFKA_BROKERS: '', ...env } });

describe('approved changes on a real broker', () => {
  const topic = fresh('changes');
  const config = {
    kafka: { brokers: brokers(), clientId: fresh('aw') },
    changes: { topic },
    freeze: { signing: { keyId: 'operator', privateKeyFile: keys.privateKeyFile }, trustedKeys: [{ keyId: 'operator', publicKeyFile: keys.publicKeyFile }] },
  };
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, stringify(config));

  it('`change approve` signs and publishes; `changes` lists it; a forged, an unsigned and a bad record are ignored and counted; a covered migration is reported, not frozen', async () => {
    const t0 = Date.now();
    const approve = cli(['change', 'approve', '--config', configFile, '--ticket', 'CHG-7', '--environment', 'production', '--principal', MIGRATOR,
      '--from', new Date(t0 - 60_000).toISOString(), '--until', new Date(t0 + 3_600_000).toISOString(), '--operator', 'change-board']);
    expect(approve.status, approve.stderr).toBe(0);
    expect(approve.stdout).toContain(`approved: CHG-7  production / ${MIGRATOR} / any resource type`);

    // Written by someone without the operator's key: signed with another, unsigned, not JSON.
    const strangerConfig = join(dir, 'stranger.yaml');
    writeFileSync(strangerConfig, stringify({ ...config, freeze: { signing: { keyId: 'stranger', privateKeyFile: strangerKeys.privateKeyFile }, trustedKeys: [{ keyId: 'stranger', publicKeyFile: strangerKeys.publicKeyFile }] } }));
    expect(cli(['change', 'approve', '--config', strangerConfig, '--ticket', 'CHG-666', '--environment', 'production', '--until', new Date(t0 + 3_600_000).toISOString()]).status).toBe(0);
    const kafka = testKafka();
    const producer = inputProducer(kafka);
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'CHG-9|production|*|*', value: JSON.stringify({ ticket: 'CHG-9', scope: { environment: 'production' }, from: 0, until: t0 * 2 }) }, { key: 'x', value: 'not json' }] });
    await producer.disconnect();

    const listed = cli(['changes', '--config', configFile, '--json']);
    expect(listed.status, listed.stderr).toBe(0);
    const { approvals, refused } = JSON.parse(listed.stdout) as { approvals: Array<{ ticket: string }>; refused: Record<string, number> };
    expect(approvals.map((a) => a.ticket)).toEqual(['CHG-7']);
    expect(refused).toEqual({ 'unknown-key': 1, unsigned: 1, 'not-json': 1 });

    // Detection with the feed `run` follows: the migrator's deletes inside the approval are info, never frozen.
    const metrics = new Metrics();
    const feed = new ChangeFeed(kafka, topic, loadKeyRing(config.freeze.trustedKeys), metrics, createLogger('silent'));
    await feed.start();
    try {
      expect(feed.book.size).toBe(1);
      expect(await metrics.registry.getSingleMetricAsString('auditwatch_change_approvals_rejected_total')).toMatch(/reason="unknown-key"} 1/);
      const detection = validateConfig({ alerts: { sinks: [] }, freeze: { mode: 'dry-run', rules: [{ requireChange: true }] } }, {});
      const alerts: Alert[] = [];
      const { pipeline } = buildDetectionPipeline({
        config: detection, model: emptyModel([10_000, 60_000, 600_000, 3_600_000], 0.95), metrics: new Metrics(), log: createLogger('silent'),
        sinks: [{ name: 'c', publish: async (a) => void alerts.push(...a), close: async () => {} }], changes: feed.book,
      });
      const del = (principal: string, i: number): SourceRecord => ({
        topic: 'in', partition: 0, offset: String(i), key: null, format: 'canonical-json',
        // After the approval was made (an approval covers only what follows it), inside its window.
        value: Buffer.from(JSON.stringify({ id: `${principal}-${i}`, time: Date.now() + i * 100, principal: { id: principal, kind: 'service' }, action: 'DeleteSnapshot', verb: 'delete', resource: { type: 'ec2:snapshot', id: `s${i}` }, environment: 'production', objectCount: 1 })),
      });
      await pipeline.handle([...Array.from({ length: 40 }, (_, i) => del(MIGRATOR, i)), ...Array.from({ length: 3 }, (_, i) => del('arn:aws:iam::111111111111:role/stranger', 100 + i))]);
      const migrator = alerts.filter((a) => a.principal === MIGRATOR);
      expect(migrator.length).toBeGreaterThan(0);
      expect(migrator.every((a) => a.severity === 'info' && a.action === 'change-approved' && a.reason.startsWith('within approved change CHG-7'))).toBe(true);
      // Without an approval, change control freezes (a dry run here) at the first delete.
      const stranger = alerts.filter((a) => a.detector === 'change-control');
      expect(stranger.map((a) => [a.principal, a.action, a.triggerEventId])).toEqual([['arn:aws:iam::111111111111:role/stranger', 'freeze-dry-run', 'arn:aws:iam::111111111111:role/stranger-100']]);
    } finally {
      await feed.stop();
    }
  });

  it('bad input: a malformed ticket rule is one line naming its key (exit 2); approve without --until or a key is one line', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, stringify({ changes: { tickets: [{ from: 'tag', pattern: 'CHG-(\\d+' }] } }));
    const r = cli(['config', 'check', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('changes.tickets.0.pattern');
    expect(r.stderr).toContain('changes.tickets.0.key');
    const noUntil = cli(['change', 'approve', '--config', configFile, '--ticket', 'T', '--environment', 'production']);
    expect(noUntil.status).toBe(2);
    expect(noUntil.stderr.trim().split('\n')).toHaveLength(1);
    const noKey = join(dir, 'nokey.yaml');
    writeFileSync(noKey, stringify({ kafka: config.kafka, changes: { topic } }));
    const unsigned = cli(['change', 'approve', '--config', noKey, '--ticket', 'T', '--environment', 'production', '--until', new Date(Date.now() + 60_000).toISOString()]);
    expect(unsigned.status).toBe(2);
    expect(unsigned.stderr).toMatch(/freeze.signing is not set/);
  });
});
