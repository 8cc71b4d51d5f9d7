import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { DATASETS, haveDatasets } from '../helpers/datasets.js';
import { brokers, collect, fresh, testKafka, waitFor } from '../helpers/kafka.js';

const BIN = join(PROJECT_ROOT, 'bin', 'auditwatch.js');

describe.skipIf(!haveDatasets)('ingest, then train and replay from the topic, on a real broker', () => {
  it('a CloudTrail archive in the S3 layout, gzip\'d, goes to a topic keyed by principal at event time; train --topic and replay --topic read it back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aw-ingest-'));
    // The Stratus run's log files as S3 holds them: AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/*.json.gz.
    const archive = join(dir, 'AWSLogs', '218007301253', 'CloudTrail', 'us-east-1', '2023', '07', '10');
    mkdirSync(archive, { recursive: true });
    const logs = join(DATASETS, 'cloudtrail', 'invictus-stratus-run', 'CloudTrail');
    for (const f of readdirSync(logs).filter((f) => f.endsWith('.json'))) writeFileSync(join(archive, `${f}.gz`), gzipSync(readFileSync(join(logs, f))));
    const topic = fresh('archive');
    const config = join(dir, 'config.yaml');
    writeFileSync(config, stringify({ kafka: { brokers: brokers() }, deadLetter: { topic: fresh('dead') }, environments: { awsAccounts: { '218007301253': 'production' } } }));
    const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args, '--config', config], { encoding: 'utf8', env: { ...process.env, KAFKA_BROKERS: '' } });

    const ingest = cli('ingest', '--input', join(dir, 'AWSLogs'), '--topic', topic, '--format', 'cloudtrail');
    expect(ingest.status, ingest.stderr).toBe(0);
    expect(ingest.stderr).toMatch(/ingested 2,900 events from 55 records \(55 file\(s\)\) to .* 0 ignored, 0 dead-lettered/);

    const seen = await collect(testKafka(), topic);
    const messages = await waitFor('2,900 messages', () => seen.messages.length >= 2900 && seen.messages, 20_000);
    await seen.stop();
    const first = JSON.parse(messages[0]!.value!.toString()) as { id: string; time: number; principal: { id: string } };
    expect(messages.every((m) => m.key?.toString() === JSON.parse(m.value!.toString()).principal.id)).toBe(true);
    expect(messages.every((m) => Number(m.timestamp) === JSON.parse(m.value!.toString()).time)).toBe(true);
    expect(first.time).toBeGreaterThanOrEqual(Date.parse('2023-07-10T11:00:00Z'));

    const models = join(dir, 'models');
    const train = cli('train', '--topic', topic, '--from', '2023-07-10T11:00:00Z', '--to', '2023-07-10T13:00:00Z', '--format', 'auto', '--model-dir', models);
    expect(train.status, train.stderr).toBe(0);
    expect(train.stderr).toMatch(/trained on 2900 events/);
    const alerts = join(dir, 'alerts.ndjson');
    const replay = cli('replay', '--topic', topic, '--format', 'auto', '--model-dir', models, '--alerts', alerts);
    expect(replay.status, replay.stderr).toBe(0);
    expect(replay.stderr).toMatch(/replayed 2900 events/);
  }, 120_000);
});
