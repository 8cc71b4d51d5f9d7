import avro from 'avsc';
import type { Config } from '../config/schema.js';
import { envSecret } from '../config/files.js';
import { AuditwatchError, errorMessage } from '../errors.js';

export type SchemaRegistrySpec = NonNullable<Config['schemaRegistry']>;

/** What a schema id stands for: a resolver from its writer schema to the reader's, or why it cannot be read. */
export type WriterLookup = { resolver: avro.Resolver } | { unreadable: string };

/** Writer schemas by id, as decoders read them: undefined for an id nobody has looked up yet. */
export interface WriterSchemas {
  lookup(id: number): WriterLookup | undefined;
  /** Looks up the ids not known yet (the detection thread's copy only; a decode thread's cannot). */
  ensure?(ids: Iterable<number>): Promise<void>;
}

/** The schema id of a record in the Confluent wire format (magic byte 0, a 4-byte id, then the body), if it is one. */
export function confluentSchemaId(value: Buffer | null): number | undefined {
  return value && value.length > 5 && value[0] === 0 ? value.readUInt32BE(1) : undefined;
}

/** The Confluent wire format: magic byte 0, the 4-byte big-endian schema id, then the Avro body. */
export function confluentFrame(schemaId: number, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(schemaId, 1);
  return Buffer.concat([head, body]);
}

/**
 * A client of the Confluent Schema Registry API (Confluent's, Apicurio's `/apis/ccompat/v7`, Karapace, Redpanda's):
 * writer schemas fetched by id once and kept, so that a producer on a newer compatible schema is read through
 * Avro schema resolution; and the schemas auditwatch writes, registered under `<topic>-value`. A registry that does
 * not answer is a retriable error (the batch waits); an id it does not know is an answer (the record is dead-lettered).
 */
export class SchemaRegistryClient implements WriterSchemas {
  private readonly writers = new Map<number, WriterLookup>();
  private readonly headers: Record<string, string>;

  constructor(private readonly spec: SchemaRegistrySpec, private readonly reader: avro.Type, env: NodeJS.ProcessEnv = process.env) {
    this.headers = { accept: 'application/vnd.schemaregistry.v1+json, application/json', ...authHeader(spec, env) };
  }

  lookup(id: number): WriterLookup | undefined {
    return this.writers.get(id);
  }

  /** Looks up the ids not known yet; throws a retriable SCHEMA_REGISTRY_UNAVAILABLE when the registry does not answer. */
  async ensure(ids: Iterable<number>): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.writers.has(id));
    await Promise.all(missing.map(async (id) => {
      const res = await this.request('GET', `/schemas/ids/${id}`);
      if (res.status === 404) {
        this.writers.set(id, { unreadable: `schema id ${id} is not in the schema registry` });
        return;
      }
      if (!res.ok) throw unavailable(`GET /schemas/ids/${id}: HTTP ${res.status}`);
      const body = (await res.json()) as { schema?: unknown; schemaType?: unknown };
      this.writers.set(id, this.resolve(id, body));
    }));
  }

  private resolve(id: number, body: { schema?: unknown; schemaType?: unknown }): WriterLookup {
    if (body.schemaType !== undefined && body.schemaType !== 'AVRO') return { unreadable: `schema id ${id} is ${String(body.schemaType)}, not Avro` };
    try {
      const writer = avro.Type.forSchema(JSON.parse(String(body.schema)) as avro.Schema);
      return { resolver: this.reader.createResolver(writer) };
    } catch (err) {
      return { unreadable: `schema id ${id} cannot be read as ${this.reader.name ?? 'the canonical schema'}: ${errorMessage(err)}` };
    }
  }

  /** Registers a schema under a subject (or finds it there) and returns its id. */
  async register(subject: string, schema: avro.Type): Promise<number> {
    // With its defaults (exportAttrs): without them the registry sees every field added since as breaking
    // compatibility, and the next release's schema would be refused.
    const res = await this.request('POST', `/subjects/${encodeURIComponent(subject)}/versions`, JSON.stringify({ schema: JSON.stringify(schema.schema({ exportAttrs: true })) }));
    if (res.status >= 500) throw unavailable(`POST /subjects/${subject}/versions: HTTP ${res.status}`);
    const body = (await res.json().catch(() => ({}))) as { id?: unknown; message?: unknown };
    if (!res.ok || typeof body.id !== 'number') {
      throw new AuditwatchError('SCHEMA_REGISTRY_REFUSED', `the schema registry refused the schema for ${subject}: HTTP ${res.status} ${String(body.message ?? '')}`.trim());
    }
    return body.id;
  }

  private async request(method: string, path: string, body?: string): Promise<Response> {
    try {
      return await fetch(new URL(path.slice(1), this.spec.url.endsWith('/') ? this.spec.url : `${this.spec.url}/`), {
        method, body, signal: AbortSignal.timeout(this.spec.timeout),
        headers: body ? { ...this.headers, 'content-type': 'application/vnd.schemaregistry.v1+json' } : this.headers,
      });
    } catch (err) {
      throw unavailable(`${method} ${path}: ${errorMessage(err)}`, err);
    }
  }
}

const unavailable = (message: string, cause?: unknown) =>
  new AuditwatchError('SCHEMA_REGISTRY_UNAVAILABLE', `schema registry: ${message}`, { retriable: true, cause });

/** Basic (usernameEnv + passwordEnv) or bearer (tokenEnv) credentials; a variable that is not set is a config problem. */
function authHeader(spec: SchemaRegistrySpec, env: NodeJS.ProcessEnv): Record<string, string> {
  const auth = spec.auth;
  if (!auth) return {};
  if (auth.tokenEnv) return { authorization: `Bearer ${envSecret(env, 'schemaRegistry.auth.tokenEnv', auth.tokenEnv)}` };
  const user = envSecret(env, 'schemaRegistry.auth.usernameEnv', auth.usernameEnv!);
  const password = envSecret(env, 'schemaRegistry.auth.passwordEnv', auth.passwordEnv!);
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}
