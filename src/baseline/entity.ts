import type { AuditEvent } from '../events/audit-event.js';

/** The unit baselines are learned for: who, where, on what kind of thing. */
export function entityKey(principal: string, environment: string, resourceType: string): string {
  return `${principal}\u0001${environment}\u0001${resourceType}`;
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

/** Destructive volume counts only calls that succeeded: a denied delete deleted nothing. */
export function destructiveObjects(e: AuditEvent): number {
  return e.verb === 'delete' && e.outcome === 'success' ? e.objectCount : 0;
}
