import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';

// kafkajs is CommonJS: Node's ESM loader finds its classes by name, but not these enums.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

/** A principal the cluster lets write the control topic, and through which ACL resource it may. */
export interface ControlWriter {
  principal: string;
  host: string;
  /** The ACL's resource: the topic itself, a prefix, or the wildcard. */
  via: string;
}

export type ControlAcls =
  | { authorizer: false }
  | { authorizer: true; writers: ControlWriter[] }
  | { authorizer: 'unknown'; reason: string };

const WRITE_OPS = new Set([AclOperationTypes.WRITE, AclOperationTypes.ALL]);
const PATTERN = { [ResourcePatternTypes.LITERAL]: 'literal', [ResourcePatternTypes.PREFIXED]: 'prefixed' } as Record<number, string>;

/**
 * Who may write the control topic, from the cluster's ACLs (literal, prefixed and wildcard resources; a DENY for the
 * same principal and host, or any host, takes an ALLOW away). Without an authorizer every client may.
 */
export async function controlTopicWriters(admin: Admin, topic: string): Promise<ControlAcls> {
  let resources;
  try {
    ({ resources } = await admin.describeAcls({
      resourceType: AclResourceTypes.TOPIC, resourceName: topic, resourcePatternType: ResourcePatternTypes.MATCH,
      operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY,
    }));
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'SECURITY_DISABLED') return { authorizer: false };
    return { authorizer: 'unknown', reason: type ?? (err as Error).message };
  }
  const allows: ControlWriter[] = [];
  const denies: Array<{ principal: string; host: string }> = [];
  for (const r of resources) {
    const via = r.resourceName === '*' ? 'topic *' : `topic ${r.resourceName} (${PATTERN[r.resourcePatternType] ?? 'pattern'})`;
    for (const acl of r.acls) {
      if (!WRITE_OPS.has(acl.operation)) continue;
      if (acl.permissionType === AclPermissionTypes.ALLOW) allows.push({ principal: acl.principal, host: acl.host, via });
      else if (acl.permissionType === AclPermissionTypes.DENY) denies.push({ principal: acl.principal, host: acl.host });
    }
  }
  const denied = (w: ControlWriter) => denies.some((d) => (d.principal === w.principal || d.principal === 'User:*') && (d.host === '*' || d.host === w.host));
  return { authorizer: true, writers: allows.filter((w) => !denied(w)) };
}

/**
 * At start: says when principals other than `freeze.controlWriters` may write the control topic (signatures still
 * protect every freeze, but a writer can flood the topic with refused records), when the cluster has no authorizer,
 * and when the topic has more than one partition (readers would not agree on one order of records).
 */
export async function checkControlTopic(kafka: Kafka, config: Config, log: Logger): Promise<ControlAcls> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topic = config.freeze.controlTopic;
    const meta = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
    const partitions = meta?.topics[0]?.partitions.length ?? 1;
    if (partitions > 1) log.error({ topic, partitions }, 'freeze.controlTopic has more than one partition: readers may order its records differently, and the freeze cap and sequences assume one order; recreate it with one partition');
    const acls = await controlTopicWriters(admin, topic);
    const allowed = new Set(config.freeze.controlWriters);
    if (acls.authorizer === false) {
      log.warn({ topic }, 'the cluster has no authorizer: any client that reaches it may write the control topic (signatures still decide what is frozen); see the ACLs in the deployment guide');
    } else if (acls.authorizer === 'unknown') {
      log.warn({ topic, reason: acls.reason }, 'cannot describe the control topic\'s ACLs (grant DESCRIBE on the cluster to check who may write it)');
    } else {
      const others = acls.writers.filter((w) => !allowed.has(w.principal));
      if (others.length) {
        log.warn({ topic, writers: others.map((w) => `${w.principal} from ${w.host} via ${w.via}`), configured: [...allowed] },
          `principals other than freeze.controlWriters may write the control topic: ${[...new Set(others.map((w) => w.principal))].join(', ')}`);
      }
    }
    return acls;
  } finally {
    await admin.disconnect();
  }
}
