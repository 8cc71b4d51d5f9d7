import { cloudTrailRecords, isCloudWatchLogsPayload, isEventBridgeEnvelope, parseDocument } from './envelopes.js';
import { DecodeError } from '../errors.js';
import type { AuditEvent, PrincipalKind } from '../events/audit-event.js';
import type { DecodeContext, DecodeResult, TicketSources } from './context.js';
import { isObject, optionalString, parseTime, requireString, type JsonObject } from './json.js';
import { memo2 } from '../util/memo.js';
import { cloudTrailVerb } from './verbs.js';

/** Keys in requestParameters that name the resource acted on, most specific first. */
const RESOURCE_ID_KEYS = [
  'loadBalancerArn', 'loadBalancerName', 'targetGroupArn', 'listenerArn', 'instanceId', 'bucketName', 'key',
  'dBInstanceIdentifier', 'dBClusterIdentifier', 'dBSnapshotIdentifier', 'dBClusterSnapshotIdentifier', 'tableName',
  'functionName', 'trailName', 'name', 'roleName', 'userName', 'policyArn', 'groupId', 'vpcId', 'subnetId',
  'snapshotId', 'volumeId', 'imageId', 'keyId', 'secretId', 'clusterName', 'flowLogIds', 'accessKeyId', 'detectorId',
  'logGroupName', 'stackName', 'queueUrl', 'topicArn', 'repositoryName', 'domainName', 'resourceArn',
];

export function singular(noun: string): string {
  if (/ies$/.test(noun)) return `${noun.slice(0, -3)}y`;
  if (/(ss|x|ch|sh)es$/.test(noun)) return noun.slice(0, -2);
  if (/[^su]s$/.test(noun)) return noun.slice(0, -1);
  return noun;
}

/** Where each key stands in RESOURCE_ID_KEYS: a request's own few keys are looked up, not the list walked. */
const RESOURCE_ID_RANK = new Map(RESOURCE_ID_KEYS.map((k, i) => [k, i]));
const RESOURCE_SET_KEYS = ['instancesSet', 'resourcesSet'] as const;

/** Event source and noun → resource type: a few hundred pairs repeat across millions of events. */
const resourceType = memo2((eventSource: string, noun: string): string => {
  const service = eventSource.replace(/\.amazonaws\.com$/, '');
  return `${service}:${singular(noun || 'unknown').toLowerCase()}`;
});

function firstScalar(v: unknown): string | undefined {
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  if (Array.isArray(v)) return firstScalar(v[0]);
  if (isObject(v)) {
    if (Array.isArray(v.items)) return firstScalar(v.items[0]);
    for (const inner of Object.values(v)) {
      const s = firstScalar(inner);
      if (s !== undefined) return s;
    }
  }
  return undefined;
}

function findResourceId(record: JsonObject, params: JsonObject | undefined): string {
  // An S3 object is its bucket and key: what a responder restores, and what an overwrite in place is matched on.
  if (typeof params?.bucketName === 'string' && typeof params.key === 'string') return `${params.bucketName}/${params.key}`;
  if (params) {
    // The most specific of the keys present: the lowest rank among the request's own keys.
    let best: string | undefined;
    let bestRank = RESOURCE_ID_KEYS.length;
    for (const key in params) {
      const rank = RESOURCE_ID_RANK.get(key);
      if (rank !== undefined && rank < bestRank) {
        best = key;
        bestRank = rank;
      }
    }
    if (best !== undefined) return firstScalar(params[best]) ?? '';
    for (const key of RESOURCE_SET_KEYS) if (key in params) return firstScalar(params[key]) ?? '';
  }
  const resources = record.resources;
  if (Array.isArray(resources) && isObject(resources[0])) return optionalString(resources[0].ARN) ?? '';
  return '';
}

/** The largest list of items in the request: TerminateInstances with 60 ids → 60; a plain call → 1. */
export function countObjects(params: unknown, depth = 0): number {
  if (depth > 4) return 0;
  if (Array.isArray(params)) return params.length;
  if (!isObject(params)) return 0;
  let best = 0;
  for (const v of Object.values(params)) best = Math.max(best, countObjects(v, depth + 1));
  return best;
}

function principalOf(identity: JsonObject | undefined, userAgent: string | undefined, ctx: DecodeContext): AuditEvent['principal'] {
  if (!identity) return { id: 'unknown', kind: 'unknown' };
  const type = optionalString(identity.type);
  const arn = optionalString(identity.arn);
  switch (type) {
    case 'Root':
      return { id: arn ?? `root:${optionalString(identity.accountId) ?? 'unknown'}`, kind: 'human' };
    case 'IAMUser': {
      const name = optionalString(identity.userName) ?? arn ?? 'unknown';
      return { id: arn ?? name, kind: ctx.classifyPrincipalName(name) ?? 'human' };
    }
    case 'AssumedRole': {
      const issuer = isObject(identity.sessionContext) && isObject(identity.sessionContext.sessionIssuer)
        ? identity.sessionContext.sessionIssuer : undefined;
      const roleName = optionalString(issuer?.userName) ?? '';
      const byName: PrincipalKind | undefined = ctx.classifyPrincipalName(roleName);
      const viaConsole = userAgent !== undefined && (userAgent.includes('console.amazonaws.com') || userAgent.includes('signin.amazonaws.com'));
      const kind: PrincipalKind = byName ?? (viaConsole ? 'human' : 'service');
      // A human's sessions keep the person (session name) in the id; a service's are all one principal, the role.
      const id = kind === 'human' ? arn ?? roleName : optionalString(issuer?.arn) ?? arn ?? roleName;
      return { id: id || 'unknown', kind };
    }
    case 'AWSService':
      return { id: optionalString(identity.invokedBy) ?? 'aws-service', kind: 'service' };
    case 'FederatedUser':
      return { id: arn ?? optionalString(identity.principalId) ?? 'unknown', kind: 'human' };
    default:
      return { id: arn ?? optionalString(identity.principalId) ?? optionalString(identity.accountId) ?? 'unknown', kind: 'unknown' };
  }
}

function qualified(eventName: string, params: JsonObject | undefined, extra: JsonObject | undefined, account: string | undefined): string {
  const q = protectionQualifier(eventName, params) ?? objectWriteQualifier(eventName, params, extra, account);
  return q ? `${eventName}:${q}` : eventName;
}

const OBJECT_WRITES = new Set(['PutObject', 'CopyObject', 'UploadPartCopy', 'CreateMultipartUpload']);
const KMS_ACCOUNT = /^arn:aws[\w-]*:kms:[^:]*:(\d{12}):/;

/**
 * S3 writes that destroy what they overwrite, for their owner (src/baseline/entity.ts, DESTRUCTIVE_WRITES):
 * - `SSE-C`: encrypted with a key the caller supplies and AWS does not keep (the request's
 *   x-amz-server-side-encryption-customer-algorithm, or additionalEventData.SSEApplied SSE_C);
 * - `ForeignKMS`: encrypted under a KMS key of another account than the bucket's;
 * - `InPlace`: CopyObject whose source is its own destination, an overwrite in place.
 * A PutObject onto an existing key cannot be told from CloudTrail (the record does not say the key existed).
 */
function objectWriteQualifier(eventName: string, params: JsonObject | undefined, extra: JsonObject | undefined, account: string | undefined): string | undefined {
  if (!params || !OBJECT_WRITES.has(eventName)) return undefined;
  if (params['x-amz-server-side-encryption-customer-algorithm'] !== undefined || extra?.SSEApplied === 'SSE_C') return 'SSE-C';
  const kmsKey = optionalString(params['x-amz-server-side-encryption-aws-kms-key-id']);
  const keyAccount = kmsKey ? KMS_ACCOUNT.exec(kmsKey)?.[1] : undefined;
  if (keyAccount && account && keyAccount !== account) return 'ForeignKMS';
  if (eventName === 'CopyObject') {
    const source = optionalString(params['x-amz-copy-source']);
    const bucket = optionalString(params.bucketName);
    const key = optionalString(params.key);
    if (source && bucket && key && copySource(source) === `${bucket}/${key}`) return 'InPlace';
  }
  return undefined;
}

/** x-amz-copy-source as bucket/key: URL-decoded, without a leading slash or a ?versionId. */
function copySource(source: string): string {
  const path = source.replace(/^\//, '').split('?')[0]!;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Rules of a lifecycle configuration, one or a list as CloudTrail renders the XML. */
function lifecycleRules(params: JsonObject): JsonObject[] {
  const conf = isObject(params.LifecycleConfiguration) ? params.LifecycleConfiguration : undefined;
  const rules = conf?.Rule ?? conf?.Rules;
  return (Array.isArray(rules) ? rules : [rules]).filter(isObject);
}

/**
 * Calls that switch a protection off only with certain parameters (versioning suspended, deletion protection
 * turned off). The canonical event carries no parameters, so the action is qualified with what the call did:
 * `PutBucketVersioning:Suspended`. Detectors match the qualified names; the rest of an action stays as it came.
 */
function protectionQualifier(eventName: string, params: JsonObject | undefined): string | undefined {
  if (!params) return undefined;
  switch (eventName) {
    case 'PutBucketVersioning': {
      const conf = isObject(params.VersioningConfiguration) ? params.VersioningConfiguration : undefined;
      return conf?.Status === 'Suspended' ? 'Suspended' : undefined;
    }
    case 'ModifyDBInstance':
    case 'ModifyDBCluster':
      if (params.deletionProtection === false) return 'DeletionProtectionOff';
      return params.backupRetentionPeriod === 0 ? 'BackupRetentionZero' : undefined;
    case 'ModifyInstanceAttribute': {
      const flag = isObject(params.disableApiTermination) ? params.disableApiTermination.value : undefined;
      return flag === false ? 'TerminationProtectionOff' : undefined;
    }
    case 'ModifyLoadBalancerAttributes': {
      const attrs = Array.isArray(params.attributes) ? params.attributes : [];
      return attrs.some((a) => isObject(a) && a.key === 'deletion_protection.enabled' && a.value === 'false') ? 'DeletionProtectionOff' : undefined;
    }
    case 'UpdateTable':
      return params.deletionProtectionEnabled === false ? 'DeletionProtectionOff' : undefined;
    // Retention removed, so that the provider deletes for you.
    case 'PutBucketLifecycle':
    case 'PutBucketLifecycleConfiguration':
      return lifecycleRules(params).some((r) => r.Status !== 'Disabled' && (r.Expiration !== undefined || r.NoncurrentVersionExpiration !== undefined))
        ? 'Expiration' : undefined;
    case 'PutObjectRetention':
    case 'DeleteObjects':
      return String(params['x-amz-bypass-governance-retention']) === 'true' ? 'BypassGovernance' : undefined;
    case 'UpdateContinuousBackups': {
      const pitr = isObject(params.pointInTimeRecoverySpecification) ? params.pointInTimeRecoverySpecification : undefined;
      return pitr?.pointInTimeRecoveryEnabled === false ? 'PITROff' : undefined;
    }
    default:
      return undefined;
  }
}

/** Where CloudTrail puts what an organisation may carry a change ticket in (see changes.tickets). */
function ticketSources(identity: JsonObject | undefined, params: JsonObject | undefined): TicketSources {
  const session = isObject(identity?.sessionContext) ? identity.sessionContext : undefined;
  const arn = optionalString(identity?.arn);
  return {
    sourceIdentity: optionalString(session?.sourceIdentity),
    roleSessionName: identity?.type === 'AssumedRole' && arn ? arn.slice(arn.lastIndexOf('/') + 1) : undefined,
    tag: (key) => (params ? tagValue(params, key, 0) : undefined),
  };
}

/** A tag's value anywhere in a request: lists of {key, value} (or Key/Value), as STS, EC2 and S3 requests write them. */
function tagValue(v: unknown, key: string, depth: number): string | undefined {
  if (depth > 5) return undefined;
  if (Array.isArray(v)) {
    for (const item of v) {
      const found = tagValue(item, key, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (!isObject(v)) return undefined;
  const k = v.key ?? v.Key;
  if (k === key) return optionalString(v.value ?? v.Value);
  for (const inner of Object.values(v)) {
    if (typeof inner !== 'object' || inner === null) continue;
    const found = tagValue(inner, key, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

export function cloudTrailRecordToEvent(record: unknown, ctx: DecodeContext): AuditEvent {
  if (!isObject(record)) throw new DecodeError('DECODE_BAD_FIELD', 'cloudtrail: record is not an object');
  const eventName = requireString(record, 'eventName', 'cloudtrail');
  const eventSource = requireString(record, 'eventSource', 'cloudtrail');
  const id = requireString(record, 'eventID', 'cloudtrail');
  const time = parseTime(requireString(record, 'eventTime', 'cloudtrail'), 'cloudtrail eventTime');
  const identity = isObject(record.userIdentity) ? record.userIdentity : undefined;
  const params = isObject(record.requestParameters) ? record.requestParameters : undefined;
  const { verb, noun } = cloudTrailVerb(eventName);
  const account = optionalString(record.recipientAccountId) ?? optionalString(identity?.accountId);
  const extra = isObject(record.additionalEventData) ? record.additionalEventData : undefined;
  const event: AuditEvent = {
    id,
    time,
    principal: principalOf(identity, optionalString(record.userAgent), ctx),
    action: qualified(eventName, params, extra, account),
    verb,
    resource: { type: resourceType(eventSource, noun), id: findResourceId(record, params) },
    environment: ctx.environmentForAccount(account),
    source: 'cloudtrail',
    outcome: record.errorCode ? 'failure' : 'success',
    changeTicket: ctx.ticketRules ? ctx.changeTicket(ticketSources(identity, params)) : null,
    // Only state changes are counted by object; walking a read's request would be work nobody uses.
    objectCount: verb === 'read' ? 1 : Math.max(1, countObjects(params)),
  };
  // S3 data events say how many bytes went out; bulk-read weighs a download by them. Other calls' responses are
  // metadata, but a read is a read: whatever it returned is kept, and bulk-read counts only data reads.
  const bytesOut = verb === 'read' ? extra?.bytesTransferredOut : undefined;
  if (typeof bytesOut === 'number' && Number.isSafeInteger(bytesOut) && bytesOut >= 0) event.bytesOut = bytesOut;
  return event;
}

/**
 * CloudTrail as it is delivered: one record, a log file {"Records":[...]}, a JSON array, one record per line,
 * EventBridge events (the record under `detail`, one or an array) and CloudWatch Logs subscription payloads (each
 * `logEvents[].message` one record), gzip'd or base64 of gzip'd as Firehose and Kinesis hand them on.
 */
export function decodeCloudTrail(value: Buffer, ctx: DecodeContext): DecodeResult {
  return cloudTrailFromDocument(parseDocument(value), ctx);
}

/** decodeCloudTrail of a document already parsed (format auto parses once to recognise it). */
export function cloudTrailFromDocument(doc: unknown, ctx: DecodeContext): DecodeResult {
  // One record per message, the usual case, without an array to wrap it in and map over.
  if (isObject(doc) && typeof doc.eventName === 'string') return { events: [cloudTrailRecordToEvent(doc, ctx)], ignored: 0 };
  const { records, ignored } = cloudTrailRecords(doc);
  return { events: records.map((r) => cloudTrailRecordToEvent(r, ctx)), ignored };
}

export function looksLikeCloudTrail(doc: unknown): boolean {
  if (Array.isArray(doc)) return doc.length > 0 && looksLikeCloudTrail(doc[0]);
  if (isCloudWatchLogsPayload(doc)) return true;
  if (isEventBridgeEnvelope(doc)) return /via CloudTrail$/.test(String(doc['detail-type']));
  return isObject(doc) && (Array.isArray(doc.Records) || (typeof doc.eventName === 'string' && typeof doc.eventSource === 'string'));
}
