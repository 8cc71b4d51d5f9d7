/** What a freeze covers: an environment, narrowed to one principal or one resource type. */
export interface FreezeScope {
  environment: string;
  principal?: string;
  resourceType?: string;
}

/** The value on the compacted control topic, keyed by `scopeKey`; a tombstone (null value) lifts the freeze. */
export interface FreezeCommand {
  scopeKey: string;
  scope: FreezeScope;
  alertId: string;
  reason: string;
  /** Event time of the detection. With `expiresAt` it is derived from events, so a replay issues the same bytes. */
  createdAt: number;
  expiresAt: number;
  issuedBy: string;
}

export function scopeKey(scope: FreezeScope): string {
  const parts = [`environment=${scope.environment}`];
  if (scope.principal !== undefined) parts.push(`principal=${scope.principal}`);
  if (scope.resourceType !== undefined) parts.push(`resourceType=${scope.resourceType}`);
  return parts.join(';');
}

/** The scope keys that would freeze a write by this principal on this resource type. */
export function scopeKeysFor(environment: string, principal: string, resourceType: string): string[] {
  return [
    scopeKey({ environment }),
    scopeKey({ environment, principal }),
    scopeKey({ environment, resourceType }),
    scopeKey({ environment, principal, resourceType }),
  ];
}

/** One freeze, however often it is seen: its scope, its alert and when it was decided. */
export function freezeId(c: FreezeCommand): string {
  return `${c.scopeKey}@${c.alertId}@${c.createdAt}`;
}
