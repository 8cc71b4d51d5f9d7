import type { AuditEvent } from '../events/audit-event.js';

/** The unit baselines are learned for: who, where, on what kind of thing. */
export function entityKey(principal: string, environment: string, resourceType: string): string {
  return `${principal}\u0001${environment}\u0001${resourceType}`;
}

export function entityKeyOf(e: AuditEvent): string {
  return entityKey(e.principal.id, e.environment, e.resource.type);
}

export function splitEntityKey(key: string): { principal: string; environment: string; resourceType: string } {
  const [principal = '', environment = '', resourceType = ''] = key.split('\u0001');
  return { principal, environment, resourceType };
}

/** Destructive volume counts only calls that succeeded: a denied delete deleted nothing. */
export function destructiveObjects(e: AuditEvent): number {
  return e.verb === 'delete' && e.outcome === 'success' ? e.objectCount : 0;
}
