// Generates the JSON Schemas that test/ validates auditwatch's OCSF records against, from the published OCSF schema.
//
// OCSF publishes its schema as a repository of JSON fragments (classes extending base events, objects, profiles, a
// dictionary); ocsf-lib (PyPI) compiles them into one resolved document. This script turns that document into one
// JSON Schema (draft-07) per event class that auditwatch writes, with every object it can reach as a definition:
// required attributes required, integer enums closed, attributes of profiles auditwatch does not declare refused, and
// no attribute outside the class (additionalProperties: false), so a misspelt or misplaced field fails.
//
// To regenerate (e.g. for a new OCSF release):
//   git clone https://github.com/ocsf/ocsf-schema && git -C ocsf-schema checkout <release commit>
//   python3 -m venv .tools/ocsf && .tools/ocsf/bin/pip install ocsf-lib
//   .tools/ocsf/bin/python -m ocsf.compile ocsf-schema > /tmp/ocsf.json
//   npx tsx scripts/ocsf-json-schema.ts /tmp/ocsf.json
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OCSF_CLASSES, OCSF_PROFILES, OCSF_VERSION } from '../src/sinks/ocsf.js';

interface Attribute {
  type: string;
  requirement?: 'required' | 'recommended' | 'optional';
  is_array?: boolean;
  enum?: Record<string, unknown> | null;
  profile?: string | null;
  description?: string;
}
interface Definition {
  name: string;
  caption: string;
  attributes: Record<string, Attribute>;
  constraints?: { at_least_one?: string[]; just_one?: string[] } | null;
}
interface Compiled {
  version: string;
  classes: Record<string, Definition & { uid: number }>;
  objects: Record<string, Definition>;
  types: Record<string, { type?: string }>;
}

type JsonSchema = Record<string, unknown>;

const PRIMITIVE: Record<string, JsonSchema> = {
  string_t: { type: 'string' },
  integer_t: { type: 'integer' },
  long_t: { type: 'integer' },
  float_t: { type: 'number' },
  boolean_t: { type: 'boolean' },
  json_t: {},
  object: { type: 'object' },
};

function main(): void {
  const [compiledPath, outDir = join('schemas', 'ocsf')] = process.argv.slice(2);
  if (!compiledPath) {
    console.error('usage: tsx scripts/ocsf-json-schema.ts <compiled OCSF schema JSON> [out dir]');
    process.exit(2);
  }
  const compiled = JSON.parse(readFileSync(compiledPath, 'utf8')) as Compiled;
  if (compiled.version !== OCSF_VERSION) {
    console.error(`the compiled schema is OCSF ${compiled.version}; src/sinks/ocsf.ts writes ${OCSF_VERSION}`);
    process.exit(2);
  }
  mkdirSync(outDir, { recursive: true });
  for (const name of Object.values(OCSF_CLASSES)) {
    const schema = classSchema(compiled, name);
    const file = join(outDir, `${name}.schema.json`);
    writeFileSync(file, JSON.stringify(schema, null, 1) + '\n');
    console.log(`${file}: ${Object.keys(schema.definitions as object).length} objects`);
  }
}

/** The primitive a type stands for (timestamp_t is a long_t, hostname_t a string_t …). */
function primitive(compiled: Compiled, type: string): JsonSchema {
  for (let t: string | undefined = type, hops = 0; t && hops < 5; t = compiled.types[t]?.type, hops++) {
    if (PRIMITIVE[t]) return PRIMITIVE[t]!;
  }
  throw new Error(`type ${type} has no primitive`);
}

function classSchema(compiled: Compiled, className: string): JsonSchema {
  const cls = compiled.classes[className];
  if (!cls) throw new Error(`no class ${className} in OCSF ${compiled.version}`);
  const definitions: Record<string, JsonSchema> = {};
  const pending: string[] = [];
  const attributeSchema = (attr: Attribute): JsonSchema => {
    let item: JsonSchema;
    // `object` (unmapped, data …) is OCSF's free-form object: whatever the source has.
    if (attr.type !== 'object' && compiled.objects[attr.type]) {
      if (!definitions[attr.type] && !pending.includes(attr.type)) pending.push(attr.type);
      item = { $ref: `#/definitions/${attr.type}` };
    } else {
      item = { ...primitive(compiled, attr.type) };
      // Integer enums (the *_id attributes) are closed: 99 "Other" is how a source says "none of these".
      const values = attr.enum ? Object.keys(attr.enum) : [];
      if (values.length > 0 && item.type === 'integer') item.enum = values.map(Number);
    }
    return attr.is_array ? { type: 'array', items: item } : item;
  };
  const objectSchema = (def: Definition): JsonSchema => {
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const [name, attr] of Object.entries(def.attributes)) {
      if (attr.profile && !OCSF_PROFILES.includes(attr.profile)) continue;
      properties[name] = attributeSchema(attr);
      if (attr.requirement === 'required') required.push(name);
    }
    const schema: JsonSchema = { title: def.caption, type: 'object', properties, additionalProperties: false };
    if (required.length) schema.required = required;
    const anyOf = def.constraints?.at_least_one;
    const oneOf = def.constraints?.just_one;
    if (anyOf?.length) schema.anyOf = anyOf.map((a) => ({ required: [a] }));
    if (oneOf?.length) schema.oneOf = oneOf.map((a) => ({ required: [a] }));
    return schema;
  };
  const root = objectSchema(cls);
  for (let name = pending.shift(); name; name = pending.shift()) definitions[name] = objectSchema(compiled.objects[name]!);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $comment: `Generated by scripts/ocsf-json-schema.ts from OCSF ${compiled.version} (ocsf-lib's compile of github.com/ocsf/ocsf-schema), profiles: ${OCSF_PROFILES.join(', ')}.`,
    ...root,
    title: `OCSF ${compiled.version} ${cls.caption} (class_uid ${cls.uid})`,
    definitions,
  };
}

main();
