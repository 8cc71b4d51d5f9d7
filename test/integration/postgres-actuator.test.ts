import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FreezeCommand } from '../../src/actions/freeze-command.js';
import { scopeKey } from '../../src/actions/freeze-command.js';
import { PostgresActuator } from '../../src/actions/postgres.js';
import { aclSnapshot, FIXTURE_SQL, JANITOR, postgresSpec } from '../helpers/pg-fixture.js';
import { startLocalPostgres, type LocalPostgres } from '../helpers/postgres.js';

function command(scope: FreezeCommand['scope'], alertId = 'alert-1'): FreezeCommand {
  const now = Date.now();
  return { scopeKey: scopeKey(scope), scope, alertId, reason: 'test', createdAt: now, expiresAt: now + 60_000, issuedBy: 'auditwatch' };
}

describe('the PostgreSQL freeze on a real server', () => {
  let server: LocalPostgres;
  let admin: pg.Client;
  let actuator: PostgresActuator;
  const as = (user: string) => new pg.Client({ connectionString: server.url.replace('postgres@', `${user}@`) });

  beforeAll(async () => {
    server = await startLocalPostgres();
    admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(FIXTURE_SQL);
    actuator = new PostgresActuator(postgresSpec(), server.url);
  }, 60_000);

  afterAll(async () => {
    await actuator?.close();
    await admin?.end();
    await server?.stop();
  });

  it('check passes for mapped roles that exist and own nothing, and fails otherwise', async () => {
    await expect(actuator.check()).resolves.toBeUndefined();
    const missing = new PostgresActuator(postgresSpec({ roles: [{ environment: 'production', role: 'nobody_here' }] }), server.url);
    await expect(missing.check()).rejects.toThrow(/role nobody_here does not exist/);
    await missing.close();
    const owner = new PostgresActuator(postgresSpec({ roles: [{ environment: 'production', role: 'owner_role' }] }), server.url);
    await expect(owner.check()).rejects.toThrow(/owns 3 tables/);
    await owner.close();
  });

  it('freezes writes, ends open sessions, leaves reads and other roles alone, and restores exactly', async () => {
    const before = await aclSnapshot(admin);
    const open = as('elb_janitor');
    await open.connect();
    open.on('error', () => {});
    await open.query('INSERT INTO app.load_balancers VALUES (1)');

    const c = command({ environment: 'production', principal: JANITOR });
    expect(await actuator.apply(c)).toBe('applied');
    await expect(open.query('SELECT 1')).rejects.toThrow(); // its session was ended

    const fresh = as('elb_janitor');
    await fresh.connect();
    await expect(fresh.query('INSERT INTO app.load_balancers VALUES (2)')).rejects.toThrow(/permission denied/);
    await expect(fresh.query('DELETE FROM billing.invoices')).rejects.toThrow(/permission denied/);
    await expect(fresh.query('TRUNCATE app.target_groups')).rejects.toThrow(/permission denied/);
    expect((await fresh.query('SELECT count(*)::int AS n FROM app.load_balancers')).rows[0].n).toBe(1);
    await fresh.end();
    const bystander = as('bystander');
    await bystander.connect();
    await bystander.query('INSERT INTO app.load_balancers VALUES (3)');
    await bystander.end();

    expect(await actuator.apply(c)).toBe('already'); // idempotent: the same freeze twice is one freeze
    expect(await actuator.revert(c)).toBe('reverted');
    expect(await aclSnapshot(admin)).toEqual(before);
    expect(await actuator.revert(c)).toBe('already');
    const after = as('elb_janitor');
    await after.connect();
    await after.query('INSERT INTO app.load_balancers VALUES (4)');
    await after.end();
  });

  it('stops writes made through group roles, however deep, keeps read-only groups, and restores memberships exactly', async () => {
    await admin.query(`
      CREATE ROLE app_writers NOLOGIN; CREATE ROLE nested_writers NOLOGIN; CREATE ROLE app_readers NOLOGIN; CREATE ROLE batch_app LOGIN;
      GRANT USAGE ON SCHEMA app TO app_writers, app_readers;
      SET ROLE owner_role; GRANT INSERT ON app.target_groups TO app_writers; GRANT SELECT ON app.load_balancers TO app_readers; RESET ROLE;
      GRANT app_writers TO nested_writers;
      GRANT nested_writers TO batch_app WITH ADMIN OPTION;
      GRANT app_readers TO batch_app;
      GRANT app_writers TO lead WITH ADMIN OPTION;
      SET ROLE lead; GRANT app_writers TO batch_app; RESET ROLE;`);
    const memberships = async () => (await admin.query(`
      SELECT g.rolname || ' admin=' || m.admin_option || ' by ' || gr.rolname AS line FROM pg_auth_members m
      JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles gr ON gr.oid = m.grantor
      WHERE r.rolname = 'batch_app' ORDER BY 1`)).rows.map((r) => r.line as string);
    const before = await memberships();
    expect(before).toEqual(['app_readers admin=false by postgres', 'app_writers admin=false by lead', 'nested_writers admin=true by postgres']);
    const batch = new PostgresActuator(postgresSpec({ roles: [{ environment: 'production', principal: 'role/batch$', role: 'batch_app' }] }), server.url);
    const write = async () => {
      const client = as('batch_app');
      await client.connect();
      try {
        await client.query('INSERT INTO app.target_groups VALUES (7)');
        return 'written';
      } catch (err) {
        return (err as Error).message;
      } finally {
        await client.end();
      }
    };
    expect(await write()).toBe('written');
    const c = command({ environment: 'production', principal: 'arn:aws:iam::111111111111:role/batch' }, 'alert-groups');
    expect(await batch.apply(c)).toBe('applied');
    expect(await write()).toMatch(/permission denied for table target_groups/);
    expect(await memberships()).toEqual(['app_readers admin=false by postgres']); // reads through groups go on
    const reader = as('batch_app');
    await reader.connect();
    expect((await reader.query('SELECT count(*)::int AS n FROM app.load_balancers')).rows[0].n).toBeGreaterThanOrEqual(0);
    await reader.end();
    expect(await batch.revert(c)).toBe('reverted');
    expect(await memberships()).toEqual(before);
    expect(await write()).toBe('written');
    await batch.close();
  });

  it('a role held by two scopes thaws only when the last one lets go', async () => {
    const before = await aclSnapshot(admin);
    const byPrincipal = command({ environment: 'production', principal: JANITOR }, 'alert-a');
    const byType = command({ environment: 'production', resourceType: 'elasticloadbalancing:loadbalancer' }, 'alert-b');
    expect(await actuator.apply(byPrincipal)).toBe('applied');
    expect(await actuator.apply(byType)).toBe('already');
    expect(await actuator.revert(byPrincipal)).toBe('still-held');
    expect(await aclSnapshot(admin)).not.toEqual(before);
    expect(await actuator.revert(byType)).toBe('reverted');
    expect(await aclSnapshot(admin)).toEqual(before);
  });

  it('a scope no mapping covers is not applicable and changes nothing', async () => {
    const before = await aclSnapshot(admin);
    expect(await actuator.apply(command({ environment: 'staging', principal: JANITOR }))).toBe('not-applicable');
    expect(await aclSnapshot(admin)).toEqual(before);
  });

  it('a freeze that failed because the state schema could not be created is tried again, not failed for good', async () => {
    // The actuator's database does not exist yet, so its first freeze cannot create the state schema.
    const db = `aw_retry_${Math.random().toString(36).slice(2, 10)}`;
    const url = new URL(server.url);
    url.pathname = `/${db}`;
    const fresh = new PostgresActuator(postgresSpec(), url.href);
    const c = command({ environment: 'production', principal: JANITOR }, 'alert-retry');
    try {
      await expect(fresh.apply(c)).rejects.toThrow(/does not exist/);
      await admin.query(`CREATE DATABASE ${db}`);
      expect(await fresh.apply(c)).toBe('applied');
      expect(await fresh.revert(c)).toBe('reverted');
    } finally {
      await fresh.close();
    }
  });

  // Last: it drops the state schema the shared actuator has set up.
  it('instances that start together on a fresh database both freeze: their first use of the state schema does not race', async () => {
    // Two `run --workers` processes, or two instances, each create auditwatch.frozen_roles on their first freeze.
    // Concurrent CREATE SCHEMA IF NOT EXISTS can fail with a unique violation; once, a worker kept that failure and
    // failed every freeze after it (found by the latency bench with two workers).
    const before = await aclSnapshot(admin);
    for (let round = 0; round < 10; round++) {
      await admin.query('DROP SCHEMA IF EXISTS auditwatch CASCADE');
      const [a, b] = [0, 1].map(() => new PostgresActuator(postgresSpec(), server.url));
      try {
        const byPrincipal = command({ environment: 'production', principal: JANITOR }, `alert-${round}-a`);
        const byType = command({ environment: 'production', resourceType: 'elasticloadbalancing:loadbalancer' }, `alert-${round}-b`);
        expect((await Promise.all([a!.apply(byPrincipal), b!.apply(byType)])).sort()).toEqual(['already', 'applied']);
        expect((await Promise.all([a!.revert(byPrincipal), b!.revert(byType)])).sort()).toEqual(['reverted', 'still-held']);
        expect(await aclSnapshot(admin)).toEqual(before);
      } finally {
        await Promise.all([a!.close(), b!.close()]);
      }
    }
  });
});
