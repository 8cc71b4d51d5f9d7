import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';

const BIN = join(PROJECT_ROOT, 'bin', 'auditwatch.js');
const SIM_CONFIG = join(PROJECT_ROOT, 'config', 'simulation.yaml');
const dir = mkdtempSync(join(tmpdir(), 'aw-cli-'));

function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', env: { ...process.env, KAFKA_BROKERS: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('the auditwatch CLI on files (built dist/)', () => {
  // The suite's fixture, made once before its tests: a week of history, the model trained on it, and an incident day.
  // Each test reads it and writes only files of its own.
  const hist = join(dir, 'hist.ndjson');
  const day = join(dir, 'day.ndjson');
  const models = join(dir, 'models');
  let trained: ReturnType<typeof cli>;
  beforeAll(() => {
    expect(cli(['simulate', '--days', '7', '--seed', '3', '--end', '2026-02-01T00:00:00Z', '--out', hist]).code).toBe(0);
    expect(cli(['simulate', '--days', '1', '--seed', '4', '--end', '2026-02-02T00:00:00Z', '--elb-incident-at', '2026-02-01T15:00:00Z', '--out', day]).code).toBe(0);
    trained = cli(['train', '--input', hist, '--format', 'cloudtrail', '--model-dir', models, '--config', SIM_CONFIG]);
  }, 120_000);

  it('simulate → train → replay finds the ELB incident and writes alerts as NDJSON', () => {
    const alerts = join(dir, 'alerts.ndjson');
    expect(trained.code).toBe(0);
    expect(trained.err).toMatch(/trained on \d+ events/);
    // stdin works as input too.
    const replay = cli(['replay', '--input', '-', '--format', 'cloudtrail', '--model-dir', models, '--alerts', alerts, '--config', SIM_CONFIG], readFileSync(day, 'utf8'));
    expect(replay.code).toBe(0);
    const lines = readFileSync(alerts, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const critical = lines.filter((a) => a.severity === 'critical');
    expect(critical.length).toBeGreaterThan(0);
    expect(critical.every((a) => a.principal.endsWith('role/elb-janitor') && a.action === 'freeze-dry-run')).toBe(true);
  });

  it('backtest shows the extra alerts a lowered threshold would have raised, and nothing lost', () => {
    const lowered = join(dir, 'lowered.yaml');
    // The candidate differs from the running config only in the volume thresholds (both keep the context detector).
    writeFileSync(lowered, `${readFileSync(SIM_CONFIG, 'utf8')}\ndetectors:\n  - type: bulk-delete\n    minObjects: 2\n    tolerance: 1.0\n  - type: context\n`);
    const out = join(dir, 'backtest.json');
    const r = cli(['backtest', '--config', SIM_CONFIG, '--config', lowered, '--input', day, '--format', 'cloudtrail', '--model-dir', models, '--out', out]);
    expect(r.code).toBe(0);
    const diff = JSON.parse(readFileSync(out, 'utf8'));
    expect(diff.added.length).toBeGreaterThan(0);
    expect(diff.gone).toEqual([]);
    expect(diff.incidentsB).toBe(diff.incidentsA + diff.added.length);
    expect(diff.added.every((i: { severity: string }) => i.severity === 'warning' || i.severity === 'critical')).toBe(true);
    expect(r.out).toMatch(new RegExp(`${diff.added.length} new in B, 0 gone in B`));
    expect(cli(['backtest', '--config', SIM_CONFIG, '--input', day]).code).toBe(2);
  });

  it('a mass delete in a GCP project and in an Azure subscription is alerted critical and would be frozen, like the ELB one', () => {
    const clouds = join(dir, 'clouds.ndjson');
    const sim = cli(['simulate', '--days', '1', '--seed', '4', '--end', '2026-02-02T00:00:00Z', '--gcp-wipe-at', '2026-02-01T10:00:00Z', '--azure-wipe-at', '2026-02-01T16:00:00Z', '--out', clouds]);
    expect(sim.code).toBe(0);
    expect(sim.err).toMatch(/CloudTrail, GCP audit, Azure activity records/);
    const alerts = join(dir, 'clouds-alerts.ndjson');
    const replay = cli(['replay', '--input', clouds, '--format', 'auto', '--model-dir', models, '--alerts', alerts, '--config', SIM_CONFIG]);
    expect(replay.code, replay.err).toBe(0);
    const critical = readFileSync(alerts, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((a) => a.severity === 'critical');
    const of = (principal: string) => critical.filter((a) => a.principal === principal);
    expect(of('ci-cleanup@acme-prod.iam.gserviceaccount.com')[0]).toMatchObject({ environment: 'production', resourceType: 'compute:disk', action: 'freeze-dry-run' });
    expect(of('maintenance-job@acme.example')[0]).toMatchObject({ environment: 'production', resourceType: 'azure:microsoft.storage/storageaccounts', action: 'freeze-dry-run' });
  });

  it('an input that yields no event is a failure with one line saying what was read and why, not "0 events" and exit 0', () => {
    const empty = join(dir, 'not-cloudtrail');
    mkdirSync(join(empty, 'AWSLogs', '111111111111', 'CloudTrail-Digest'), { recursive: true });
    writeFileSync(join(empty, 'AWSLogs', '111111111111', 'CloudTrail-Digest', 'digest.json.gz'), gzipSync('{"awsAccountId":"111111111111","digestStartTime":"2026-02-01T00:00:00Z"}'));
    writeFileSync(join(empty, 'notes.txt'), 'hello\n');
    for (const command of [['replay', '--alerts', join(dir, 'none.ndjson')], ['train', '--model-dir', join(dir, 'models-none')]]) {
      const r = cli([...command, '--input', empty, '--format', 'cloudtrail', ...(command[0] === 'replay' ? ['--model-dir', models] : [])]);
      expect(r.code, command[0]).toBe(1);
      const lines = r.err.trim().split('\n').filter((l) => !l.startsWith('{'));
      expect(lines, command[0]).toEqual([expect.stringMatching(new RegExp(`^auditwatch: INPUT_EMPTY: read 0 events from ${empty}: 2 file\\(s\\) \\(1 gzip'd\\), 2 record\\(s\\), none recognised as cloudtrail: 1 DECODE_MISSING_FIELD .*; 1 DECODE_NOT_JSON`))]);
    }
  });

  it('files of a kind that is not recognised are named in one warning per kind, with counts, while the rest replays', () => {
    const mixed = join(dir, 'mixed');
    mkdirSync(mixed, { recursive: true });
    writeFileSync(join(mixed, 'trail.json'), readFileSync(day, 'utf8').split('\n').slice(0, 50).join('\n'));
    for (const n of [1, 2, 3]) writeFileSync(join(mixed, `notes-${n}.txt`), 'not a record\n');
    const r = cli(['replay', '--input', mixed, '--format', 'cloudtrail', '--model-dir', models, '--alerts', join(dir, 'mixed.ndjson')]);
    expect(r.code).toBe(0);
    const warnings = r.err.split('\n').filter((l) => l.includes('not recognised as cloudtrail')).map((l) => JSON.parse(l).msg as string);
    expect(warnings).toEqual([expect.stringMatching(/^3 record\(s\) from 3 source\(s\) of kind \*\.txt not recognised as cloudtrail \(3 DECODE_NOT_JSON; first: not JSON/)]);
    expect(r.err).toMatch(/replayed 50 events/);
  });

  it('a bad argument prints one line and exits 2', () => {
    for (const args of [['replay', '--input', 'x', '--format', 'xml', '--alerts', 'o'], ['train', '--input', 'a', '--topic', 'b'], ['frobnicate'], ['train', '--topic', 't', '--from', 'yesterday-ish'], ['run', '--workers', 'many'], ['run', '--workers', '0']]) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });

  it('a bad config prints one line per problem naming the key, and exits 2', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'freeze:\n  cap:\n    window: soon\n  mode: maybe\nmetrics:\n  port: 99999\n');
    const r = cli(['config', 'check', bad]);
    expect(r.code).toBe(2);
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.map((l) => l.split(':').slice(0, 2).join(':')).sort()).toEqual(['config: freeze.cap.window', 'config: freeze.mode', 'config: metrics.port']);
    expect(cli(['config', 'check', SIM_CONFIG]).code).toBe(0);
    // Keys that are each valid, but not together.
    writeFileSync(bad, 'workers: 2\nstate:\n  changelog: false\n');
    const together = cli(['config', 'check', bad]);
    expect(together.code).toBe(2);
    expect(together.err.trim().split('\n')).toEqual(['config: workers: more than one worker splits the partitions between processes, which needs state.changelog: true (got 2)']);
  });

  it('a missing model is a clear error, not a stack trace', () => {
    const r = cli(['replay', '--input', '-', '--model-dir', join(dir, 'nothing-here'), '--alerts', '-'], '');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^auditwatch: MODEL_INVALID: model: cannot read .*run `auditwatch train` first/);
  });
});
