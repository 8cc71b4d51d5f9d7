// Generates the reference from the code it describes, so it cannot drift: `npm run docs` writes
//   docs/reference/configuration.md and config/auditwatch.example.yaml from the zod schema (src/config/schema.ts:
//     keys, types and defaults from the schema, descriptions from the doc comments on its keys);
//   docs/reference/metrics.md from the Metrics registry; docs/reference/error-codes.md from ERROR_CODES;
//   docs/reference/cli.md from the commander program.
// test/unit/reference.test.ts fails when a file and the code disagree.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { stringify } from 'yaml';
import { z } from 'zod';
import { program } from '../src/cli/main.js';
import { configSchema } from '../src/config/schema.js';
import { ERROR_CODES } from '../src/errors.js';
import { Metrics } from '../src/metrics/metrics.js';
import { formatSize } from '../src/util/bytes.js';
import { formatDuration } from '../src/util/duration.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const SCHEMA_SOURCE = join(ROOT, 'src', 'config', 'schema.ts');

/** One key of the config, as the reference lists it. */
export interface ConfigKey {
  path: string;
  type: string;
  default?: unknown;
  description: string;
  /** A key of one `type` of a list item (detectors, actuators, sources, sinks). */
  variant?: string;
}

type Def = { type: string; [k: string]: unknown };
interface ZodLike { _zod: { def: Def; bag?: Record<string, unknown> } }
const defOf = (s: unknown) => (s as ZodLike)._zod.def;

/** Doc comments of the keys of every `z.strictObject({...})` in the schema's source, by the object's sorted key set. */
function docComments(): Map<string, Map<string, string>> {
  const source = ts.createSourceFile(SCHEMA_SOURCE, readFileSync(SCHEMA_SOURCE, 'utf8'), ts.ScriptTarget.Latest, true);
  const byKeys = new Map<string, Map<string, string>>();
  // Object literals bound to a name (`const outputCommon = {...}`): spread into several specs, their keys are theirs.
  const named = new Map<string, ts.ObjectLiteralExpression>();
  const collect = (node: ts.Node) => {
    if (ts.isVariableDeclaration(node) && node.initializer && ts.isObjectLiteralExpression(node.initializer)) named.set(node.name.getText(), node.initializer);
    ts.forEachChild(node, collect);
  };
  collect(source);
  const properties = (literal: ts.ObjectLiteralExpression): ts.ObjectLiteralElementLike[] => literal.properties.flatMap((p) => {
    const spread = ts.isSpreadAssignment(p) ? named.get(p.expression.getText()) : undefined;
    return spread ? properties(spread) : [p];
  });
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) && /\.(strictObject|object)$/.test(node.expression.getText()) && node.arguments[0] && ts.isObjectLiteralExpression(node.arguments[0])) {
      const docs = new Map<string, string>();
      const names: string[] = [];
      for (const p of properties(node.arguments[0])) {
        if (!p.name) continue;
        const name = p.name.getText().replace(/^['"]|['"]$/g, '');
        names.push(name);
        const comments = ts.getLeadingCommentRanges(source.text, p.getFullStart()) ?? [];
        const text = comments.map((c) => source.text.slice(c.pos, c.end)).filter((c) => c.startsWith('/**')).at(-1);
        if (text) docs.set(name, text.replace(/^\/\*\*|\*\/$/g, '').split('\n').map((l) => l.replace(/^\s*\*\s?/, '').trim()).filter(Boolean).join(' '));
      }
      byKeys.set(names.sort().join(','), docs);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return byKeys;
}

/** What a value of this schema looks like, in a few words. */
function typeOf(schema: unknown): string {
  const def = defOf(schema);
  switch (def.type) {
    case 'default': case 'prefault': case 'optional': case 'nullable':
      return typeOf(def.innerType);
    case 'pipe': {
      // The schema's transforms read a number with its unit ("10s", "2GiB"); their input says which.
      const unit = (z.globalRegistry.get(def.in as z.ZodType) as { unit?: string } | undefined)?.unit;
      return unit ?? typeOf(def.in);
    }
    case 'string': return 'string';
    case 'number': return (def.checks as Array<{ _zod: { def: { check: string; format?: string } } }> | undefined)?.some((c) => c._zod.def.format === 'safeint') ? 'integer' : 'number';
    case 'boolean': return 'boolean';
    case 'literal': return (def.values as unknown[]).map((v) => JSON.stringify(v)).join(' | ');
    case 'enum': return Object.values(def.entries as Record<string, string>).join(' | ');
    case 'array': return `list of ${typeOf(def.element)}`;
    case 'record': return `map of ${typeOf(def.keyType)} to ${typeOf(def.valueType)}`;
    case 'object': return 'mapping';
    case 'union': {
      const options = def.options as unknown[];
      // A component list (sinks, detectors, actuators): its options are told apart by `type`, so name those.
      const types = options.map(componentType);
      if (types.every((t) => t !== undefined)) return `mapping by type (${types.join(', ')})`;
      return options.map(typeOf).join(' or ');
    }
    default: return def.type;
  }
}

/** The literal `type` of a component's spec (`{ type: 'kafka', … }`), if `schema` is one. */
function componentType(schema: unknown): string | undefined {
  const def = defOf(unwrap(schema));
  const type = def.type === 'object' ? (def.shape as Record<string, unknown>).type : undefined;
  if (type === undefined) return undefined;
  const typeDef = defOf(unwrap(type));
  return typeDef.type === 'literal' && (typeDef.values as unknown[]).length === 1 ? String((typeDef.values as unknown[])[0]) : undefined;
}

function unwrap(schema: unknown): unknown {
  let s = schema;
  for (let def = defOf(s); ['default', 'prefault', 'optional', 'nullable'].includes(def.type); def = defOf(s)) s = def.innerType;
  return s;
}

function valueAt(root: unknown, path: string[]): unknown {
  let cur = root;
  for (const key of path) cur = cur === null || typeof cur !== 'object' ? undefined : (cur as Record<string, unknown>)[key];
  return cur;
}

/** Every key under `schema`, depth first in the schema's order, with its default taken from `defaults`. */
function walk(schema: unknown, path: string[], defaults: unknown, docs: Map<string, Map<string, string>>, out: ConfigKey[], variant?: string): void {
  const inner = unwrap(schema);
  const def = defOf(inner);
  if (def.type !== 'object') return;
  const shape = def.shape as Record<string, unknown>;
  const comments = docs.get(Object.keys(shape).sort().join(',')) ?? new Map<string, string>();
  for (const [key, child] of Object.entries(shape)) {
    const childPath = [...path, key];
    const value = defaultOf(child, valueAt(defaults, [key]));
    const entry: ConfigKey = { path: childPath.join('.'), type: typeOf(child), description: comments.get(key) ?? '', ...(value !== undefined ? { default: value } : {}), ...(variant ? { variant } : {}) };
    out.push(entry);
    const childInner = unwrap(child);
    const childDef = defOf(childInner);
    if (childDef.type === 'object') walk(childInner, childPath, value, docs, out, variant);
    if (childDef.type === 'array') {
      const element = unwrap(childDef.element);
      const elementDef = defOf(element);
      if (elementDef.type === 'object') walk(element, [...childPath, '[]'], elementDefaults(element, {}), docs, out, variant);
      // A list of components registered by `type`: each type's keys, with that type's defaults.
      if (elementDef.type === 'union' && (elementDef as { discriminator?: string }).discriminator === 'type') {
        for (const option of elementDef.options as unknown[]) {
          const typeName = (defOf(defOf(option).shape && (defOf(option).shape as Record<string, unknown>).type).values as string[])[0]!;
          walk(option, [...childPath, '[]'], elementDefaults(option, { type: typeName }), docs, out, typeName);
        }
      }
    }
  }
}

/** The defaults of one list item: the item parsed from the least it needs, or else each key's own default. */
function elementDefaults(schema: unknown, seed: Record<string, unknown>): unknown {
  const r = (schema as { safeParse: (v: unknown) => { success: boolean; data?: unknown } }).safeParse(seed);
  return r.success ? r.data : seed;
}

/** A key's default: what the enclosing default holds for it, or what the key's own schema makes of nothing. */
function defaultOf(schema: unknown, fromParent: unknown): unknown {
  if (fromParent !== undefined) return fromParent;
  const r = (schema as { safeParse: (v: unknown) => { success: boolean; data?: unknown } }).safeParse(undefined);
  return r.success ? r.data : undefined;
}

export function configKeys(): ConfigKey[] {
  const out: ConfigKey[] = [];
  walk(configSchema, [], configSchema.parse({}), docComments(), out);
  return out;
}

/** A default as the config file would write it: durations and sizes with their units. */
function written(k: ConfigKey): unknown {
  if (typeof k.default !== 'number') return k.default;
  return k.type === 'duration' ? formatDuration(k.default) : k.type === 'size' ? formatSize(k.default) : k.default;
}

function fmt(k: ConfigKey): string {
  if (k.default === undefined || k.type === 'mapping') return '';
  if (k.type === 'duration' || k.type === 'size') return `\`${String(written(k))}\``;
  return `\`${JSON.stringify(k.default)}\``;
}

export function configurationReference(): string {
  const keys = configKeys();
  const lines = [
    '# Configuration reference',
    '',
    GENERATED('src/config/schema.ts'),
    '',
    'The config is YAML, validated at start: a bad one fails with one line per problem, naming the key, and exit 2',
    '(`auditwatch config check FILE` does the same without starting anything). Unknown keys are errors. Durations',
    'are written `500ms`, `10s`, `1m`, `1h` or `7d`; a bare number is milliseconds. `AUDITWATCH__A__B_C=value` sets',
    '`a.bC` (the value read as YAML) and `KAFKA_BROKERS=h:p,h:p` sets `kafka.brokers`. Secrets are never in the',
    'config: keys ending in `Env` or `File` name the environment variable or file that holds them. Every key with its',
    'default: [`config/auditwatch.example.yaml`](../../config/auditwatch.example.yaml).',
    '',
  ];
  let section = '';
  for (const k of keys) {
    const top = k.path.split('.')[0]!;
    if (top !== section) {
      section = top;
      lines.push('', `## \`${top}\``, '', '| key | type | default | what it does |', '|---|---|---|---|');
    }
    const key = `\`${k.path.replace(/\.\[\]/g, '[]')}\`${k.variant ? ` (\`${k.variant}\`)` : ''}`;
    lines.push(`| ${key} | ${cell(k.type)} | ${cell(fmt(k))} | ${cell(k.description)} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** The example config: every key with its default, and a comment per key saying what it does. */
export function exampleConfig(): string {
  const keys = configKeys().filter((k) => !k.variant && !k.path.includes('[]'));
  const children = new Set(keys.map((k) => k.path.split('.').slice(0, -1).join('.')));
  const out = [
    '# Every key auditwatch reads, with its default (generated from src/config/schema.ts by `npm run docs`).',
    '# Validate with `auditwatch config check FILE`; the reference is docs/reference/configuration.md.',
    '# Durations are written 500ms, 10s, 1m, 1h or 7d (a bare number is milliseconds). Lines starting with "# name:"',
    '# are keys with no default, left unset.',
  ];
  /** Keys under an unset mapping are shown commented out with it. */
  const unset = new Set<string>();
  for (const k of keys) {
    const parts = k.path.split('.');
    const depth = parts.length - 1;
    const indent = '  '.repeat(depth);
    const name = parts.at(-1)!;
    const parent = parts.slice(0, -1).join('.');
    if (depth === 0) out.push('');
    const commentedOut = unset.has(parent) || k.default === undefined;
    if (commentedOut) unset.add(k.path);
    out.push(`${indent}# ${k.description}`);
    const hash = commentedOut ? '# ' : '';
    if (children.has(k.path)) {
      out.push(`${indent}${hash}${name}:`);
    } else if (k.default === undefined) {
      out.push(`${indent}# ${name}: (${k.type})`);
    } else {
      const value = written(k);
      const text = stringify(value, { lineWidth: 0, collectionStyle: Array.isArray(value) && value.some((v) => typeof v === 'object') ? 'block' : 'flow' }).trimEnd();
      if (text.includes('\n')) out.push(`${indent}${hash}${name}:`, ...text.split('\n').map((l) => `${indent}  ${hash}${l}`));
      else out.push(`${indent}${hash}${name}: ${text}`);
    }
  }
  return `${out.join('\n')}\n`;
}

const cell = (text: string) => text.replace(/\|/g, '\\|');
const GENERATED = (what: string) => `<!-- Generated from ${what} by \`npm run docs\`; test/unit/reference.test.ts fails when it is stale. -->`;

/** Every metric auditwatch registers itself (not the process metrics prom-client adds with the same prefix). */
export function metricsReference(): string {
  const metrics = new Metrics().registry.getMetricsAsArray() as unknown as Array<{ name: string; type: string; help: string; labelNames?: string[] }>;
  const lines = [
    '# Metrics', '', GENERATED('src/metrics/metrics.ts'), '',
    '`auditwatch run` serves them on `/metrics` at `metrics.host:metrics.port` (127.0.0.1:9464 by default), with',
    '`/healthz` (alive) and `/readyz` (consuming, with a model loaded). With `--workers N` the supervising process',
    'serves the sum of its workers\' registries; gauges say how they combine. Node process metrics (prom-client',
    'defaults) carry the same `auditwatch_` prefix. `auditwatch gate` and `auditwatch admission` serve the ones that',
    'apply to them.', '',
    '| metric | type | labels | what it counts |', '|---|---|---|---|',
  ];
  for (const m of metrics.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const labels = (m.labelNames ?? []).join(', ');
    lines.push(`| \`${m.name}\` | ${m.type} | ${labels} | ${cell(m.help)} |`);
  }
  return `${lines.join('\n')}\n`;
}

export function errorCodesReference(): string {
  const lines = [
    '# Error codes', '', GENERATED('ERROR_CODES in src/errors.ts'), '',
    'Every error auditwatch raises carries one of these codes, with `retriable` (whether trying again can help) and',
    'the underlying `cause`. A record that cannot be decoded goes to the dead-letter topic with its code in the',
    '`auditwatch-error-code` header and the reason in `auditwatch-error-reason`; a failure that ends a command prints',
    '`auditwatch: CODE: reason` and exits 1, except bad configs and arguments, which exit 2.', '',
    '| code | meaning |', '|---|---|',
    ...Object.entries(ERROR_CODES).map(([code, meaning]) => `| \`${code}\` | ${cell(meaning)} |`),
  ];
  return `${lines.join('\n')}\n`;
}

interface CommandLike { name(): string; description(): string; commands: readonly CommandLike[]; options: ReadonlyArray<{ flags: string; description: string; defaultValue?: unknown; mandatory?: boolean; argChoices?: string[] }>; registeredArguments?: ReadonlyArray<{ name(): string }> }

export function cliReference(): string {
  const lines = [
    '# Command line', '', GENERATED('src/cli/main.ts'), '',
    'Exit codes: 0 done; 1 a failure, with one line `auditwatch: CODE: reason` (see [error codes](error-codes.md));',
    '2 a bad argument (one line) or a bad config (one line per problem, each naming its key). TIME is ISO-8601 or',
    'epoch milliseconds; durations are written 500ms, 10s, 1m, 1h or 7d; sizes 500MB or 2GiB.', '',
  ];
  const visit = (cmd: CommandLike, prefix: string) => {
    for (const sub of cmd.commands) {
      const name = `${prefix} ${sub.name()}`;
      const args = (sub.registeredArguments ?? []).map((a) => ` <${a.name()}>`).join('');
      if (sub.commands.length === 0 || sub.options.length > 0) {
        lines.push(`## \`${name}${args}\``, '', sub.description(), '');
        if (sub.options.length) {
          lines.push('| option | what it does |', '|---|---|');
          for (const o of sub.options) {
            const extra = [o.mandatory ? 'required' : '', o.argChoices ? `one of ${o.argChoices.join(', ')}` : '', o.defaultValue !== undefined && o.defaultValue !== false && !(Array.isArray(o.defaultValue) && o.defaultValue.length === 0) ? `default ${JSON.stringify(o.defaultValue)}` : ''].filter(Boolean).join('; ');
            lines.push(`| \`${o.flags}\` | ${cell(o.description)}${extra ? ` (${extra})` : ''} |`);
          }
          lines.push('');
        }
      }
      visit(sub, name);
    }
  };
  visit(program() as unknown as CommandLike, 'auditwatch');
  return `${lines.join('\n').trimEnd()}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const reference = join(ROOT, 'docs', 'reference');
  writeFileSync(join(reference, 'configuration.md'), configurationReference());
  writeFileSync(join(ROOT, 'config', 'auditwatch.example.yaml'), exampleConfig());
  writeFileSync(join(reference, 'metrics.md'), metricsReference());
  writeFileSync(join(reference, 'error-codes.md'), errorCodesReference());
  writeFileSync(join(reference, 'cli.md'), cliReference());
}
