import type pg from 'pg';
import { validateConfig } from '../../src/config/load.js';
import type { PostgresActuatorSpec } from '../../src/config/schema.js';

export const JANITOR = 'arn:aws:iam::111111111111:role/elb-janitor';

/** Roles and grants with the awkward cases: grant option, and a grantor who is not the owner. */
export const FIXTURE_SQL = `
  CREATE ROLE owner_role NOLOGIN;
  CREATE ROLE lead NOLOGIN;
  CREATE ROLE elb_janitor LOGIN;
  CREATE ROLE bystander LOGIN;
  CREATE SCHEMA app AUTHORIZATION owner_role;
  CREATE SCHEMA billing AUTHORIZATION owner_role;
  SET ROLE owner_role;
  CREATE TABLE app.load_balancers (id int);
  CREATE TABLE app.target_groups (id int);
  CREATE TABLE billing.invoices (id int);
  GRANT USAGE ON SCHEMA app, billing TO elb_janitor, bystander, lead;
  GRANT SELECT, INSERT, UPDATE, DELETE ON app.load_balancers TO elb_janitor;
  GRANT SELECT, INSERT ON app.target_groups TO elb_janitor WITH GRANT OPTION;
  GRANT ALL ON billing.invoices TO lead WITH GRANT OPTION;
  GRANT INSERT ON app.load_balancers TO bystander;
  RESET ROLE;
  SET ROLE lead;
  GRANT DELETE, TRUNCATE ON billing.invoices TO elb_janitor;
  RESET ROLE;`;

/** Every privilege on every table of the fixture, grantor and grant option included. */
export async function aclSnapshot(client: pg.Client): Promise<string[]> {
  const r = await client.query(`
    SELECT n.nspname || '.' || c.relname || ' ' || g.rolname || ' -> ' || e.rolname || ' ' || a.privilege_type || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END AS line
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN LATERAL aclexplode(c.relacl) a
    JOIN pg_roles e ON e.oid = a.grantee JOIN pg_roles g ON g.oid = a.grantor
    WHERE n.nspname IN ('app', 'billing') ORDER BY 1`);
  return r.rows.map((x) => x.line as string);
}

export function postgresSpec(extra: Partial<PostgresActuatorSpec> = {}): PostgresActuatorSpec {
  const config = validateConfig({
    freeze: {
      actuators: [{
        type: 'postgres', connectionEnv: 'TEST_PG_URL',
        roles: [
          { environment: 'production', principal: 'role/elb-janitor$', role: 'elb_janitor' },
          { environment: 'production', resourceType: '^elasticloadbalancing:', role: 'elb_janitor' },
        ],
        ...extra,
      }],
    },
  }, {});
  return config.freeze.actuators[0] as PostgresActuatorSpec;
}

