import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.js';
import { configSchema, type Config } from './schema.js';

const ENV_PREFIX = 'AUDITWATCH__';

/** camelCase from an environment variable segment: FREEZE__CAP__MAX_FREEZES → freeze.cap.maxFreezes. */
function keyOf(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Environment overrides, applied over the file before validation so that a bad value is reported against its key.
 * AUDITWATCH__FREEZE__MODE=enforce sets freeze.mode; values are read as YAML scalars or flow collections
 * (30, true, [a, b]). KAFKA_BROKERS is the one the whole project agrees on (tests and `run` use it).
 */
function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const [name, value] of Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).split('__').map(keyOf);
    let node: Record<string, unknown> = out;
    for (const key of path.slice(0, -1)) {
      if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[path.at(-1)!] = parseYaml(value);
  }
  if (env.KAFKA_BROKERS) {
    const kafka = typeof out.kafka === 'object' && out.kafka !== null ? { ...(out.kafka as object) } : {};
    out.kafka = { ...kafka, brokers: env.KAFKA_BROKERS.split(',').map((b) => b.trim()).filter(Boolean) };
  }
  return out;
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let cur = root;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Validates a parsed config; throws ConfigError with one line per problem, each naming the key path. */
export function validateConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): Config {
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(['config: (root): expected a mapping of keys']);
  const input = applyEnv(raw as Record<string, unknown>, env);
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.map(String).join('.') : '(root)';
    if (issue.code === 'unrecognized_keys') {
      return `config: ${path === '(root)' ? '' : `${path}.`}${issue.keys.join(', ')}: unknown key`;
    }
    return `config: ${path}: ${issue.message} (got ${describe(valueAt(input, issue.path))})`;
  });
  throw new ConfigError(problems);
}

/** Loads YAML from `path` (or only defaults and environment when no path is given). */
export function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  if (!path) return validateConfig({}, env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`config: ${path}: cannot read file (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError([`config: ${path}: not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  return validateConfig(raw, env);
}
