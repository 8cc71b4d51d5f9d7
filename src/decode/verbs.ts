import type { Verb } from '../events/audit-event.js';
import { memo } from '../util/memo.js';

// Order matters: the first matching prefix decides (e.g. "DeleteBucketPolicy" is a delete of a policy object).
const CLOUDTRAIL_PREFIXES: ReadonlyArray<readonly [string, Verb]> = [
  ['Delete', 'delete'], ['Terminate', 'delete'], ['Remove', 'delete'], ['Destroy', 'delete'], ['Purge', 'delete'],
  ['Deregister', 'delete'], ['Release', 'delete'], ['Revoke', 'delete'], ['Detach', 'delete'], ['Disassociate', 'delete'],
  ['Cancel', 'delete'], ['Drop', 'delete'], ['Empty', 'delete'],
  ['Get', 'read'], ['List', 'read'], ['Describe', 'read'], ['Head', 'read'], ['Lookup', 'read'], ['Search', 'read'],
  ['Scan', 'read'], ['Query', 'read'], ['Select', 'read'], ['BatchGet', 'read'], ['Download', 'read'], ['Filter', 'read'],
  ['Create', 'create'], ['Run', 'create'], ['Launch', 'create'], ['Allocate', 'create'], ['Register', 'create'],
  ['Import', 'create'], ['Copy', 'create'], ['Upload', 'create'], ['Issue', 'create'], ['Request', 'create'],
  ['Put', 'update'], ['Update', 'update'], ['Modify', 'update'], ['Set', 'update'], ['Attach', 'update'],
  ['Associate', 'update'], ['Add', 'update'], ['Enable', 'update'], ['Disable', 'update'], ['Stop', 'update'],
  ['Start', 'update'], ['Reboot', 'update'], ['Restore', 'update'], ['Change', 'update'], ['Replace', 'update'],
  ['Tag', 'update'], ['Untag', 'update'], ['Authorize', 'update'], ['Apply', 'update'], ['Reset', 'update'],
  ['Suspend', 'update'], ['Leave', 'delete'],
];

/** The action-name prefixes of every verb that changes state: what a deny policy for writes names (Delete*, Put*...). */
export const CLOUDTRAIL_WRITE_PREFIXES: readonly string[] = CLOUDTRAIL_PREFIXES.filter(([, verb]) => verb !== 'read').map(([prefix]) => prefix);

function splitEventName(eventName: string): { verb: Verb; noun: string } {
  for (const [prefix, verb] of CLOUDTRAIL_PREFIXES) {
    if (eventName.startsWith(prefix) && (eventName.length === prefix.length || /[A-Z]/.test(eventName[prefix.length]!))) {
      return { verb, noun: eventName.slice(prefix.length) };
    }
  }
  return { verb: 'other', noun: eventName };
}

const K8S_VERBS: Record<string, Verb> = {
  get: 'read', list: 'read', watch: 'read',
  create: 'create',
  update: 'update', patch: 'update',
  delete: 'delete', deletecollection: 'delete',
};

export function kubernetesVerb(verb: string): Verb {
  return K8S_VERBS[verb] ?? 'other';
}

/** CloudTrail eventName → verb, and the noun that remains (DeleteLoadBalancer → delete, LoadBalancer). */
export const cloudTrailVerb = memo(splitEventName);
