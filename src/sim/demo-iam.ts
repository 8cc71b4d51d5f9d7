import { CreateRoleCommand, IAMClient, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import type { AwsIamActuatorSpec } from '../config/schema.js';
import { ELB_JANITOR, SIM_ACCOUNTS } from './cloudtrail-sim.js';
import { LOCAL_AWS_ENV, startLocalIam, type LocalIam } from './local-iam.js';

export interface DemoIam {
  endpoint: string;
  spec: AwsIamActuatorSpec;
  /** The inline policies on the janitor's role, as the IAM API reports them now. */
  janitorPolicies(): Promise<string[]>;
  stop(): Promise<void>;
}

/** The simulator's production account as a local IAM API, with the janitor's role in it, for the IAM actuator. */
export async function startDemoIam(log: (line: string) => void): Promise<DemoIam> {
  const server: LocalIam = await startLocalIam({ log, account: SIM_ACCOUNTS.production });
  const iam = new IAMClient({ endpoint: server.endpoint, region: LOCAL_AWS_ENV.AWS_REGION, credentials: { accessKeyId: LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY } });
  const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
  await iam.send(new CreateRoleCommand({ RoleName: ELB_JANITOR, AssumeRolePolicyDocument: JSON.stringify(trust) }));
  return {
    endpoint: server.endpoint,
    spec: {
      type: 'aws-iam', endpoint: server.endpoint, environments: ['production'], accounts: [SIM_ACCOUNTS.production], breakGlass: [],
      denyOldSessions: true, policyPrefix: 'auditwatch-freeze-', timeout: 5000,
    },
    janitorPolicies: async () => (await iam.send(new ListRolePoliciesCommand({ RoleName: ELB_JANITOR }))).PolicyNames ?? [],
    stop: async () => {
      iam.destroy();
      await server.stop();
    },
  };
}
