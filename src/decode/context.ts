import type { Config } from '../config/schema.js';
import type { AuditEvent, PrincipalKind } from '../events/audit-event.js';
import type { WriterSchemas } from '../kafka/schema-registry.js';
import { globToRegExp } from '../util/glob.js';
import { memo } from '../util/memo.js';

/** What decoders need from the config: where an event's environment and principal kind come from. */
export interface DecodeContext {
  environmentForAccount(accountId: string | undefined): string;
  environmentForNamespace(namespace: string | undefined): string;
  /** GCP: project id → environment (`environments.gcpProjects`). */
  environmentForProject(project: string | undefined): string;
  /** GitHub: organisation → environment (`environments.githubOrganizations`). */
  environmentForGithubOrg(org: string | undefined): string;
  /** Azure: subscription id → environment (`environments.azureSubscriptions`), case-insensitive. */
  environmentForSubscription(subscription: string | undefined): string;
  classifyPrincipalName(name: string): PrincipalKind | undefined;
  /** Whether any ticket rule is configured: without one, a decoder does not gather what the rules would read. */
  readonly ticketRules: boolean;
  /** The change ticket a CloudTrail record carries by the configured rules (`changes.tickets`), or null. */
  changeTicket(where: TicketSources): string | null;
  /** Set when a schema registry is configured: Confluent-framed Avro is read with the writer schema its id names. */
  readonly writerSchemas?: WriterSchemas;
}

/** What a record offers the ticket rules. */
export interface TicketSources {
  sourceIdentity: string | undefined;
  roleSessionName: string | undefined;
  tag(key: string): string | undefined;
}

export interface DecodeResult {
  events: AuditEvent[];
  /** Records that decoded but are deliberately not events (e.g. a Kubernetes RequestReceived stage). */
  ignored: number;
}

export type Decoder = (value: Buffer, ctx: DecodeContext) => DecodeResult;

/** The part of the config decoders read: plain data, so that a decode thread can be given it. */
export type DecodeSettings = Pick<Config, 'environments' | 'principals'> & Partial<Pick<Config, 'changes' | 'schemaRegistry'>>;

/** Only the decode settings of a config: what a decode thread is given, rather than the whole config. */
export function decodeSettingsOf(config: DecodeSettings): DecodeSettings {
  return { environments: config.environments, principals: config.principals, changes: config.changes, schemaRegistry: config.schemaRegistry };
}

/**
 * With a schema registry configured, `writerSchemas` is what the detection thread looked up; a decode thread has none
 * of its own and hands a Confluent-framed record back undecoded (DECODE_SCHEMA_PENDING) for the detection thread.
 */
const NONE_LOOKED_UP: WriterSchemas = { lookup: () => undefined };

export function decodeContextFrom(config: DecodeSettings, writerSchemas?: WriterSchemas): DecodeContext {
  const env = config.environments;
  const namespaceRules = Object.entries(env.kubernetesNamespaces).map(([glob, name]) => [globToRegExp(glob), name] as const);
  const servicePatterns = config.principals.servicePatterns.map((p) => new RegExp(p));
  const humanPatterns = config.principals.humanPatterns.map((p) => new RegExp(p));
  // A Map: 12-digit account ids as keys of a plain object make it a slow dictionary, read for every record.
  const accounts = new Map(Object.entries(env.awsAccounts));
  const projects = new Map(Object.entries(env.gcpProjects));
  const githubOrgs = new Map(Object.entries(env.githubOrganizations));
  const subscriptions = new Map(Object.entries(env.azureSubscriptions).map(([id, name]) => [id.toLowerCase(), name]));
  const ticketRules = (config.changes?.tickets ?? []).map((r) => ({ ...r, re: new RegExp(r.pattern) }));
  return {
    writerSchemas: config.schemaRegistry ? writerSchemas ?? NONE_LOOKED_UP : undefined,
    ticketRules: ticketRules.length > 0,
    changeTicket: (where) => {
      for (const rule of ticketRules) {
        const text = rule.from === 'tag' ? where.tag(rule.key!) : where[rule.from];
        const m = text === undefined ? null : rule.re.exec(text);
        if (m) return m[1] ?? m[0];
      }
      return null;
    },
    environmentForAccount: (accountId) => (accountId && accounts.get(accountId)) || env.default,
    environmentForProject: (project) => (project && projects.get(project)) || env.default,
    environmentForGithubOrg: (org) => (org && githubOrgs.get(org)) || env.default,
    environmentForSubscription: (subscription) => (subscription && subscriptions.get(subscription.toLowerCase())) || env.default,
    environmentForNamespace: (ns) => {
      if (ns !== undefined) for (const [re, name] of namespaceRules) if (re.test(ns)) return name;
      return env.kubernetesDefault ?? env.default;
    },
    classifyPrincipalName: memo((name) => {
      if (servicePatterns.some((re) => re.test(name))) return 'service';
      if (humanPatterns.some((re) => re.test(name))) return 'human';
      return undefined;
    }),
  };
}
