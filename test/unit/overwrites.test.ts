import { describe, expect, it } from 'vitest';
import { destructiveObjects } from '../../src/baseline/entity.js';
import { OVERWRITE, ReadThenWrite } from '../../src/baseline/overwrites.js';
import { BaselineLearner } from '../../src/baseline/learner.js';
import { validateConfig } from '../../src/config/load.js';
import { DECODERS, decodeContextFrom } from '../../src/decode/index.js';
import { buildDetectors, type Finding } from '../../src/detectors/index.js';
import type { AuditEvent } from '../../src/events/audit-event.js';

const PROD = '111111111111';
const config = validateConfig({ environments: { awsAccounts: { [PROD]: 'production' } }, alerts: { sinks: [] } }, {});
const ctx = decodeContextFrom(config);
const WINDOWS = [10_000, 60_000, 600_000, 3_600_000];
const t0 = Date.parse('2026-03-02T10:00:00Z');

function s3(eventName: string, key: string, time: number, who = 'mallory'): AuditEvent {
  const record = {
    eventVersion: '1.08', eventID: `${eventName}-${key}-${time}-${who}`, eventTime: new Date(time).toISOString(), eventSource: 's3.amazonaws.com', eventName,
    awsRegion: 'us-east-1', userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${PROD}:user/${who}`, accountId: PROD, userName: who },
    requestParameters: { bucketName: 'data', key }, recipientAccountId: PROD,
  };
  return DECODERS.cloudtrail(Buffer.from(JSON.stringify(record)), ctx).events[0]!;
}

describe('overwrites in place: read, then written back', () => {
  it('an S3 object is its bucket and key; a PutObject of an object its principal read within 10 minutes is an overwrite, once', () => {
    expect(s3('GetObject', 'a/b.json', t0).resource).toEqual({ type: 's3:object', id: 'data/a/b.json' });
    const rw = new ReadThenWrite();
    rw.qualify(s3('GetObject', 'k1', t0));
    const back = rw.qualify(s3('PutObject', 'k1', t0 + 2000));
    expect(back.action).toBe(OVERWRITE);
    expect(destructiveObjects(back)).toBe(1);
    // The same object written again: one object destroyed, not two.
    expect(rw.qualify(s3('PutObject', 'k1', t0 + 3000)).action).toBe('PutObject');
    // Written without a read, read by someone else, or read too long before: a plain PutObject.
    expect(rw.qualify(s3('PutObject', 'k2', t0 + 4000)).action).toBe('PutObject');
    rw.qualify(s3('GetObject', 'k3', t0, 'alice'));
    expect(rw.qualify(s3('PutObject', 'k3', t0 + 5000)).action).toBe('PutObject');
    rw.qualify(s3('GetObject', 'k4', t0));
    expect(rw.qualify(s3('PutObject', 'k4', t0 + 601_000)).action).toBe('PutObject');
    // A write before the read it would match (events out of order): not an overwrite.
    rw.qualify(s3('GetObject', 'k5', t0 + 10_000));
    expect(rw.qualify(s3('PutObject', 'k5', t0 + 9000)).action).toBe('PutObject');
  });

  it('remembers a fixed number of reads: past it, newer reads take older ones\' places', () => {
    const rw = new ReadThenWrite(600_000, 1024);
    const reads = Array.from({ length: 5000 }, (_, i) => s3('GetObject', `k${i}`, t0 + i));
    for (const e of reads) rw.qualify(e);
    const overwritten = reads.filter((r) => rw.qualify({ ...r, id: `w-${r.id}`, action: 'PutObject', time: t0 + 10_000 }).action === OVERWRITE);
    expect(overwritten.length).toBeLessThanOrEqual(1024);
    expect(overwritten.length).toBeGreaterThan(500);
    // The last read is always there: nothing came after it.
    expect(overwritten.at(-1)!.resource.id).toBe('data/k4999');
  });

  it('a principal that writes back what it reads routinely is learned as such; one that never did is a bulk destruction at volume', () => {
    const learner = new BaselineLearner(WINDOWS, 0.95);
    const history = new ReadThenWrite();
    for (let day = 1; day <= 4; day++) {
      for (let i = 0; i < 40; i++) {
        const at = t0 - day * 86_400_000 + i * 1500;
        learner.observe(history.qualify(s3('GetObject', `config/${i}`, at, 'config-sync')));
        learner.observe(history.qualify(s3('PutObject', `config/${i}`, at + 500, 'config-sync')));
      }
    }
    const model = learner.model();
    // The job's 40 objects a minute are its normal; the intruder, compared with everyone who overwrote objects there
    // (the job alone), writes back 150.
    const run = (who: string, objects: number) => {
      const [volume] = buildDetectors(config, model);
      const rw = new ReadThenWrite();
      const findings: Finding[] = [];
      for (let i = 0; i < objects; i++) {
        rw.qualify(s3('GetObject', `config/${i}`, t0 + i * 1500, who));
        const f = volume!.observe(rw.qualify(s3('PutObject', `config/${i}`, t0 + i * 1500 + 500, who)));
        if (f) findings.push(f);
      }
      return findings;
    };
    expect(run('config-sync', 40)).toEqual([]);
    const intruder = run('mallory', 150);
    expect(intruder.length).toBeGreaterThan(0);
    expect(intruder[0]!.event.action).toBe(OVERWRITE);
    expect(intruder.at(-1)!.severity).toBe('critical');
  });
});
