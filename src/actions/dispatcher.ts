import type { Alert, AlertAction } from '../alerts/alert.js';
import type { Config, FreezeRule } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { BoundedSet } from '../util/bounded-set.js';
import { globToRegExp } from '../util/glob.js';
import type { ControlPublisher } from './control-publisher.js';
import type { ControlRecord } from './control-record.js';
import { AUDITWATCH_PRINCIPAL, freezeAuditEntry, type FreezeAuditEntry, type FreezeAuditLog } from './freeze-audit.js';
import { scopeKey, type FreezeCommand, type FreezeScope } from './freeze-command.js';

export type FreezeDecisionKind = 'freeze' | 'dry-run' | 'propose' | 'refused-cap' | 'already-frozen';

export interface FreezeDecision {
  kind: FreezeDecisionKind;
  command: FreezeCommand;
  /** For already-frozen: what the decision that holds the scope did (freeze, dry run or proposal). */
  heldBy?: FreezeDecisionKind;
  /** For a refusal: how many freezes the cap window already holds. */
  inWindow: number;
}

const ACTION_OF: Record<FreezeDecisionKind, AlertAction> = {
  freeze: 'freeze',
  'already-frozen': 'freeze',
  'dry-run': 'freeze-dry-run',
  propose: 'freeze-proposed',
  'refused-cap': 'freeze-refused',
};

export function alertActionOf(d: FreezeDecision | null): AlertAction {
  if (!d) return 'none';
  return ACTION_OF[d.kind === 'already-frozen' ? d.heldBy ?? 'freeze' : d.kind];
}

/**
 * The single point where freezes are decided and carried out. `decide` applies the rules, the allowlist, the
 * cap and the mode (so dry run is decided here and nowhere else), using event time only: a replay decides the
 * same way. `dispatch` publishes what was decided. Actuators (PostgreSQL, webhooks) are driven by the
 * FreezeExecutor from the control topic, so manual freezes and restarts go through the same path.
 */
export class ActionDispatcher {
  /** Scope key → expiry (event time) and kind of the freeze (or dry run, or proposal) already decided for it. */
  private readonly frozenUntil = new Map<string, { until: number; kind: FreezeDecisionKind }>();
  /** createdAt of every freeze decided (freeze, dry-run, propose), for the cap's sliding window. */
  private decidedAt: number[] = [];
  /** Freezes already in `decidedAt` (scope@createdAt), whether decided here or seen on the control topic. */
  private readonly counted = new BoundedSet<string>(10_000);
  /** The latest sequence seen or written per scope on the control topic: the next record of a scope goes above it. */
  private readonly seqs = new Map<string, number>();
  private allowEnv!: Set<string>;
  private allowTypes!: RegExp[];
  private rules!: Array<FreezeRule & { typeRes: RegExp[] }>;

  constructor(
    private policy: Config['freeze'],
    /** Signs and publishes freezes; absent without Kafka or without freeze.signing (then enforce cannot publish). */
    private readonly publisher: ControlPublisher | undefined,
    private readonly audit: FreezeAuditLog,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.reconfigure(policy);
  }

  /** Rules, allowlist, cap and mode from a reloaded config; freezes already decided stay decided. */
  reconfigure(policy: Config['freeze']): void {
    this.policy = policy;
    this.allowEnv = new Set(policy.allow.environments);
    this.allowTypes = policy.allow.resourceTypes.map(globToRegExp);
    this.rules = policy.rules.map((r) => ({ ...r, typeRes: r.resourceTypes.map(globToRegExp) }));
  }

  /** Seeds the scope and cap state from freezes already on the control topic (after a restart). */
  restore(commands: readonly FreezeCommand[]): void {
    for (const c of commands) this.observe(c);
  }

  /** A record accepted on the control topic: its sequence, and the freeze it sets. */
  observeRecord(r: ControlRecord): void {
    this.seqs.set(r.scopeKey, Math.max(this.seqs.get(r.scopeKey) ?? 0, r.seq));
    if (r.op === 'freeze') this.observe(r.freeze as FreezeCommand);
  }

  /**
   * A freeze seen on the control topic, from this instance, another one in the group, or an operator: its scope
   * counts as frozen here too, so an instance that takes over a partition does not freeze the same scope again.
   * Each freeze counts once towards the cap, however often it is seen.
   */
  observe(c: FreezeCommand): void {
    this.frozenUntil.set(c.scopeKey, { until: Math.max(this.frozenUntil.get(c.scopeKey)?.until ?? 0, c.expiresAt), kind: 'freeze' });
    const id = `${c.scopeKey}@${c.createdAt}`;
    if (this.counted.has(id)) return;
    this.counted.add(id);
    this.decidedAt.push(c.createdAt);
    this.decidedAt.sort((a, b) => a - b);
  }

  private ruleFor(a: Alert): (FreezeRule & { typeRes: RegExp[] }) | undefined {
    return this.rules.find((r) =>
      (r.detectors.length === 0 || r.detectors.includes(a.detector)) &&
      r.severities.includes(a.severity) &&
      r.environments.includes(a.environment) &&
      r.typeRes.some((re) => re.test(a.resourceType)));
  }

  /** What happens to a freeze for this alert; null when no rule (or the allowlist) lets it freeze at all. */
  decide(a: Alert): FreezeDecision | null {
    const rule = this.ruleFor(a);
    if (!rule) return null;
    const mode = rule.mode ?? this.policy.mode;
    if (mode === 'off') return null;
    if (!this.allowEnv.has(a.environment) || !this.allowTypes.some((re) => re.test(a.resourceType))) {
      this.metrics.freezeDecisions.inc({ decision: 'not-allowed' });
      return null;
    }
    const scope: FreezeScope = { environment: a.environment };
    if (rule.scope !== 'resource-type') scope.principal = a.principal;
    if (rule.scope !== 'principal') scope.resourceType = a.resourceType;
    const command: FreezeCommand = {
      scopeKey: scopeKey(scope), scope, alertId: a.id, reason: a.reason,
      createdAt: a.detectedAt, expiresAt: a.detectedAt + rule.ttl, issuedBy: 'auditwatch',
    };
    const held = this.frozenUntil.get(command.scopeKey);
    if (held && held.until > command.createdAt) return { kind: 'already-frozen', command, inWindow: 0, heldBy: held.kind };
    const windowStart = command.createdAt - this.policy.cap.window;
    this.decidedAt = this.decidedAt.filter((t) => t > windowStart);
    if (this.decidedAt.length >= this.policy.cap.maxFreezes) return { kind: 'refused-cap', command, inWindow: this.decidedAt.length };
    this.decidedAt.push(command.createdAt);
    this.counted.add(`${command.scopeKey}@${command.createdAt}`);
    const kind: FreezeDecisionKind = mode === 'enforce' ? 'freeze' : mode === 'dry-run' ? 'dry-run' : 'propose';
    this.frozenUntil.set(command.scopeKey, { until: command.expiresAt, kind });
    return { kind, command, inWindow: this.decidedAt.length };
  }

  /** Carries out decisions; returns how many freezes were published, dry-run or proposed. */
  async dispatch(decisions: readonly FreezeDecision[]): Promise<number> {
    const audit: FreezeAuditEntry[] = [];
    const toPublish: FreezeCommand[] = [];
    let counted = 0;
    for (const d of decisions) {
      const c = d.command;
      const fields = { scope: c.scopeKey, alertId: c.alertId, expiresAt: new Date(c.expiresAt).toISOString() };
      this.metrics.freezeDecisions.inc({ decision: d.kind });
      switch (d.kind) {
        case 'freeze':
          toPublish.push(c);
          audit.push(freezeAuditEntry('FreezeRequested', c, c.createdAt, AUDITWATCH_PRINCIPAL, `freeze published to ${this.policy.controlTopic}`));
          this.metrics.freezes.inc({ mode: 'enforce' });
          this.log.warn(fields, 'freeze requested');
          counted++;
          break;
        case 'dry-run':
          audit.push(freezeAuditEntry('FreezeDryRun', c, c.createdAt, AUDITWATCH_PRINCIPAL, 'dry run: would have frozen'));
          this.metrics.freezes.inc({ mode: 'dry-run' });
          this.log.warn(fields, 'dry run: would have frozen');
          counted++;
          break;
        case 'propose':
          audit.push(freezeAuditEntry('FreezeProposed', c, c.createdAt, AUDITWATCH_PRINCIPAL, `approval needed: auditwatch freeze --approve ${c.alertId}`));
          this.metrics.freezes.inc({ mode: 'proposed' });
          this.log.warn(fields, 'freeze proposed; waiting for an operator');
          counted++;
          break;
        case 'refused-cap':
          audit.push(freezeAuditEntry('FreezeRefused', c, c.createdAt, AUDITWATCH_PRINCIPAL, `cap of ${this.policy.cap.maxFreezes} freezes per ${this.policy.cap.window} ms reached`));
          this.log.error(fields, 'freeze refused: cap reached, alerting only');
          break;
        case 'already-frozen':
          break;
      }
    }
    if (toPublish.length && this.publisher) {
      const cap = { maxFreezes: this.policy.cap.maxFreezes, window: this.policy.cap.window };
      await this.publisher.publish(toPublish.map((c) => {
        const seq = (this.seqs.get(c.scopeKey) ?? 0) + 1;
        this.seqs.set(c.scopeKey, seq);
        return { op: 'freeze' as const, scopeKey: c.scopeKey, seq, freeze: c, at: c.createdAt, by: AUDITWATCH_PRINCIPAL.id, cap };
      }));
    } else if (toPublish.length) {
      throw new Error('freeze mode enforce needs a Kafka connection and freeze.signing to publish signed freezes');
    }
    await this.audit.write(audit);
    return counted;
  }
}
