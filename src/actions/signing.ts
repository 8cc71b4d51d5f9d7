import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { envSecret, readConfigFile } from '../config/files.js';
import { ConfigError } from '../errors.js';

/** Where the private key of the signer comes from: a file or an environment variable, never the config itself. */
export interface SigningSpec {
  keyId: string;
  privateKeyFile?: string | undefined;
  privateKeyEnv?: string | undefined;
}

/** A public key every reader of the control topic accepts, under its key id. */
export interface TrustedKeySpec {
  keyId: string;
  publicKey?: string | undefined;
  publicKeyFile?: string | undefined;
}

export interface Signer {
  readonly keyId: string;
  sign(data: Buffer): Buffer;
}

/** The accepted public keys by key id. Rotation: add the new key everywhere, switch the signer, then drop the old. */
export class KeyRing {
  constructor(private readonly keys: ReadonlyMap<string, KeyObject>) {}

  static empty(): KeyRing {
    return new KeyRing(new Map());
  }

  has(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  get size(): number {
    return this.keys.size;
  }

  /** 'ok', or why not: the key is unknown, or the signature does not verify under it. */
  verify(keyId: string, data: Buffer, signature: Buffer): 'ok' | 'unknown-key' | 'bad-signature' {
    const key = this.keys.get(keyId);
    if (!key) return 'unknown-key';
    try {
      return verify(null, data, key, signature) ? 'ok' : 'bad-signature';
    } catch {
      return 'bad-signature';
    }
  }
}

/**
 * JSON with object keys sorted at every level, so that a signature covers the meaning of a record and not the key
 * order of whoever serialised it. Numbers and strings are as JSON.stringify writes them.
 */
/** A signed record's JSON as the readers take it: the value parsed, its fields when it is an object, or why not. */
export function parseSignedJson(value: Buffer): { ok: true; parsed: unknown; fields: Record<string, unknown> } | { ok: false; detail: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  }
  return { ok: true, parsed, fields: typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {} };
}

/** The first problem a schema found, as one line naming its field. */
export function firstIssue(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  const issue = issues[0]!;
  return `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`;
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** An Ed25519 key from PEM, private or public; anything else is one line naming the key. */
function ed25519Key(kind: 'private' | 'public', pem: string, where: string): KeyObject {
  // createPublicKey would derive the public half of a private key; a private key has no place in a config.
  if (kind === 'public' && /PRIVATE KEY/.test(pem)) throw new ConfigError([`config: ${where}: this is a private key; give the public key (the .pub file) and keep the private one out of the config`]);
  let key: KeyObject;
  try {
    key = kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem);
  } catch (err) {
    throw new ConfigError([`config: ${where}: not a PEM ${kind} key (${(err as Error).message})`]);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ConfigError([`config: ${where}: expected an Ed25519 key, got ${key.asymmetricKeyType}`]);
  return key;
}

/** Loads the signing key the config names; a problem is one ConfigError line naming the key. */
export function loadSigner(spec: SigningSpec, env: NodeJS.ProcessEnv = process.env, at = 'freeze.signing'): Signer {
  let pem: string;
  let where: string;
  if (spec.privateKeyFile !== undefined) {
    where = `${at}.privateKeyFile`;
    pem = readConfigFile(spec.privateKeyFile, where).toString('utf8');
  } else {
    where = `${at}.privateKeyEnv`;
    pem = envSecret(env, where, spec.privateKeyEnv ?? '');
  }
  const key = ed25519Key('private', pem, where);
  return { keyId: spec.keyId, sign: (data) => sign(null, data, key) };
}

/** Loads every trusted public key; all problems at once, one line each. */
export function loadKeyRing(specs: readonly TrustedKeySpec[], at = 'freeze.trustedKeys'): KeyRing {
  const keys = new Map<string, KeyObject>();
  const problems: string[] = [];
  specs.forEach((spec, i) => {
    const where = `${at}.${i}.${spec.publicKeyFile !== undefined ? 'publicKeyFile' : 'publicKey'}`;
    try {
      const pem = spec.publicKeyFile !== undefined ? readConfigFile(spec.publicKeyFile, where).toString('utf8') : spec.publicKey ?? '';
      keys.set(spec.keyId, ed25519Key('public', pem, where));
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.problems);
      else throw err;
    }
  });
  if (problems.length) throw new ConfigError(problems);
  return new KeyRing(keys);
}

/** A new Ed25519 key pair as PEM files `<keyId>.key` (mode 0600) and `<keyId>.pub` in `dir`. */
export function generateKeyFiles(dir: string, keyId: string): { privateKeyFile: string; publicKeyFile: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  mkdirSync(dir, { recursive: true });
  const privateKeyFile = join(dir, `${keyId}.key`);
  const publicKeyFile = join(dir, `${keyId}.pub`);
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  writeFileSync(privateKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  writeFileSync(publicKeyFile, publicPem);
  return { privateKeyFile, publicKeyFile, publicKey: publicPem };
}
