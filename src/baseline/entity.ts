import type { AuditEvent } from '../events/audit-event.js';
import { OVERWRITE } from './overwrites.js';

/** Principals whose keys are kept at most (a flood of new principals starts the table over). */
const MAX_KEYED_PRINCIPALS = 100_000;
let keys = new Map<string, Map<string, Map<string, string>>>();

/**
 * The unit baselines are learned for: who, where, on what kind of thing. The same key string comes back for the same
 * three parts: several detectors look up every event's entity (and its aggregates) in their maps, and a string a map
 * has hashed once is not hashed again, nor built again. Environments and resource types come from small tables,
 * so only the principal is hashed per event.
 */
export function entityKey(principal: string, environment: string, resourceType: string): string {
  let byEnvironment = keys.get(principal);
  if (!byEnvironment) {
    if (keys.size >= MAX_KEYED_PRINCIPALS) keys = new Map();
    keys.set(principal, (byEnvironment = new Map()));
  }
  let byType = byEnvironment.get(environment);
  if (!byType) byEnvironment.set(environment, (byType = new Map()));
  let key = byType.get(resourceType);
  if (key === undefined) byType.set(resourceType, (key = `${principal}\u0001${environment}\u0001${resourceType}`));
  return key;
}

let lastEvent: AuditEvent | undefined;
let lastKey = '';

/**
 * The features, the volume detector and the context detector each ask for the key of the same event, one after
 * another: the last key is kept, so that the string is built (and hashed by the maps it is looked up in) once.
 * Events are not changed after decoding, so the event itself identifies its key.
 */
export function entityKeyOf(e: AuditEvent): string {
  if (e !== lastEvent) {
    lastKey = entityKey(e.principal.id, e.environment, e.resource.type);
    lastEvent = e;
  }
  return lastKey;
}

export function splitEntityKey(key: string): { principal: string; environment: string; resourceType: string } {
  const [principal = '', environment = '', resourceType = ''] = key.split('\u0001');
  return { principal, environment, resourceType };
}

/**
 * Calls that switch off what would let anyone notice or undo a destruction. The qualified names come from the
 * CloudTrail decoder, which reads the request parameters of calls that only sometimes disable a protection.
 */
const PROTECTION_OFF: ReadonlySet<string> = new Set([
  'StopLogging', 'DeleteTrail', 'DeleteFlowLogs', 'DeleteDetector', 'DisableSecurityHub', 'StopConfigurationRecorder',
  'DeleteConfigurationRecorder', 'DisableKey', 'ScheduleKeyDeletion', 'LeaveOrganization', 'DeleteBackupVault',
  'PutBucketVersioning:Suspended', 'ModifyDBInstance:DeletionProtectionOff', 'ModifyDBCluster:DeletionProtectionOff',
  'ModifyInstanceAttribute:TerminationProtectionOff', 'ModifyLoadBalancerAttributes:DeletionProtectionOff', 'UpdateTable:DeletionProtectionOff',
  // Retention removed, so that the provider deletes: expiring lifecycle rules, object lock bypassed, backups off.
  'PutBucketLifecycle:Expiration', 'PutBucketLifecycleConfiguration:Expiration', 'PutObjectRetention:BypassGovernance',
  'DeleteObjects:BypassGovernance', 'ModifyDBInstance:BackupRetentionZero', 'ModifyDBCluster:BackupRetentionZero',
  'UpdateContinuousBackups:PITROff',
]);

/**
 * Writes under a key the data's owner does not hold (the `:SSE-C` and `:ForeignKMS` qualifiers of DESTRUCTIVE_WRITES):
 * a protection gone on a principal's first use of one, whatever its history of deletes (the volume detector counts
 * them as destruction too).
 */
export const FOREIGN_KEY = /:(SSE-C|ForeignKMS)$/;

/** Whether a call switches a protection off (PROTECTION_OFF; the context detector flags it, training learns who does it). */
export function isProtectionOff(action: string): boolean {
  return PROTECTION_OFF.has(action);
}

/** In an aggregate entity's key, stands for every principal or every resource type (see aggregateKeys). */
export const ANY = '*';

/**
 * Writes that destroy data without a Delete call, as the CloudTrail decoder qualifies them from the request: an
 * object rewritten under a customer-provided key (SSE-C) or another account's KMS key, which its owner can no longer
 * read (the 2025 ransomware campaign against S3), and overwrites in place: an object copied onto itself, or written
 * back by the principal that had just read it (see ReadThenWrite).
 */
export const DESTRUCTIVE_WRITES: ReadonlySet<string> = new Set([
  'PutObject:SSE-C', 'CopyObject:SSE-C', 'UploadPartCopy:SSE-C', 'CreateMultipartUpload:SSE-C',
  'PutObject:ForeignKMS', 'CopyObject:ForeignKMS', 'CreateMultipartUpload:ForeignKMS', 'CopyObject:InPlace', OVERWRITE,
]);

/**
 * Destructive volume: deletes, and writes that destroy (DESTRUCTIVE_WRITES), counted by the objects the call
 * addressed. Only calls that succeeded count: a denied delete deleted nothing.
 */
export function destructiveObjects(e: AuditEvent): number {
  if (e.outcome !== 'success') return 0;
  if (e.verb === 'delete') return e.objectCount;
  // Reads are most of the stream: they leave before the set is looked at.
  return e.verb !== 'read' && DESTRUCTIVE_WRITES.has(e.action) ? e.objectCount : 0;
}

/**
 * Calls that hand over the data itself, not metadata about it: what a bulk download (exfiltration) is made of. S3
 * objects, DynamoDB items, secrets and parameters; Kubernetes secrets read by get or list (a list returns every value).
 */
export const DATA_READS: ReadonlySet<string> = new Set([
  'GetObject', 'SelectObjectContent', 'GetItem', 'BatchGetItem', 'Query', 'Scan', 'ExportTableToPointInTime',
  'GetSecretValue', 'BatchGetSecretValue', 'GetParameter', 'GetParameters', 'GetParametersByPath',
  'storage.objects.get', 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read',
]);

/** Data-read volume of one event: the objects a successful data read returned, else 0. */
export function dataReadObjects(e: AuditEvent): number {
  if (e.verb !== 'read' || e.outcome !== 'success') return 0;
  if (DATA_READS.has(e.action)) return e.objectCount;
  return e.resource.type === 'k8s:secrets' ? e.objectCount : 0;
}

/** Bytes a successful data read returned, where its record says; else 0. */
export function dataReadBytes(e: AuditEvent): number {
  return e.bytesOut === undefined || dataReadObjects(e) === 0 ? 0 : e.bytesOut;
}

/**
 * The aggregate entities a destructive event also counts towards, so that destruction spread thin is seen whole: its
 * principal across every resource type in the environment (objects weighed by criticality, so a database counts for
 * more than a cache entry), and its resource type in the environment across every principal.
 */
export function aggregateKeys(e: AuditEvent): [acrossTypes: string, acrossPrincipals: string] {
  return [entityKey(e.principal.id, e.environment, ANY), entityKey(ANY, e.environment, e.resource.type)];
}

/** Objects × weight as a whole count (windows count in integers); anything destroyed counts at least 1. */
export function weighted(objects: number, weight: number): number {
  return Math.max(1, Math.ceil(objects * weight));
}
