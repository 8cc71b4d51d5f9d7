import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { DECODERS, decodeContextFrom } from '../../src/decode/index.js';
import { DATASETS, filesUnder, haveDatasets } from '../helpers/datasets.js';

const ctx = decodeContextFrom(validateConfig({ environments: {
  awsAccounts: { '218007301253': 'production' },
  gcpProjects: { 'test-project': 'production', 'fake-project': 'staging' },
  azureSubscriptions: { '12345678-1234-1234-1234-123456789ABC': 'production' },
  githubOrganizations: { 'my-org': 'production' },
} }, {}));
const lines = (path: string) => readFileSync(`${DATASETS}/${path}`, 'utf8').split('\n').filter(Boolean).map((l) => Buffer.from(l));

/** Decodes each value; the coded rejections by code (a crash would throw past this). */
function tally(values: Buffer[], format: 'gcp-audit' | 'azure-activity' | 'github-audit' | 'auto') {
  const out = { events: [] as ReturnType<typeof DECODERS.auto>['events'], ignored: 0, rejected: {} as Record<string, number> };
  for (const v of values) {
    try {
      const r = DECODERS[format](v, ctx);
      out.events.push(...r.events);
      out.ignored += r.ignored;
    } catch (err) {
      const code = (err as { code?: string }).code;
      expect(code, (err as Error).message).toMatch(/^DECODE_/);
      out.rejected[code!] = (out.rejected[code!] ?? 0) + 1;
    }
  }
  return out;
}

describe.skipIf(!haveDatasets)(`every record in ${DATASETS} decodes`, () => {
  it('the Stratus run CloudTrail log files', () => {
    let total = 0;
    for (const file of filesUnder('cloudtrail/invictus-stratus-run/CloudTrail', '.json')) {
      const { events } = DECODERS.cloudtrail(readFileSync(file), ctx);
      total += events.length;
    }
    expect(total).toBe(2900);
  });

  it('the Stratus detonation arrays, through format auto', () => {
    let total = 0;
    for (const file of filesUnder('cloudtrail/stratus-detonations', '.json')) total += DECODERS.auto(readFileSync(file), ctx).events.length;
    expect(total).toBe(310);
  });

  it('TrailDiscover, one record per line, each line as its own message', () => {
    const lines = readFileSync(`${DATASETS}/cloudtrail/traildiscover/sample_events.cloudtrail.jsonl`, 'utf8').split('\n').filter(Boolean);
    const events = lines.flatMap((l) => DECODERS.cloudtrail(Buffer.from(l), ctx).events);
    expect(events).toHaveLength(315);
    expect(new Set(events.map((e) => e.verb))).toEqual(new Set(['read', 'create', 'update', 'delete', 'other']));
  });

  it('the Falco Kubernetes audit traces; their malformed fixture {"kind": 0} is rejected with a reason', () => {
    let events = 0;
    let ignored = 0;
    const rejected: string[] = [];
    for (const file of filesUnder('k8s/falco-audit-traces', '.json')) {
      try {
        const r = DECODERS.k8s(readFileSync(file), ctx);
        events += r.events.length;
        ignored += r.ignored;
      } catch (err) {
        rejected.push(`${file.split('/').pop()}: ${(err as Error & { code: string }).code}`);
      }
    }
    expect(rejected).toEqual(['fal_01_003.json: DECODE_MISSING_FIELD']);
    expect(events + ignored).toBe(51); // 52 records in 46 files, one of them the malformed fixture
    expect(events).toBeGreaterThan(40);
  });

  it('the helm churn CSV, with deletes by controllers', () => {
    const r = DECODERS['k8s-csv'](readFileSync(`${DATASETS}/k8s/hkerma-helm-churn/audit-logs.csv`), ctx);
    expect(r.events.length + r.ignored).toBe(16564);
    const deletes = r.events.filter((e) => e.verb === 'delete');
    expect(deletes.length).toBeGreaterThanOrEqual(300);
    expect(deletes.every((e) => e.principal.kind === 'service' || e.principal.kind === 'human')).toBe(true);
  });

  it('GCP Cloud Audit Logs as gcloud and sinks export them: every audit entry an event, the two plain log lines passed over', () => {
    for (const format of ['gcp-audit', 'auto'] as const) {
      const plaso = tally(lines('gcp/plaso/gcp_logging.jsonl'), format);
      expect([plaso.events.length, plaso.ignored, plaso.rejected]).toEqual([9, 2, {}]);
      const cloudevents = tally(filesUnder('gcp/google-cloudevents', '.json').map((f) => readFileSync(f)), format);
      expect([cloudevents.events.length, cloudevents.rejected]).toEqual([3, {}]);
      const custodian = tally(filesUnder('gcp/custodian-events', '.json').map((f) => readFileSync(f)), format);
      expect([custodian.events.length, custodian.rejected]).toEqual([46, {}]);
    }
    const [robot] = tally(filesUnder('gcp/google-cloudevents', '.json').filter((f) => f.includes('pubsub')).map((f) => readFileSync(f)), 'gcp-audit').events;
    expect(robot).toMatchObject({
      principal: { id: 'robot@test-project.iam.gserviceaccount.com', kind: 'service' }, action: 'google.pubsub.v1.Publisher.CreateTopic', verb: 'create',
      resource: { type: 'pubsub:topic' }, environment: 'production', source: 'gcp', outcome: 'success',
    });
  });

  it('the Panther GCP fixtures decode or are refused with a reason; their deletes are deletes', () => {
    const r = tally(lines('gcp/panther-tests/gcp_audit.jsonl'), 'gcp-audit');
    expect(r.events.length + r.ignored + Object.values(r.rejected).reduce((a, b) => a + b, 0)).toBe(204);
    expect(r.events.length).toBeGreaterThan(100);
    const deletes = r.events.filter((e) => e.verb === 'delete').map((e) => e.action);
    expect(deletes).toEqual(expect.arrayContaining(['v1.compute.instances.delete', 'v1.compute.firewalls.delete', 'storage.objects.delete']));
    expect(r.events.find((e) => e.action === 'v1.compute.instances.delete')!.resource.type).toBe('compute:instance');
  });

  it('Azure Activity Log exports decode; stages that are not an outcome are counted, not events', () => {
    for (const format of ['azure-activity', 'auto'] as const) {
      const plaso = tally(lines('azure/plaso/azure_activity_log.jsonl'), format);
      expect([plaso.events.length, plaso.ignored, plaso.rejected]).toEqual([0, 4, {}]); // all four are "Started"
      const otel = tally(filesUnder('azure/otel-activitylogs', '.json').map((f) => readFileSync(f)), format);
      expect([otel.events.length, otel.ignored, otel.rejected]).toEqual([0, 2, {}]); // both "Start"
    }
  });

  it('the Panther Azure fixtures decode or are refused with a reason; their deletes are deletes', () => {
    const r = tally(lines('azure/panther-tests/azure_monitor_activity.jsonl'), 'azure-activity');
    expect(r.events.length + r.ignored + Object.values(r.rejected).reduce((a, b) => a + b, 0)).toBe(249);
    expect(r.events.length).toBeGreaterThan(200);
    const vmDelete = r.events.find((e) => /virtualmachines\/delete$/i.test(e.action));
    expect(vmDelete).toMatchObject({ verb: 'delete', resource: { type: 'azure:microsoft.compute/virtualmachines' }, source: 'azure' });
    expect(r.events.filter((e) => e.verb === 'delete').length).toBeGreaterThan(40);
    expect(r.events.some((e) => e.environment === 'production')).toBe(true);
  });

  it('the GitHub organisation audit log: the Panther fixtures decode, or are refused for the time 31 of them lack; destroys are deletes', () => {
    for (const format of ['github-audit', 'auto'] as const) {
      const r = tally(lines('github/panther-tests/github_audit.jsonl'), format);
      // Trimmed by hand: 31 carry neither @timestamp nor created_at, and an event without a time cannot be placed.
      expect([r.events.length, r.rejected]).toEqual([76, { DECODE_MISSING_FIELD: 31 }]);
      expect(() => DECODERS['github-audit'](Buffer.from('{"action":"repo.destroy","actor":"a","org":"o"}'), ctx)).toThrow(/github-audit: @timestamp \(or created_at\) is missing/);
      const deletes = r.events.filter((e) => e.verb === 'delete').map((e) => e.action);
      expect([...new Set(deletes)].sort()).toEqual(['org.remove_member', 'protected_branch.destroy', 'public_key.delete', 'repo.remove_member', 'repository_ruleset.destroy', 'team.destroy']);
      expect(r.events.find((e) => e.action === 'protected_branch.destroy')).toMatchObject({ resource: { type: 'github:protected_branch', id: 'my-org/my-repo' }, environment: 'production', source: 'github', principal: { id: 'cat' } });
      expect(r.events.find((e) => e.action === 'secret_scanning.disable')?.verb).toBe('update');
    }
  });
});
