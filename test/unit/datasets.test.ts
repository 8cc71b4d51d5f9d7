import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { DECODERS, decodeContextFrom } from '../../src/decode/index.js';
import { DATASETS, filesUnder, haveDatasets } from '../helpers/datasets.js';

const ctx = decodeContextFrom(validateConfig({ environments: { awsAccounts: { '218007301253': 'production' } } }, {}));

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
});
