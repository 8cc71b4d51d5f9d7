import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ControlLog, type ControlOutcome } from '../../src/actions/control-log.js';
import { controlKeys } from '../../src/actions/control-publisher.js';
import { controlMessage, controlRecordJsonSchema, signControlRecord, type ControlRecord, type UnsignedControlRecord } from '../../src/actions/control-record.js';
import { scopeKey, type FreezeCommand } from '../../src/actions/freeze-command.js';
import { canonicalJson, generateKeyFiles, loadKeyRing, loadSigner, type Signer } from '../../src/actions/signing.js';
import { controlTamperAlert } from '../../src/actions/tamper-alert.js';
import { validateConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';

const dir = mkdtempSync(join(tmpdir(), 'aw-control-'));
const main = generateKeyFiles(dir, 'main');
const other = generateKeyFiles(dir, 'other');
const signer = loadSigner({ keyId: 'main', privateKeyFile: main.privateKeyFile });
/** Signs as "main" with a key that is not main's: what a forger who knows the key id can do. */
const impostor: Signer = (() => {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { keyId: 'main', sign: (d: Buffer) => sign(null, d, privateKey) };
})();
const keys = loadKeyRing([{ keyId: 'main', publicKeyFile: main.publicKeyFile }]);

const S = { environment: 'production', principal: 'arn:aws:iam::1:role/janitor' };
const KEY = scopeKey(S);
let offset = 0;
const at = () => ({ topic: 'control', partition: 0, offset: String(offset++), timestamp: 1_700_000_000_000 + offset });

function freeze(alertId: string, createdAt = 1000, scope = S): FreezeCommand {
  return { scopeKey: scopeKey(scope), scope, alertId, reason: 'test', createdAt, expiresAt: createdAt + 3_600_000, issuedBy: 'auditwatch' };
}
function record(op: UnsignedControlRecord['op'], seq: number, c: FreezeCommand, extra: Partial<UnsignedControlRecord> = {}, by: Signer = signer): ControlRecord {
  return signControlRecord({ op, scopeKey: c.scopeKey, seq, freeze: c, at: c.createdAt, by: 'auditwatch', ...extra }, by);
}
function feed(log: ControlLog, r: ControlRecord | null, key = r?.scopeKey ?? KEY): ControlOutcome {
  return log.apply(key, r ? Buffer.from(controlMessage(r).value) : null, at());
}
const reason = (o: ControlOutcome) => (o.kind === 'rejected' ? o.rejection.reason : o.kind);

describe('the control log every reader of the control topic runs', () => {
  it('accepts signed freezes and lifts in sequence, and answers checks by scope and expiry', () => {
    const log = new ControlLog(keys);
    const f = freeze('a1');
    expect(reason(feed(log, record('freeze', 1, f)))).toBe('accepted');
    expect(log.check('production', S.principal, 'ec2:instance', 2000)?.alertId).toBe('a1');
    expect(log.check('production', S.principal, 'ec2:instance', f.expiresAt)).toBeNull(); // expired at ask time
    expect(log.check('staging', S.principal, 'ec2:instance', 2000)).toBeNull();
    expect(log.nextSeq(KEY)).toBe(2);
    const lift = feed(log, record('lift', 2, f, { by: 'jane' }));
    expect(lift).toMatchObject({ kind: 'accepted', change: { op: 'lift', freeze: null, previous: { alertId: 'a1' } } });
    expect(log.check('production', S.principal, 'ec2:instance', 2000)).toBeNull();
    // Compaction after the signed lift: a tombstone then changes nothing and is no tampering.
    expect(feed(log, null).kind).toBe('ignored');
  });

  it('refuses every forgery and replay, and changes nothing for them', () => {
    const log = new ControlLog(keys);
    const f1 = freeze('a1');
    const oldLift = record('lift', 2, f1);
    feed(log, record('freeze', 1, f1));
    feed(log, oldLift);
    const f2 = freeze('a2', 5000);
    feed(log, record('freeze', 3, f2));
    const forged: Array<[string, ControlOutcome]> = [
      ['forged-tombstone', feed(log, null)],
      ['stale-sequence', feed(log, oldLift)],
      ['unsigned', log.apply(KEY, Buffer.from(JSON.stringify({ ...f2, expiresAt: 0 })), at())],
      ['unknown-key', feed(log, record('lift', 9, f2, {}, loadSigner({ keyId: 'other', privateKeyFile: other.privateKeyFile })))],
      ['bad-signature', feed(log, record('lift', 9, f2, {}, impostor))],
      ['not-json', log.apply(KEY, Buffer.from('{"op": "lift", '), at())],
      ['schema', log.apply(KEY, Buffer.from(JSON.stringify({ ...record('lift', 9, f2), seq: -1 })), at())],
      ['key-mismatch', feed(log, record('lift', 9, f2), 'environment=production')],
    ];
    const tampered = { ...record('lift', 9, f2) };
    tampered.freeze = { ...tampered.freeze, alertId: 'someone-else' };
    forged.push(['bad-signature', feed(log, tampered)]);
    for (const [want, got] of forged) {
      expect(reason(got)).toBe(want);
      expect(got.kind === 'rejected' && got.rejection.tamper).toBe(true);
    }
    expect(log.check('production', S.principal, 'x', 6000)?.alertId).toBe('a2');
    expect(log.nextSeq(KEY)).toBe(4);
  });

  it('a record seen twice is one record; two writers on one sequence: the first wins, the second is no tampering', () => {
    const log = new ControlLog(keys);
    const r = record('freeze', 1, freeze('a1'));
    feed(log, r);
    expect(feed(log, r).kind).toBe('ignored');
    const conflict = feed(log, record('freeze', 1, freeze('a2', 1500)));
    expect(conflict).toMatchObject({ kind: 'rejected', rejection: { reason: 'sequence-conflict', tamper: false } });
    expect(log.live(KEY)?.alertId).toBe('a1');
  });

  it('enforces the freeze cap in log order: of two instances deciding at once, only the first takes the last slot', () => {
    const cap = { maxFreezes: 2, window: 3_600_000 };
    const scope = (p: string) => ({ environment: 'production', principal: p });
    // The same records in the same order give every reader the same answer.
    for (const log of [new ControlLog(keys), new ControlLog(keys)]) {
      expect(reason(feed(log, record('freeze', 1, freeze('a', 1000, scope('one')), { cap })))).toBe('accepted');
      // Both instances saw one freeze in the window and each took what it thought was the last slot.
      expect(reason(feed(log, record('freeze', 1, freeze('b', 2000, scope('two')), { cap })))).toBe('accepted');
      const late = feed(log, record('freeze', 1, freeze('c', 2001, scope('three')), { cap }));
      expect(late).toMatchObject({ kind: 'rejected', rejection: { reason: 'cap', tamper: false } });
      expect(log.check('production', 'three', 'x', 3000)).toBeNull();
      // Outside the window the cap has room again.
      expect(reason(feed(log, record('freeze', 1, freeze('d', 1000 + cap.window + 1, scope('four')), { cap })))).toBe('accepted');
    }
  });

  it('the tamper alert names the offset, the key id and the producer, with an id fixed by the position', () => {
    const log = new ControlLog(keys);
    feed(log, record('freeze', 1, freeze('a1')));
    const out = log.apply(KEY, null, { topic: 'control', partition: 0, offset: '17', timestamp: 1234 }, { 'auditwatch-by': 'mallory' });
    expect(out.kind).toBe('rejected');
    if (out.kind !== 'rejected') return;
    const alert = controlTamperAlert(out.rejection);
    expect(alert).toMatchObject({ detector: 'control-tamper', severity: 'critical', environment: 'production', principal: 'mallory', detectedAt: 1234 });
    expect(alert.reason).toMatch(/forged-tombstone.*control\[0\]@17.*produced by mallory/);
    expect(controlTamperAlert(out.rejection).id).toBe(alert.id);
  });

  it('signs the canonical form: key order does not change the signature', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: 'x' } })).toBe('{"a":{"c":"x","d":[1,{"y":2,"z":1}]},"b":1}');
    const r = record('freeze', 1, freeze('a1'));
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(r).reverse()));
    expect(reason(new ControlLog(keys).apply(KEY, Buffer.from(reordered), at()))).toBe('accepted');
  });

  it('schemas/control-record.schema.json is the schema the readers validate with', () => {
    const file = JSON.parse(readFileSync(join(PROJECT_ROOT, 'schemas', 'control-record.schema.json'), 'utf8'));
    expect(file).toEqual(controlRecordJsonSchema());
  });
});

describe('control keys in the config', () => {
  const base = (freeze: Record<string, unknown>) => validateConfig({ freeze }, {});

  it('enforcing needs a signing key, and the signing key must be trusted', () => {
    expect(() => base({ mode: 'enforce' })).toThrow(/freeze\.signing: a rule enforces freezes/);
    expect(() => base({ mode: 'enforce', signing: { keyId: 'main', privateKeyFile: main.privateKeyFile } })).toThrow(/freeze\.trustedKeys: must include the signing key main/);
    expect(() => base({ signing: { keyId: 'main' } })).toThrow(/freeze\.signing: give exactly one of privateKeyFile or privateKeyEnv/);
  });

  it('a key that does not load is one line naming its key', () => {
    const badFile = join(dir, 'not-a-key.pem');
    writeFileSync(badFile, 'hello');
    const config = base({ signing: { keyId: 'main', privateKeyFile: join(dir, 'missing.key') }, trustedKeys: [{ keyId: 'main', publicKeyFile: badFile }, { keyId: 'x', publicKey: readFileSync(main.privateKeyFile, 'utf8') }] });
    let problems: string[] = [];
    try {
      controlKeys(config, {});
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^config: freeze\.signing\.privateKeyFile: cannot read .*missing\.key \(ENOENT\)$/);
    expect(problems[1]).toMatch(/^config: freeze\.trustedKeys\.0\.publicKeyFile: not a PEM public key/);
    expect(problems[2]).toMatch(/^config: freeze\.trustedKeys\.1\.publicKey: this is a private key/);
    const envConfig = base({ signing: { keyId: 'main', privateKeyEnv: 'AW_KEY' }, trustedKeys: [{ keyId: 'main', publicKeyFile: main.publicKeyFile }] });
    expect(() => controlKeys(envConfig, {})).toThrow(/freeze\.signing\.privateKeyEnv: environment variable AW_KEY is not set/);
    expect(controlKeys(envConfig, { AW_KEY: readFileSync(main.privateKeyFile, 'utf8') }).signer?.keyId).toBe('main');
  });
});
