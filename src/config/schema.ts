import { z } from 'zod';
import { parseBytes } from '../util/bytes.js';
import { parseDuration } from '../util/duration.js';

/**
 * A whole positive number written with a unit, or bare in the base unit; anything else is `message`. `unit` names
 * what it measures, for the generated reference.
 */
function withUnit(unit: 'duration' | 'size', parse: (text: string) => number | undefined, message: string) {
  return z.union([z.number(), z.string()], { error: message }).meta({ unit }).transform((v, ctx) => {
    const n = typeof v === 'number' ? v : parse(v);
    if (n === undefined || !Number.isSafeInteger(n) || n <= 0) {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    return n;
  });
}

/** A duration written as "10s", "1m", "1h"; a bare number is milliseconds. */
const duration = withUnit('duration', parseDuration, 'expected a duration such as 500ms, 10s, 1m, 1h or 7d');

/** An amount of data written as "500MB" or "2GiB"; a bare number is bytes. */
const byteSize = withUnit('size', parseBytes, 'expected a size such as 500MB or 2GiB');

const regex = z.string().refine(
  (s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected a valid regular expression' },
);

const format = z.enum(['auto', 'canonical-json', 'canonical-avro', 'canonical-avro-batch', 'cloudtrail', 'gcp-audit', 'azure-activity', 'github-audit', 'k8s', 'k8s-csv']);

const kafkaSourceSpec = z.strictObject({
  /** Consume Kafka topics as a consumer group (`run`) or a time range (`replay --topic`). */
  type: z.literal('kafka'),
  /** The topics to read; `run` waits, with a warning naming this key, for one that does not exist yet. */
  topics: z.array(z.string().min(1)).min(1),
  /** How records are decoded: auto, canonical-json, canonical-avro, canonical-avro-batch, cloudtrail, gcp-audit, azure-activity, github-audit, k8s or k8s-csv. */
  format: format.default('auto'),
  /** Where a consumer group with no committed offsets starts. */
  fromBeginning: z.boolean().default(true),
  /**
   * The producers key these topics by principal (every event of a principal on one partition). Otherwise, with
   * state.changelog on, auditwatch re-keys them through its repartition topic before detection.
   */
  keyedByPrincipal: z.boolean().default(false),
});
export const sourceSpec = z.discriminatedUnion('type', [kafkaSourceSpec]);

const ticketRule = z.strictObject({
  /** Where to look: sourceIdentity, roleSessionName, or tag (then `key` names the tag). */
  from: z.enum(['sourceIdentity', 'roleSessionName', 'tag']),
  /** The tag's key, for from: tag. */
  key: z.string().min(1).optional(),
  /** A regex; its first group, or the whole match, is the ticket. */
  pattern: regex,
}).refine((r) => r.from !== 'tag' || r.key !== undefined, { message: 'from: tag needs the tag\'s key', path: ['key'] });

const kafkaSinkSpec = z.strictObject({
  /** Alerts on a Kafka topic, keyed by alert id. */
  type: z.literal('kafka'),
  /** The alerts topic. */
  topic: z.string().min(1),
  /**
   * avro: schemas/alert.avsc (the outputs read the first avro one); ocsf: OCSF JSON, each
   * alert a Detection Finding and each freeze and lift a Remediation Activity.
   */
  format: z.enum(['avro', 'ocsf']).default('avro'),
});
const ndjsonSinkSpec = z.strictObject({
  /** Alerts as one JSON object per line. */
  type: z.literal('ndjson'),
  /** A file to append to, or - for stdout. */
  path: z.string().min(1).default('-'),
  /** json: the alert as auditwatch has it; ocsf: OCSF Detection Findings, and a Remediation Activity per freeze and lift. */
  format: z.enum(['json', 'ocsf']).default('json'),
});
/** What every output delivered from the alerts topic shares: which alerts, and how hard to try. */
const outputCommon = {
  /** Names the output in metrics, logs and its consumer group (`<groupId>-deliver-<name>`); default: its type. */
  name: z.string().regex(/^[\w.-]{1,64}$/, 'expected 1 to 64 letters, digits, _ . -').optional(),
  /** Alerts below this severity are not sent here. */
  minSeverity: z.enum(['info', 'warning', 'critical']).default('warning'),
  /** Only alerts matching every field given: detectors, environments, resource-type globs. */
  match: z.strictObject({
    /** Only alerts of these detectors. */
    detectors: z.array(z.string().min(1)).optional(),
    /** Only alerts in these environments. */
    environments: z.array(z.string().min(1)).optional(),
    /** Only alerts on resource types matching one of these globs. */
    resourceTypes: z.array(z.string().min(1)).optional(),
  }).default({}),
  /** Per attempt. */
  timeout: duration.default(5_000),
  /** Attempts after the first, with jittered exponential backoff (or the endpoint's Retry-After); then `.undelivered`. */
  retries: z.number().int().min(0).max(100).default(5),
  /** The first backoff; doubled per retry, up to 1 min. */
  backoff: duration.default(500),
  /** Alerts in flight to the endpoint at once (revisions of one alert always one after another, in order). */
  concurrency: z.number().int().min(1).max(256).default(8),
};
/** One check, so a bad URL is one line: not a URL at all and not http(s) are the same problem to the user. */
const httpUrl = z.string().refine((u) => {
  try {
    const { protocol } = new URL(u);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}, { message: 'expected an http or https URL' });

const webhookSinkSpec = z.strictObject({
  /** Alerts as JSON POSTs signed as Standard Webhooks do (webhook-id, webhook-timestamp, webhook-signature). */
  type: z.literal('webhook'),
  /** Where to POST. */
  url: httpUrl,
  /** The environment variable holding the signing secret (`whsec_…` base64, or any string). */
  secretEnv: z.string().min(1),
  /**
   * json: Standard Webhooks' {type, timestamp, data: the alert}; ocsf: the OCSF record itself, a Detection Finding per
   * alert revision and a Remediation Activity per freeze and lift (read from freeze.auditTopic).
   */
  format: z.enum(['json', 'ocsf']).default('json'),
  ...outputCommon,
});
const alertmanagerSinkSpec = z.strictObject({
  /** Alerts to Prometheus Alertmanager's API v2, resolved when the incident has been quiet for `alerts.incidentGap`. */
  type: z.literal('alertmanager'),
  /** Alertmanager's base URL, e.g. http://alertmanager:9093 (alerts go to /api/v2/alerts). */
  url: httpUrl,
  ...outputCommon,
});
const slackSinkSpec = z.strictObject({
  /** A Slack incoming-webhook message per alert revision: severity, entity, reason, context, the freeze, a link. */
  type: z.literal('slack'),
  /** The environment variable holding the incoming-webhook URL (it is a secret: whoever has it can post). */
  urlEnv: z.string().min(1),
  /** A link for the message's button, with {id}, {revision}, {environment}, {principal}, {resourceType}, {detector}. */
  linkTemplate: z.string().min(1).optional(),
  ...outputCommon,
});
const pagerDutySinkSpec = z.strictObject({
  /** PagerDuty Events API v2: a trigger on an incident's first revision and when its severity rises; dedup_key is the alert id. */
  type: z.literal('pagerduty'),
  /** The environment variable holding the integration's routing key. */
  routingKeyEnv: z.string().min(1),
  /** The Events API endpoint. */
  url: httpUrl.default('https://events.pagerduty.com/v2/enqueue'),
  ...outputCommon,
});
const syslogSinkSpec = z.strictObject({
  /** RFC 5424 syslog over TCP or TLS (octet-counted frames): the alert in structured data, the reason or a CEF record as the message. */
  type: z.literal('syslog'),
  /** The syslog server. */
  host: z.string().min(1),
  /** Its TCP port. */
  port: z.number().int().min(1).max(65535).default(514),
  /** The facility of every message; severity follows the alert (critical 2, warning 4, info 6). */
  facility: z.enum(['auth', 'authpriv', 'daemon', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7', 'security', 'user']).default('authpriv'),
  /** APP-NAME in every message. */
  appName: z.string().regex(/^[!-~]{1,48}$/, 'expected 1 to 48 printable characters, no spaces').default('auditwatch'),
  /** The message part: the alert's reason (rfc5424), or one CEF record (cef) for SIEMs that read CEF. */
  format: z.enum(['rfc5424', 'cef']).default('rfc5424'),
  /** Syslog over TLS (RFC 5425; the port is then usually 6514). The server's certificate is always verified. */
  tls: z.strictObject({
    /** PEM CA bundle the server's certificate must chain to; default: Node's bundled public CAs. */
    caFile: z.string().min(1).optional(),
    /** PEM client certificate, for a server that asks for one (mutual TLS); with keyFile. */
    certFile: z.string().min(1).optional(),
    /** PEM private key of certFile. */
    keyFile: z.string().min(1).optional(),
    /** The name the server's certificate must carry; default: host. */
    serverName: z.string().min(1).optional(),
  }).refine((t) => !t.certFile === !t.keyFile, { message: 'certFile and keyFile go together' }).optional(),
  ...outputCommon,
});
export const sinkSpec = z.discriminatedUnion('type', [kafkaSinkSpec, ndjsonSinkSpec, webhookSinkSpec, alertmanagerSinkSpec, slackSinkSpec, pagerDutySinkSpec, syslogSinkSpec]);
/** Sinks delivered from the alerts topic by their own consumer group, not inline with detection. */
export const OUTPUT_TYPES = ['webhook', 'alertmanager', 'slack', 'pagerduty', 'syslog'] as const;
export type OutputSpec = Extract<z.infer<typeof sinkSpec>, { type: (typeof OUTPUT_TYPES)[number] }>;

const thresholdOverrideFields = {
  /** Only in this environment (default: any). */
  environment: z.string().min(1).optional(),
  /** Glob, e.g. "rds:*". */
  resourceType: z.string().min(1).optional(),
  /** Regex on the principal id. */
  principal: regex.optional(),
  /** Overrides the detector's `tolerance` where this entry matches. */
  tolerance: z.number().min(1).optional(),
  /** Overrides the detector's `minObjects` where this entry matches. */
  minObjects: z.number().int().min(1).optional(),
  /** Overrides the detector's `criticalScore` where this entry matches. */
  criticalScore: z.number().min(1).optional(),
};
const thresholdOverride = z.strictObject({ ...thresholdOverrideFields });

const suppression = z.strictObject({
  /** Only alerts of this detector (default: any). */
  detector: z.string().min(1).optional(),
  /** Regex on the principal id (default: any). */
  principal: regex.optional(),
  /** Only in this environment (default: any). */
  environment: z.string().min(1).optional(),
  /** Only on this resource type (default: any). */
  resourceType: z.string().min(1).optional(),
  /** Who asked for it and why: both required, both logged with every alert it swallows. */
  owner: z.string().min(1),
  /** Why; logged with every alert it swallows. */
  reason: z.string().min(1),
  /** ISO-8601; compared with event time, so a replay suppresses exactly what the live run did. */
  expires: z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
});

/** The volume windows when none are configured: what the model learns and bulk-read checks without bulk-delete. */
export const DEFAULT_WINDOWS = [10_000, 60_000, 600_000, 3_600_000];

const bulkDeleteDetectorSpec = z.strictObject({
  /** Unusual volumes of deleted objects per principal, environment and resource type, against learned peaks. */
  type: z.literal('bulk-delete'),
  /** Sliding windows checked on every event. */
  windows: z.array(duration).min(1).default(DEFAULT_WINDOWS),
  /** Headroom over the learned peak: observed must exceed peak × tolerance to be unusual. */
  tolerance: z.number().min(1).default(1.5),
  /** Never alert on fewer deleted objects than this in a window, whatever the baseline. */
  minObjects: z.number().int().min(1).default(10),
  /** Score (observed / threshold) at which a finding in a critical environment becomes critical. */
  criticalScore: z.number().min(1).default(2),
  /** Entities with no history use this quantile of their environment's entity peaks. */
  populationQuantile: z.number().gt(0).lt(1).default(0.95),
  /**
   * Criticality per resource type (glob → weight; the first match wins, otherwise 1): a weight of 5 lets a fifth of
   * minObjects alert. A database and its snapshots weigh more than a cache entry.
   */
  criticality: z.record(z.string().min(1), z.number().positive()).default({
    'rds:*': 5, 'dynamodb:table': 5, 'dynamodb:backup': 5, 'redshift:*': 5, 'docdb-elastic:*': 5, 's3:bucket': 5, 'kms:*': 5,
    'backup:*': 5, 'ec2:snapshot': 2, 'ec2:volume': 2, 'elasticache:*': 0.5,
    // Writes that destroy without a Delete, by their qualified action (docs/design/detection.md): an object rewritten
    // under a key its owner does not hold is as gone as a deleted one, and rarer.
    'action:*:SSE-C': 5, 'action:*:ForeignKMS': 5, 'action:CopyObject:InPlace': 1, 'action:PutObject:Overwrite': 1,
  }),
  /** Upper bound on entities tracked at once; idle ones (windows empty) are dropped first, then the least recent. */
  maxEntities: z.number().int().min(1000).default(2_000_000),
  /** Thresholds for some environments, resource types or principals; every matching entry applies, later ones win. */
  overrides: z.array(thresholdOverride).default([]),
});
const bulkReadDetectorSpec = z.strictObject({
  /**
   * Unusual volumes of data read (S3 objects, DynamoDB items, secrets: bulk downloads) per principal, environment
   * and data store, against learned peaks with the bulk-delete detector's windows. A warning; critical in a critical
   * environment whose data the principal never read in training. Freezes only under a rule that names it.
   */
  type: z.literal('bulk-read'),
  /** Headroom over the learned peak: observed must exceed peak × tolerance to be unusual. */
  tolerance: z.number().min(1).default(2),
  /** Never alert on fewer objects read than this in a window, whatever the baseline. */
  minObjects: z.number().int().min(1).default(200),
  /**
   * Where the records say how much a read returned (S3 data events: bytesTransferredOut), the bytes read are scored
   * too, against their own learned peaks: never alert on less than this in a window. A few huge objects (a database
   * dump) are a bulk read that the object count misses.
   */
  minBytes: byteSize.default(2 ** 30),
  /** Score (observed / threshold) from which a finding can be critical (see type). */
  criticalScore: z.number().min(1).default(2),
  /** Upper bound on entities tracked at once; idle ones are dropped first, then the least recent. */
  maxEntities: z.number().int().min(1000).default(2_000_000),
  /** Thresholds for some environments, data stores (resource types) or principals; later entries win. */
  overrides: z.array(z.strictObject({
    ...thresholdOverrideFields,
    /** Overrides the detector's `minBytes` where this entry matches. */
    minBytes: byteSize.optional(),
  })).default([]),
});
const contextDetectorSpec = z.strictObject({
  /** Protections being disabled, and a principal's first destructive action on a critical type or in a critical environment. */
  type: z.literal('context'),
  /** Flag calls that disable protections (logging, versioning, deletion protection, detectors, keys). */
  protections: z.boolean().default(true),
  /** Score of a disabled protection: 2 or more is critical in a critical environment. */
  protectionScore: z.number().min(1).default(2),
  /** Flag a principal's first destructive action on a critical type, or in an environment new to it. */
  novelty: z.boolean().default(true),
  /** The criticality weight (from the bulk-delete detector's table) from which a resource type counts as critical. */
  criticalWeight: z.number().positive().default(5),
});

const modelDetectorSpec = z.strictObject({
  /** The learned TensorFlow.js autoencoder's reconstruction error on destructive events (a warning at most: it never freezes alone). */
  type: z.literal('model'),
  /** Reconstruction error ÷ the training p99.9 from which an event is a warning. */
  minScore: z.number().positive().default(3),
});

export const detectorSpec = z.discriminatedUnion('type', [bulkDeleteDetectorSpec, bulkReadDetectorSpec, contextDetectorSpec, modelDetectorSpec]);

const freezeMode = z.enum(['off', 'dry-run', 'approval', 'enforce']);

const freezeRule = z.strictObject({
  /** Detectors whose alerts this rule covers; empty means all but bulk-read and change-control, which freeze only where named. */
  detectors: z.array(z.string().min(1)).default([]),
  /** Severities whose alerts this rule covers. */
  severities: z.array(z.enum(['info', 'warning', 'critical'])).min(1).default(['critical']),
  /** Environments whose alerts this rule covers. */
  environments: z.array(z.string().min(1)).default(['production']),
  /** Resource-type globs, e.g. "rds:*". */
  resourceTypes: z.array(z.string().min(1)).default(['*']),
  /** What the freeze covers within the environment: the alert's principal, its resource type, or both together. */
  scope: z.enum(['principal', 'resource-type', 'principal-and-resource-type']).default('principal'),
  /** Overrides freeze.mode for this rule (a shadow rule is mode: dry-run). */
  mode: freezeMode.optional(),
  /** How long a freeze by this rule lasts before it lifts by itself. */
  ttl: duration.default(3_600_000),
  /**
   * Change control: in this rule's (critical) environments, a destructive call by a principal with no history there
   * and no approved change (`auditwatch change approve`) freezes at once, from its first call (detector change-control).
   */
  requireChange: z.boolean().default(false),
});

const postgresActuatorSpec = z.strictObject({
  /** Revokes a database role's write grants and write-capable memberships; restores them exactly. */
  type: z.literal('postgres'),
  /** Name of the environment variable that holds the connection string (never the secret itself). */
  connectionEnv: z.string().min(1).default('AUDITWATCH_PG_URL'),
  /** Which database role a freeze scope stands for: the first mapping whose fields all match wins. */
  roles: z
    .array(
      z.strictObject({
        /** The freeze's environment. */
        environment: z.string().min(1),
        /** Regex on the freeze's principal (default: any). */
        principal: regex.optional(),
        /** Regex on the freeze's resource type (default: any). */
        resourceType: regex.optional(),
        /** The database role to freeze. */
        role: z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'expected a PostgreSQL role name'),
      }),
    )
    .min(1),
  /** End the role's open sessions when freezing, so no open transaction keeps writing. */
  terminateSessions: z.boolean().default(true),
});

const webhookActuatorSpec = z.strictObject({
  /** POSTs freeze and unfreeze to an HTTP endpoint, signed as Standard Webhooks do, with a webhook-id the same on every retry. */
  type: z.literal('webhook'),
  /** The endpoint. */
  url: httpUrl,
  /** Name of the environment variable that holds the signing secret (`whsec_…` base64, or any string). */
  secretEnv: z.string().min(1).default('AUDITWATCH_WEBHOOK_SECRET'),
  /** Per attempt. */
  timeout: duration.default(2000),
  /** Attempts after the first, with exponential backoff, on network errors, 429 and 5xx. */
  retries: z.number().int().min(0).max(10).default(3),
});

const awsIamActuatorSpec = z.strictObject({
  /** Attaches an inline deny policy to the IAM role or user a freeze names; reverts by deleting exactly that policy. */
  type: z.literal('aws-iam'),
  /** Default: AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1 (IAM is global). Credentials: the standard chain. */
  region: z.string().min(1).optional(),
  /** Another IAM API endpoint (e.g. a local one); default: AWS's. */
  endpoint: httpUrl.optional(),
  /** Environments whose freezes bind IAM principals. */
  environments: z.array(z.string().min(1)).min(1).default(['production']),
  /** Only principals of these accounts (the credentials' own); empty: any account the credentials reach. */
  accounts: z.array(z.string().regex(/^\d{12}$/, 'expected a 12-digit AWS account id')).default([]),
  /** Principal ARN globs never frozen (break-glass roles); auditwatch's own principal is never frozen either. */
  breakGlass: z.array(z.string().min(1)).default([]),
  /** Also deny every action to sessions issued before the freeze (aws:TokenIssueTime), cutting off stolen sessions. */
  denyOldSessions: z.boolean().default(true),
  /** Prefix of the inline policy's name; the rest is a hash of the scope. */
  policyPrefix: z.string().regex(/^[\w+=,.@-]{1,64}$/, 'expected 1 to 64 of letters, digits and +=,.@_-').default('auditwatch-freeze-'),
  /** Per IAM API call. */
  timeout: duration.default(5000),
});

export const actuatorSpec = z.discriminatedUnion('type', [postgresActuatorSpec, webhookActuatorSpec, awsIamActuatorSpec]);

export const configSchema = z.strictObject({
/** The Kafka cluster auditwatch reads from and writes to. */
  kafka: z
    .strictObject({
      /** Bootstrap brokers; KAFKA_BROKERS=host:port,host:port overrides them. */
      brokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port')).min(1).default(['127.0.0.1:9092']),
      /** The client id the brokers see (quotas, logs). */
      clientId: z.string().min(1).default('auditwatch'),
      /** The consumer group of `auditwatch run`; internal topics are named after it. */
      groupId: z.string().min(1).default('auditwatch'),
      /** TLS to the brokers: true for the system CAs, or files for a private CA and client certificates. */
      ssl: z
        .union([
          z.boolean(),
          z.strictObject({
            caFile: z.string().min(1).optional(),
            certFile: z.string().min(1).optional(),
            keyFile: z.string().min(1).optional(),
            rejectUnauthorized: z.boolean().default(true),
          }),
        ])
        .default(false),
      /** SASL. The password comes from an environment variable or a file, never from this file. */
      sasl: z
        .strictObject({
          /** plain, scram-sha-256 or scram-sha-512. */
          mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
          /** The SASL user. */
          username: z.string().min(1),
          /** The environment variable that holds the password. */
          passwordEnv: z.string().min(1).optional(),
          /** Or the file that holds it. */
          passwordFile: z.string().min(1).optional(),
        })
        .refine((s) => (s.passwordEnv === undefined) !== (s.passwordFile === undefined), { message: 'give exactly one of passwordEnv or passwordFile' })
        .optional(),
      /** Fetch tuning for the live consumer: larger fetches amortise the per-request cost at high volume. */
      consumer: z
        .strictObject({
          /** Fetch size per partition. */
          maxBytesPerPartition: z.number().int().positive().default(8 * 1024 * 1024),
          /** Fetch size per request. */
          maxBytes: z.number().int().positive().default(32 * 1024 * 1024),
          /** How long the broker may hold a fetch that has less than its minimum. */
          maxWaitTime: duration.default(100),
          /** A member silent this long is presumed dead and its partitions move (the broker bounds it: 6 s to 5 min by default). */
          sessionTimeout: duration.default(30_000),
          /** How often a member tells the group it is alive; well under sessionTimeout. */
          heartbeatInterval: duration.default(3000),
          /** Partitions processed at once; per-entity state is shared, so keep an entity's events on one partition. */
          partitionsConsumedConcurrently: z.number().int().min(1).max(64).default(3),
          /**
           * kafkajs on a thread of its own, which decodes `decodeShare` of each batch while the main thread decodes
           * the rest and runs detection; offsets are committed as batches settle. Off: kafkajs, decoding and
           * detection share one thread. "auto": on when the machine has two cores or more per worker process (on
           * two cores, one process went from 0.64 to 0.94 of the bare-kafkajs baseline with it; two workers fell from 0.92
           * to 0.76).
           */
          thread: z.union([z.boolean(), z.literal('auto')], { error: 'expected true, false or "auto"' }).default('auto'),
          /** With `thread`: the share of each batch decoded on the consumer thread. */
          decodeShare: z.number().min(0).max(1).default(0.5),
          /** With `thread`: batches handed to detection and not yet settled, at most (then the consumer waits). */
          maxBatchesInFlight: z.number().int().min(1).max(1000).default(12),
        })
        .prefault({}),
    })
    .prefault({}),
  /** What to consume. */
  sources: z.array(sourceSpec).min(1).default([{ type: 'kafka', topics: ['audit.events'], format: 'auto', fromBeginning: true, keyedByPrincipal: false }]),
/** Where undecodable records go. */
  deadLetter: z
    .strictObject({
      /** Undecodable records go here, bytes unchanged, with the reason and their origin in headers. */
      topic: z.string().min(1).default('auditwatch.dead-letter'),
    })
    .prefault({}),
/** How events map to environments. */
  environments: z
    .strictObject({
      /** Environment of an event whose source says nothing that maps. */
      default: z.string().min(1).default('unknown'),
      /** CloudTrail: account id → environment. */
      awsAccounts: z.record(z.string().regex(/^\d{12}$/, 'expected a 12-digit AWS account id'), z.string().min(1)).default({}),
      /** GCP Cloud Audit Logs: project id → environment. */
      gcpProjects: z.record(z.string().regex(/^[a-z][a-z0-9.:-]{2,}$/, 'expected a GCP project id'), z.string().min(1)).default({}),
      /** Azure Activity Log: subscription id → environment. */
      azureSubscriptions: z.record(z.string().min(1), z.string().min(1)).default({}),
      /** GitHub audit log: organisation (or enterprise) → environment; source code is production state too. */
      githubOrganizations: z.record(z.string().min(1), z.string().min(1)).default({}),
      /** Kubernetes: namespace glob → environment; first match wins, then `kubernetesDefault`. */
      kubernetesNamespaces: z.record(z.string(), z.string().min(1)).default({}),
      /** Environment of Kubernetes events no namespace glob matched (default: `environments.default`). */
      kubernetesDefault: z.string().min(1).optional(),
      /** Environments whose state is production: only there can a finding be critical. */
      critical: z.array(z.string().min(1)).default(['production']),
    })
    .prefault({}),
/** How CloudTrail role and user names are classified as people or services. */
  principals: z
    .strictObject({
      /** Role or user names matching one of these regexes are services; CloudTrail identity types decide otherwise. */
      servicePatterns: z.array(regex).default([]),
      /** Role or user names matching one of these regexes are people. */
      humanPatterns: z.array(regex).default(['^AWSReservedSSO_', '[Aa]dmin', 'Developer']),
    })
    .prefault({}),
  /** Where `train` writes and `run`, `replay` and `report` read the baselines and the learned model. */
  modelDir: z.string().min(1).default('models'),
  /** The detectors, each with its own settings; all four by default. */
  detectors: z.array(detectorSpec).min(1).prefault([{ type: 'bulk-delete' }, { type: 'bulk-read' }, { type: 'context' }, { type: 'model' }]),
  /** Per-partition detection state for running several instances in one consumer group (docs/design/delivery-and-state.md). */
  state: z
    .strictObject({
      /**
       * Split detection state by input partition and changelog it to `<groupId>-state-changelog` (compacted), so a
       * partition's baselines, windows and open incidents move with it on a rebalance or restart. Off: one state in
       * memory for every partition (a single instance only).
       */
      changelog: z.boolean().default(true),
      /** Local snapshots written on shutdown and rebalance, for a fast restart; none when absent. */
      dir: z.string().min(1).optional(),
      /** Partitions of the internal topics when auditwatch creates them; default: the largest input topic's. */
      partitions: z.number().int().min(1).max(10_000).optional(),
    })
    .prefault({}),
  /**
   * Processes `auditwatch run` starts on this machine. Each is a member of the consumer group with its share of the
   * partitions and its own thread for decode and detection, so a second core adds throughput; "auto" is one per
   * core. The primary process serves the metrics of them all. More than one needs `state.changelog`.
   */
  workers: z.union([z.number().int().min(1).max(64), z.literal('auto')], { error: 'expected a number of processes from 1 to 64, or "auto"' }).default(1),
  /**
   * Threads that decode a file of lines ahead of detection, in replay, backtest, report and train: parsing JSON is
   * most of a replay's work and independent per line, while detection takes the events in order on one thread
   * (which decodes too, when it would otherwise wait). "auto" is one fewer than the cores, at least one; 0 decodes
   * on the detection thread alone. A file that fits in one read (8 MiB) is decoded in place.
   */
  decodeThreads: z.union([z.number().int().min(0).max(64), z.literal('auto')], { error: 'expected a number of threads from 0 to 64, or "auto"' }).default('auto'),
  /** Input validation between decode and detection. */
  admission: z
    .strictObject({
      /** Events stamped further ahead of this machine's clock are dead-lettered. */
      maxFutureSkew: duration.default(900_000),
      /** Recent event ids remembered to drop redeliveries. */
      dedupeWindow: z.number().int().min(1).max(10_000_000).default(100_000),
    })
    .prefault({}),
  /** Change management: where change tickets are found in audit records, and the topic of approved changes. */
  changes: z
    .strictObject({
      /** The compacted topic of signed approvals (`auditwatch change approve`, `auditwatch changes`). */
      topic: z.string().min(1).default('auditwatch.changes'),
      /**
       * Where CloudTrail records carry a change ticket, tried in order (the first that yields one wins): the session's
       * source identity, the role session name, or a tag of the request (a session tag on AssumeRole, a resource tag on
       * create). The pattern's first group (or the whole match) is the ticket. Kubernetes annotations
       * (auditwatch.dev/change-ticket) and canonical events' changeTicket are read as they are.
       */
      tickets: z.array(ticketRule).default([]),
    })
    .prefault({}),
  /** Alerts matching one of these are not raised (and cannot freeze) until the suppression expires. */
  suppressions: z.array(suppression).default([]),
/** Incidents and where their alerts go. */
  alerts: z
    .strictObject({
      /** An incident with no anomalous event for this long (event time) is over; the next one gets a new id. */
      incidentGap: duration.default(600_000),
      /** An ongoing incident re-publishes its alert at most this often (event time), or when severity rises. */
      updateEvery: duration.default(30_000),
      /**
       * Where alerts go; every revision of every incident goes to each. kafka and ndjson are written inline; the
       * outputs (webhook, alertmanager, slack, pagerduty, syslog) read the alerts topic as their own consumer group, so a slow or dead endpoint
       * never holds detection back, and commit only after the endpoint accepted.
       */
      sinks: z.array(sinkSpec).default([{ type: 'kafka', topic: 'auditwatch.alerts', format: 'avro' }, { type: 'ndjson', path: '-', format: 'json' }]),
      /** Where outputs run: inside `run` (inline), or only in `auditwatch deliver` processes (separate). */
      delivery: z.enum(['inline', 'separate']).default('inline'),
    })
    .prefault({}),
/** Freeze policy, the control channel and its keys, and the actuators (docs/guides/freeze.md). */
  freeze: z
    .strictObject({
      /** Default mode for rules that do not set one. approval: a critical alert proposes, an operator confirms. */
      mode: freezeMode.default('dry-run'),
      /** Which findings may freeze, and how; the first rule that matches an alert decides. */
      rules: z.array(freezeRule).prefault([{}]),
      /** The only environments and resource types (globs) any freeze may ever touch, whatever the rules say. */
      allow: z
        .strictObject({
          /** Environments a freeze may touch. */
          environments: z.array(z.string().min(1)).default(['production']),
          /** Resource-type globs a freeze may touch. */
          resourceTypes: z.array(z.string().min(1)).default(['*']),
        })
        .prefault({}),
      /** Circuit breaker: past this many freezes in the window (event time), only alert, and say so. */
      cap: z
        .strictObject({
          /** Freezes allowed in the window; every reader enforces it in the control topic's order, across instances. */
          maxFreezes: z.number().int().min(1).default(3),
          /** The sliding window, in event time. */
          window: duration.default(3_600_000),
        })
        .prefault({}),
      /** The compacted, one-partition topic of signed freeze, lift and expiry records that every gate follows. */
      controlTopic: z.string().min(1).default('auditwatch.control'),
      /**
       * The key this process signs control records with (freezes, expiries; an operator's lifts and approvals). The
       * private key comes from a PEM file or an environment variable, never from this file. Required to enforce.
       */
      signing: z
        .strictObject({
          /** The key id written into each record; readers look the public key up by it. */
          keyId: z.string().min(1),
          /** A PEM (PKCS#8) Ed25519 private key file (`auditwatch keys generate` writes one). */
          privateKeyFile: z.string().min(1).optional(),
          /** Or the environment variable that holds the PEM. */
          privateKeyEnv: z.string().min(1).optional(),
        })
        .refine((s) => (s.privateKeyFile === undefined) !== (s.privateKeyEnv === undefined), { message: 'give exactly one of privateKeyFile or privateKeyEnv' })
        .optional(),
      /**
       * Kafka principals meant to write the control topic (e.g. User:auditwatch, User:oncall): at start, run warns
       * naming any other principal the cluster's ACLs let write it.
       */
      controlWriters: z.array(z.string().regex(/^[A-Za-z]+:.+$/, 'expected a Kafka principal such as User:auditwatch')).default([]),
      /** Ed25519 public keys (PEM, inline or in a file) whose control records are accepted, by key id. */
      trustedKeys: z
        .array(
          z.strictObject({
            /** The key id records signed with this key carry. */
            keyId: z.string().min(1),
            /** The PEM public key itself. */
            publicKey: z.string().min(1).optional(),
            /** Or the file that holds it. */
            publicKeyFile: z.string().min(1).optional(),
          }).refine((k) => (k.publicKey === undefined) !== (k.publicKeyFile === undefined), { message: 'give exactly one of publicKey or publicKeyFile' }),
        )
        .default([]),
      /** Every freeze, unfreeze, proposal, refusal and expiry, automatic or manual, as an audit event. */
      auditTopic: z.string().min(1).default('auditwatch.freeze-audit'),
      /** What makes a freeze bind beyond the write gates; driven from the control topic by `run`. */
      actuators: z.array(actuatorSpec).default([]),
    })
    .prefault({}),
  /** `auditwatch admission`: the Kubernetes validating webhook that enforces freezes on the API server. */
  admissionWebhook: z
    .strictObject({
      /** In a pod the API server reaches it on the pod address; TLS only. */
      host: z.string().min(1).default('0.0.0.0'),
      /** The webhook's TLS port. */
      port: z.number().int().min(0).max(65535).default(8443),
      /** PEM certificate (chain) and key the API server trusts (the caBundle of the ValidatingWebhookConfiguration). */
      certFile: z.string().min(1).optional(),
      /** Its private key (PEM). */
      keyFile: z.string().min(1).optional(),
    })
    .prefault({}),
/** The Prometheus and health endpoints of `run`. */
  metrics: z
    .strictObject({
      /** Serve /metrics, /healthz and /readyz. */
      enabled: z.boolean().default(true),
      /** The address to serve them on; 0.0.0.0 to reach them from outside the host or container. */
      host: z.string().min(1).default('127.0.0.1'),
      /** Their port. */
      port: z.number().int().min(0).max(65535).default(9464),
    })
    .prefault({}),
  /** `auditwatch console`: a local web console of alerts, freezes and proposals, with approve and lift. */
  console: z
    .strictObject({
      /** Where it listens. Anything but loopback (127.0.0.1, ::1, localhost) needs `auth`. */
      host: z.string().min(1).default('127.0.0.1'),
      /** Its port. */
      port: z.number().int().min(1).max(65535).default(8470),
      /** Who approves and lifts from this console, named in every signed record and audit entry; default $AUDITWATCH_OPERATOR, else the user name. Signed with freeze.signing. */
      operator: z.string().min(1).optional(),
      /** HTTP basic authentication, the credentials from environment variables; required on a non-loopback host. */
      auth: z.strictObject({
        /** The variable holding the user name. */
        usernameEnv: z.string().min(1),
        /** The variable holding the password. */
        passwordEnv: z.string().min(1),
      }).optional(),
      /** The audit-event topic a report link replays; default: the first source's first topic. */
      reportTopic: z.string().min(1).optional(),
    })
    .prefault({}),
  /**
   * A schema registry (the Confluent API: Confluent, Apicurio's /apis/ccompat/v7, Karapace, Redpanda). With it,
   * Confluent-framed canonical Avro input is read with the writer schema its id names, and the Avro alerts topic is
   * written in the Confluent wire format with its schema registered under `<topic>-value`. Without it, the schema id
   * is ignored and the alerts topic is raw Avro.
   */
  schemaRegistry: z.strictObject({
    /** The registry's base URL. */
    url: httpUrl,
    /** Credentials from environment variables: usernameEnv and passwordEnv (basic), or tokenEnv (bearer). */
    auth: z.strictObject({
      /** The variable holding the user name (basic auth). */
      usernameEnv: z.string().min(1).optional(),
      /** The variable holding the password (basic auth). */
      passwordEnv: z.string().min(1).optional(),
      /** The variable holding a bearer token. */
      tokenEnv: z.string().min(1).optional(),
    }).refine((a) => (a.tokenEnv ? !a.usernameEnv && !a.passwordEnv : !!a.usernameEnv && !!a.passwordEnv), { message: 'either usernameEnv and passwordEnv, or tokenEnv' }).optional(),
    /** Per request. */
    timeout: duration.default(5_000),
  }).optional(),
  /** Logging. */
  log: z
    .strictObject({
      /** Logs are JSON lines on stderr (stdout stays for NDJSON alerts). */
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'),
    })
    .prefault({}),
}).superRefine((c, ctx) => {
  if ((c.workers === 'auto' || c.workers > 1) && !c.state.changelog) {
    ctx.addIssue({ code: 'custom', path: ['workers'], message: 'more than one worker splits the partitions between processes, which needs state.changelog: true' });
  }
  const outputs = c.alerts.sinks.map((s, i) => [s, i] as const).filter(([s]) => (OUTPUT_TYPES as readonly string[]).includes(s.type));
  if (outputs.length && !c.alerts.sinks.some((s) => s.type === 'kafka' && s.format === 'avro')) {
    ctx.addIssue({ code: 'custom', path: ['alerts', 'sinks', outputs[0]![1], 'type'], message: `${outputs[0]![0].type} is delivered from the alerts topic: add a sink of type kafka with format avro` });
  }
  const names = outputs.map(([s]) => (s as { name?: string }).name ?? s.type);
  names.forEach((n, k) => {
    if (names.indexOf(n) !== k) ctx.addIssue({ code: 'custom', path: ['alerts', 'sinks', outputs[k]![1], 'name'], message: `output name ${n} is used twice: give each output its own name` });
  });
  const enforces = c.freeze.mode === 'enforce' || c.freeze.rules.some((r) => r.mode === 'enforce');
  if (enforces && !c.freeze.signing) {
    ctx.addIssue({ code: 'custom', path: ['freeze', 'signing'], message: 'a rule enforces freezes, which are signed: set keyId and privateKeyFile or privateKeyEnv' });
  }
  if (c.freeze.signing && !c.freeze.trustedKeys.some((k) => k.keyId === c.freeze.signing!.keyId)) {
    ctx.addIssue({ code: 'custom', path: ['freeze', 'trustedKeys'], message: `must include the signing key ${c.freeze.signing.keyId}, or this instance refuses its own freezes` });
  }
  const ids = c.freeze.trustedKeys.map((k) => k.keyId);
  const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (twice.length) ctx.addIssue({ code: 'custom', path: ['freeze', 'trustedKeys'], message: `key id ${twice[0]} is listed twice` });
});

export type Config = z.infer<typeof configSchema>;
export type SourceSpec = z.infer<typeof sourceSpec>;
export type SinkSpec = z.infer<typeof sinkSpec>;
export type DetectorSpec = z.infer<typeof detectorSpec>;
export type BulkDeleteSpec = z.infer<typeof bulkDeleteDetectorSpec>;
export type BulkReadSpec = z.infer<typeof bulkReadDetectorSpec>;
export type TicketRule = z.infer<typeof ticketRule>;
export type ContextSpec = z.infer<typeof contextDetectorSpec>;
export type ModelSpec = z.infer<typeof modelDetectorSpec>;
export type FreezeRule = z.infer<typeof freezeRule>;
export type FreezeMode = z.infer<typeof freezeMode>;
export type ActuatorSpec = z.infer<typeof actuatorSpec>;
export type PostgresActuatorSpec = z.infer<typeof postgresActuatorSpec>;
export type WebhookActuatorSpec = z.infer<typeof webhookActuatorSpec>;
export type AwsIamActuatorSpec = z.infer<typeof awsIamActuatorSpec>;
export type ThresholdOverride = z.infer<typeof thresholdOverride>;
export type Suppression = z.infer<typeof suppression>;
export type InputFormat = z.infer<typeof format>;
export const INPUT_FORMATS = format.options;
