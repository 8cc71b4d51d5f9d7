import { createHash } from 'node:crypto';
import {
  DeleteRolePolicyCommand, DeleteUserPolicyCommand, GetRoleCommand, GetRolePolicyCommand, GetUserCommand, GetUserPolicyCommand, IAMClient,
  PutRolePolicyCommand, PutUserPolicyCommand, SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsIamActuatorSpec } from '../config/schema.js';
import { CLOUDTRAIL_WRITE_PREFIXES } from '../decode/verbs.js';
import { AuditwatchError } from '../errors.js';
import { globToRegExp } from '../util/glob.js';
import { canonicalJson } from './signing.js';
import type { Actuator, ApplyOutcome, RevertOutcome } from './actuator.js';
import type { FreezeCommand } from './freeze-command.js';

/** An IAM role or user a freeze can bind, from the principal id an audit event carries. */
export interface IamTarget {
  kind: 'role' | 'user';
  name: string;
  account: string;
  /** arn:aws:iam::<account>:role/<name> (or user/): the identity, whatever session or path it was seen under. */
  arn: string;
}

const NAME = '[\\w+=,.@-]+';
const ROLE_ARN = new RegExp(`^arn:(aws[\\w-]*):iam::(\\d{12}):role/(?:.*/)?(${NAME})$`);
const SESSION_ARN = new RegExp(`^arn:(aws[\\w-]*):sts::(\\d{12}):assumed-role/(${NAME})/.+$`);
// IAM users are iam:: ARNs; some IAM APIs (moto's) report the caller as sts::...:user/NAME.
const USER_ARN = new RegExp(`^arn:(aws[\\w-]*):(?:iam|sts)::(\\d{12}):user/(?:.*/)?(${NAME})$`);

export function iamTargetOf(principal: string | undefined): IamTarget | undefined {
  if (!principal) return undefined;
  const role = ROLE_ARN.exec(principal) ?? SESSION_ARN.exec(principal);
  if (role) return { kind: 'role', name: role[3]!, account: role[2]!, arn: `arn:${role[1]}:iam::${role[2]}:role/${role[3]}` };
  const user = USER_ARN.exec(principal);
  if (user) return { kind: 'user', name: user[3]!, account: user[2]!, arn: `arn:${user[1]}:iam::${user[2]}:user/${user[3]}` };
  return undefined;
}

/** The inline policy's name: fixed by the scope, so a revert removes exactly what the freeze attached. */
export function iamPolicyName(prefix: string, scopeKey: string): string {
  return `${prefix}${createHash('sha256').update(scopeKey).digest('hex').slice(0, 20)}`;
}

/**
 * The deny policy for a freeze. IAM has no action that means "every write", so a principal-wide freeze denies every
 * action (as AWS's own deny-all containment does); a freeze narrowed to a resource type denies that service's write
 * actions by their verbs (Delete*, Put*, Modify*...). Sessions issued before the freeze can be cut off entirely.
 */
export function iamDenyPolicy(c: FreezeCommand, denyOldSessions: boolean): Record<string, unknown> {
  const service = c.scope.resourceType?.split(':')[0];
  const actions = service ? CLOUDTRAIL_WRITE_PREFIXES.map((p) => `${service}:${p}*`) : '*';
  const statements: Array<Record<string, unknown>> = [{ Sid: 'AuditwatchFreeze', Effect: 'Deny', Action: actions, Resource: '*' }];
  if (denyOldSessions) {
    statements.push({
      Sid: 'AuditwatchRevokeOlderSessions', Effect: 'Deny', Action: '*', Resource: '*',
      Condition: { DateLessThan: { 'aws:TokenIssueTime': new Date(c.createdAt).toISOString() } },
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** Whether trying again can help: throttling, a 5xx, a timeout, or the endpoint not answering at all. */
function awsError(err: unknown): { name: string; retriable: boolean; message: string } {
  const e = err as { name?: string; code?: string; message?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode ?? 0;
  const network = NETWORK_CODES.has(e.code ?? '') || e.name === 'TimeoutError' || e.name === 'RequestTimeout';
  return { name: e.code ?? e.name ?? 'Error', retriable: Boolean(e.$retryable) || status >= 500 || status === 429 || network, message: e.message ?? String(err) };
}

const isNoSuchEntity = (err: unknown) => /NoSuchEntity/.test(awsError(err).name);

/** IAM returns policy documents URL-encoded; some implementations do not. */
function parseDocument(doc: string | undefined): unknown {
  if (!doc) return undefined;
  try {
    return JSON.parse(doc.trimStart().startsWith('{') ? doc : decodeURIComponent(doc));
  } catch {
    return undefined;
  }
}

/**
 * Freezes an IAM role or user by attaching an inline deny policy named from the scope (see iamDenyPolicy), and
 * reverts by deleting exactly that policy. Refuses its own principal and the break-glass principals. Region,
 * endpoint and credentials come the standard way (environment, profile, instance role); `endpoint` points it at
 * another IAM API (a local one in tests).
 */
export class AwsIamActuator implements Actuator {
  readonly name = 'aws-iam';
  private readonly iam: IAMClient;
  private readonly sts: STSClient;
  private readonly breakGlass: RegExp[];
  private self: IamTarget | undefined;

  constructor(private readonly spec: AwsIamActuatorSpec, env: NodeJS.ProcessEnv = process.env) {
    const region = spec.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
    const credentials = env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
      : undefined;
    const common = { region, ...(spec.endpoint ? { endpoint: spec.endpoint } : {}), ...(credentials ? { credentials } : {}), maxAttempts: 2, requestHandler: { requestTimeout: spec.timeout } };
    this.iam = new IAMClient(common);
    this.sts = new STSClient(common);
    this.breakGlass = spec.breakGlass.map(globToRegExp);
  }

  /** The IAM principal a freeze of this command binds, or undefined when the freeze is not this actuator's. */
  targetOf(c: FreezeCommand): IamTarget | undefined {
    if (!this.spec.environments.includes(c.scope.environment)) return undefined;
    const target = iamTargetOf(c.scope.principal);
    if (!target || (this.spec.accounts.length && !this.spec.accounts.includes(target.account))) return undefined;
    return target;
  }

  private async whoAmI(): Promise<IamTarget> {
    if (this.self) return this.self;
    let arn: string | undefined;
    try {
      arn = (await this.sts.send(new GetCallerIdentityCommand({}))).Arn;
    } catch (err) {
      const e = awsError(err);
      throw new AuditwatchError('ACTION_FAILED', `actuator aws-iam: cannot tell who auditwatch is (sts:GetCallerIdentity): ${e.name}: ${e.message}`, { retriable: e.retriable, cause: err });
    }
    const self = iamTargetOf(arn);
    if (!self) throw new AuditwatchError('ACTION_FAILED', `actuator aws-iam: auditwatch runs as ${arn}, which is not an IAM role or user`);
    return (this.self = self);
  }

  /** Credentials work, and, where the IAM API can simulate policies, auditwatch may put and delete inline policies. */
  async check(): Promise<string[]> {
    const self = await this.whoAmI();
    const actions = ['iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:GetRolePolicy', 'iam:PutUserPolicy', 'iam:DeleteUserPolicy', 'iam:GetUserPolicy'];
    try {
      const result = await this.iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: self.arn, ActionNames: actions }));
      const denied = (result.EvaluationResults ?? []).filter((r) => r.EvalDecision !== 'allowed').map((r) => r.EvalActionName);
      if (denied.length) throw new AuditwatchError('ACTION_FAILED', `actuator aws-iam: ${self.arn} may not ${denied.join(', ')}: it could not freeze or revert`);
      return [];
    } catch (err) {
      if (err instanceof AuditwatchError) throw err;
      const e = awsError(err);
      return [`actuator aws-iam: permissions of ${self.arn} not verified (iam:SimulatePrincipalPolicy answered ${e.name}); the first freeze will tell`];
    }
  }

  private refusal(target: IamTarget, c: FreezeCommand): string | undefined {
    if (this.self && this.self.arn === target.arn) return `${target.arn} is auditwatch's own principal`;
    if (this.breakGlass.some((re) => re.test(target.arn) || re.test(c.scope.principal ?? ''))) return `${target.arn} is a break-glass principal (actuators aws-iam breakGlass)`;
    return undefined;
  }

  private async current(target: IamTarget, policyName: string): Promise<unknown> {
    try {
      const out = target.kind === 'role'
        ? await this.iam.send(new GetRolePolicyCommand({ RoleName: target.name, PolicyName: policyName }))
        : await this.iam.send(new GetUserPolicyCommand({ UserName: target.name, PolicyName: policyName }));
      return parseDocument(out.PolicyDocument);
    } catch (err) {
      if (isNoSuchEntity(err)) return undefined;
      throw err;
    }
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof AuditwatchError) throw err;
      const e = awsError(err);
      throw new AuditwatchError('ACTION_FAILED', `actuator aws-iam: ${what}: ${e.name}: ${e.message}`, { retriable: e.retriable, cause: err });
    }
  }

  async apply(c: FreezeCommand): Promise<ApplyOutcome> {
    const target = this.targetOf(c);
    if (!target) return 'not-applicable';
    await this.whoAmI();
    const refused = this.refusal(target, c);
    if (refused) throw new AuditwatchError('ACTION_FAILED', `actuator aws-iam: refused to freeze: ${refused}`);
    const policyName = iamPolicyName(this.spec.policyPrefix, c.scopeKey);
    const document = iamDenyPolicy(c, this.spec.denyOldSessions);
    return this.call(`put ${policyName} on ${target.arn}`, async () => {
      try {
        if (target.kind === 'role') await this.iam.send(new GetRoleCommand({ RoleName: target.name }));
        else await this.iam.send(new GetUserCommand({ UserName: target.name }));
      } catch (err) {
        if (isNoSuchEntity(err)) throw new AuditwatchError('ACTION_FAILED', `actuator aws-iam: ${target.arn} does not exist`);
        throw err;
      }
      const existing = await this.current(target, policyName);
      if (existing !== undefined && canonicalJson(existing) === canonicalJson(document)) return 'already';
      const PolicyDocument = JSON.stringify(document);
      if (target.kind === 'role') await this.iam.send(new PutRolePolicyCommand({ RoleName: target.name, PolicyName: policyName, PolicyDocument }));
      else await this.iam.send(new PutUserPolicyCommand({ UserName: target.name, PolicyName: policyName, PolicyDocument }));
      return 'applied';
    });
  }

  async revert(c: FreezeCommand): Promise<RevertOutcome> {
    const target = this.targetOf(c);
    if (!target) return 'not-applicable';
    const policyName = iamPolicyName(this.spec.policyPrefix, c.scopeKey);
    return this.call(`delete ${policyName} from ${target.arn}`, async () => {
      try {
        if (target.kind === 'role') await this.iam.send(new DeleteRolePolicyCommand({ RoleName: target.name, PolicyName: policyName }));
        else await this.iam.send(new DeleteUserPolicyCommand({ UserName: target.name, PolicyName: policyName }));
        return 'reverted';
      } catch (err) {
        if (isNoSuchEntity(err)) return 'already';
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    this.iam.destroy();
    this.sts.destroy();
  }
}
