import pg from 'pg';
import type { PostgresActuatorSpec } from '../config/schema.js';
import { AuditwatchError } from '../errors.js';
import type { Actuator, ApplyOutcome, RevertOutcome } from './actuator.js';
import type { FreezeCommand } from './freeze-command.js';

const WRITE_PRIVILEGES = ['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'];

/** One table privilege as PostgreSQL holds it, grantor included, so it can be restored exactly. */
export interface TableGrant {
  schema: string;
  table: string;
  privilege: string;
  grantable: boolean;
  grantor: string;
}

/** Every write privilege granted directly to `role` on tables, views and partitions, from the catalog ACLs. */
export const WRITE_GRANTS_SQL = `
  SELECT n.nspname AS schema, c.relname AS "table", a.privilege_type AS privilege, a.is_grantable AS grantable, g.rolname AS grantor
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN LATERAL aclexplode(c.relacl) a
  JOIN pg_roles r ON r.oid = a.grantee
  JOIN pg_roles g ON g.oid = a.grantor
  WHERE r.rolname = $1 AND a.privilege_type = ANY($2) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  ORDER BY 1, 2, 3, 5`;

/** A membership that lets the role write: it is revoked with the grants and restored exactly, grantor included. */
export interface RoleMembership {
  group: string;
  admin: boolean;
  grantor: string;
}

/**
 * The role's direct memberships through which it can write: those leading (however deep) to a role that holds a
 * write privilege on a table or owns one. Memberships that only lead to reads are left alone.
 */
export const WRITE_MEMBERSHIPS_SQL = `
  WITH RECURSIVE writers AS (
    SELECT a.grantee AS oid FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
    WHERE a.privilege_type = ANY($2) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
    UNION SELECT c.relowner FROM pg_class c WHERE c.relkind IN ('r', 'p', 'f')
  ), reach AS (
    SELECT m.roleid AS direct, m.roleid AS g FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = $1
    UNION
    SELECT reach.direct, m.roleid FROM reach JOIN pg_auth_members m ON m.member = reach.g
  )
  SELECT g.rolname AS "group", bool_or(m.admin_option) AS admin, min(gr.rolname) AS grantor
  FROM pg_auth_members m
  JOIN pg_roles r ON r.oid = m.member
  JOIN pg_roles g ON g.oid = m.roleid
  JOIN pg_roles gr ON gr.oid = m.grantor
  WHERE r.rolname = $1 AND m.roleid IN (SELECT direct FROM reach WHERE g IN (SELECT oid FROM writers))
  GROUP BY g.rolname
  ORDER BY 1`;

/** What a freeze took away, as recorded in auditwatch.frozen_roles.prior (a bare array: grants only, before memberships). */
interface PriorState {
  grants: TableGrant[];
  memberships: RoleMembership[];
}

function priorOf(stored: unknown): PriorState {
  if (Array.isArray(stored)) return { grants: stored as TableGrant[], memberships: [] };
  const p = stored as Partial<PriorState>;
  return { grants: p.grants ?? [], memberships: p.memberships ?? [] };
}

const STATE_DDL = `
  CREATE SCHEMA IF NOT EXISTS auditwatch;
  CREATE TABLE IF NOT EXISTS auditwatch.frozen_roles (
    role text PRIMARY KEY,
    holders text[] NOT NULL,           -- scope keys that hold the freeze; the role thaws when the last one lets go
    alert_id text NOT NULL,
    prior jsonb NOT NULL,              -- the write grants and memberships as they were, restored exactly on revert
    frozen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
  )`;

/**
 * Freezes a database role's writes: revokes its INSERT/UPDATE/DELETE/TRUNCATE grants and its memberships of roles
 * that can write (most applications write through a group role), recording both first with grantor and grant or
 * admin option, and ends its open sessions. Revert restores exactly those grants and memberships. The record lives
 * in the database itself (auditwatch.frozen_roles), so a restart, a second instance or a repeated command finds it:
 * a role is frozen once, and thawed only when the last scope holding it lets go.
 *
 * Not covered: tables it owns (an owner can always write; `check` refuses such roles, so the freeze is not silently
 * ineffective), and privileges granted to PUBLIC. A membership revoked takes the group's reads with it until revert.
 */
export class PostgresActuator implements Actuator {
  readonly name = 'postgres';
  private readonly pool: pg.Pool;
  private readonly mappings: Array<PostgresActuatorSpec['roles'][number] & { principalRe?: RegExp; typeRe?: RegExp }>;
  private stateReady: Promise<void> | undefined;

  /** `connectionUrl`: the value of the spec's `connectionEnv` (buildActuators reads it). */
  constructor(private readonly spec: PostgresActuatorSpec, connectionUrl: string) {
    this.pool = new pg.Pool({ connectionString: connectionUrl, max: 2, connectionTimeoutMillis: 5000 });
    this.pool.on('error', () => {}); // an idle client's error surfaces on the next query instead
    this.mappings = spec.roles.map((m) => ({
      ...m,
      principalRe: m.principal ? new RegExp(m.principal) : undefined,
      typeRe: m.resourceType ? new RegExp(m.resourceType) : undefined,
    }));
  }

  roleFor(c: FreezeCommand): string | undefined {
    const s = c.scope;
    return this.mappings.find((m) =>
      m.environment === s.environment &&
      (!m.principalRe || (s.principal !== undefined && m.principalRe.test(s.principal))) &&
      (!m.typeRe || (s.resourceType !== undefined && m.typeRe.test(s.resourceType))))?.role;
  }

  async check(): Promise<void> {
    const client = await this.pool.connect();
    try {
      const me = await client.query<{ rolsuper: boolean }>('SELECT rolsuper FROM pg_roles WHERE rolname = current_user');
      if (!me.rows[0]?.rolsuper) throw new AuditwatchError('ACTION_FAILED', 'actuator postgres: the connection must be a superuser to revoke and restore grants made by other roles');
      for (const { role } of this.mappings) {
        const r = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
        if (r.rowCount === 0) throw new AuditwatchError('ACTION_FAILED', `actuator postgres: role ${role} does not exist`);
        const owned = await client.query(`SELECT count(*)::int AS n FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = $1 AND c.relkind IN ('r','p')`, [role]);
        if (owned.rows[0].n > 0) throw new AuditwatchError('ACTION_FAILED', `actuator postgres: role ${role} owns ${owned.rows[0].n} tables; revoking grants cannot stop an owner from writing`);
      }
    } finally {
      client.release();
    }
  }

  /**
   * Creates the state schema once per instance. Instances that start together (two workers) would race: concurrent
   * CREATE SCHEMA IF NOT EXISTS can fail with a unique violation. So the DDL runs under a transaction lock, and a
   * failure is not kept: the next freeze tries again.
   */
  private ensureState(): Promise<void> {
    this.stateReady ??= this.locked('auditwatch:state-schema', (client) => client.query(STATE_DDL)).then(() => undefined, (err: unknown) => {
      this.stateReady = undefined;
      throw err;
    });
    return this.stateReady;
  }

  /** Serialises freezes of one role across instances: the second one sees the first one's record. */
  private async inTransaction<T>(role: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.ensureState();
    return this.locked(`auditwatch:${role}`, fn);
  }

  /** `fn` in a transaction that holds the advisory lock named `key` until it ends. */
  private async locked<T>(key: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [key]);
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  private static membershipSql(client: pg.PoolClient, verb: 'GRANT' | 'REVOKE', m: RoleMembership, role: string): string[] {
    const group = client.escapeIdentifier(m.group);
    const stmt = verb === 'GRANT'
      ? `GRANT ${group} TO ${client.escapeIdentifier(role)}${m.admin ? ' WITH ADMIN OPTION' : ''}`
      : `REVOKE ${group} FROM ${client.escapeIdentifier(role)}`;
    // As the original grantor, for the same reason as table privileges: the membership comes back as it was.
    return [`SET LOCAL ROLE ${client.escapeIdentifier(m.grantor)}`, stmt, 'RESET ROLE'];
  }

  private static privilegeSql(client: pg.PoolClient, verb: 'GRANT' | 'REVOKE', g: TableGrant, role: string): string[] {
    const target = `${client.escapeIdentifier(g.schema)}.${client.escapeIdentifier(g.table)}`;
    const stmt = verb === 'GRANT'
      ? `GRANT ${g.privilege} ON TABLE ${target} TO ${client.escapeIdentifier(role)}${g.grantable ? ' WITH GRANT OPTION' : ''}`
      : `REVOKE ${g.privilege} ON TABLE ${target} FROM ${client.escapeIdentifier(role)}`;
    // Acting as the original grantor keeps the grantor exactly as it was (a superuser's own GRANT records the owner).
    return [`SET LOCAL ROLE ${client.escapeIdentifier(g.grantor)}`, stmt, 'RESET ROLE'];
  }

  async apply(c: FreezeCommand): Promise<ApplyOutcome> {
    const role = this.roleFor(c);
    if (!role) return 'not-applicable';
    const outcome = await this.inTransaction(role, async (client) => {
      const held = await client.query<{ holders: string[] }>('SELECT holders FROM auditwatch.frozen_roles WHERE role = $1 FOR UPDATE', [role]);
      if (held.rowCount) {
        if (!held.rows[0]!.holders.includes(c.scopeKey)) {
          await client.query('UPDATE auditwatch.frozen_roles SET holders = array_append(holders, $2), expires_at = greatest(expires_at, $3) WHERE role = $1', [role, c.scopeKey, new Date(c.expiresAt)]);
        }
        return 'already' as const;
      }
      const grants = (await client.query<TableGrant>(WRITE_GRANTS_SQL, [role, WRITE_PRIVILEGES])).rows;
      const memberships = (await client.query<RoleMembership>(WRITE_MEMBERSHIPS_SQL, [role, WRITE_PRIVILEGES])).rows;
      for (const g of grants) for (const sql of PostgresActuator.privilegeSql(client, 'REVOKE', g, role)) await client.query(sql);
      for (const m of memberships) for (const sql of PostgresActuator.membershipSql(client, 'REVOKE', m, role)) await client.query(sql);
      const prior: PriorState = { grants, memberships };
      await client.query('INSERT INTO auditwatch.frozen_roles (role, holders, alert_id, prior, expires_at) VALUES ($1, $2, $3, $4, $5)',
        [role, [c.scopeKey], c.alertId, JSON.stringify(prior), new Date(c.expiresAt)]);
      return 'applied' as const;
    });
    if (outcome === 'applied' && this.spec.terminateSessions) {
      await this.pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()', [role]);
    }
    return outcome;
  }

  async revert(c: FreezeCommand): Promise<RevertOutcome> {
    const role = this.roleFor(c);
    if (!role) return 'not-applicable';
    return this.inTransaction(role, async (client) => {
      const row = await client.query<{ holders: string[]; prior: unknown }>('SELECT holders, prior FROM auditwatch.frozen_roles WHERE role = $1 FOR UPDATE', [role]);
      if (!row.rowCount) return 'already';
      const holders = row.rows[0]!.holders.filter((h) => h !== c.scopeKey);
      if (holders.length > 0) {
        await client.query('UPDATE auditwatch.frozen_roles SET holders = $2 WHERE role = $1', [role, holders]);
        return 'still-held';
      }
      const prior = priorOf(row.rows[0]!.prior);
      for (const g of prior.grants) for (const sql of PostgresActuator.privilegeSql(client, 'GRANT', g, role)) await client.query(sql);
      for (const m of prior.memberships) for (const sql of PostgresActuator.membershipSql(client, 'GRANT', m, role)) await client.query(sql);
      await client.query('DELETE FROM auditwatch.frozen_roles WHERE role = $1', [role]);
      return 'reverted';
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
