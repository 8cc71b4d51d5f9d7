import type { Alert, AlertAction } from '../alerts/alert.js';
import type { Config, FreezeRule } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { ANY } from '../baseline/entity.js';
import { CapWindow } from './cap-window.js';
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

/**
 * Detectors whose alerts only a rule that names them can freeze: a bulk read takes nothing away (freezing writes would
 * not stop it), and change control is opted into per rule (requireChange).
 */
const NAMED_ONLY: ReadonlySet<string> = new Set(['bulk-read']);
const CHANGE_CONTROL = 'change-control';

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
  /** Every freeze decided (freeze, dry-run, propose) or seen on the control topic, for the cap's sliding window. */
  private readonly capWindow = new CapWindow();
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

  /**
   * A record accepted on the control topic, from this instance, another one in the group, or an operator (from its
   * start, so a restart is seeded with what is in force). A freeze holds its scope here too, so an instance that
   * takes over a partition does not freeze the same scope again, and counts once towards the cap however often it
   * is seen; a lift or expiry frees the scope for a later incident. The next record of a scope goes above its
   * sequence.
   */
  observeRecord(r: ControlRecord): void {
    this.seqs.set(r.scopeKey, Math.max(this.seqs.get(r.scopeKey) ?? 0, r.seq));
    if (r.op !== 'freeze') {
      // Only the hold of the freeze that ended (or an older one): a newer decision on the scope stands.
      if ((this.frozenUntil.get(r.scopeKey)?.until ?? Infinity) <= r.freeze.expiresAt) this.frozenUntil.delete(r.scopeKey);
      return;
    }
    this.frozenUntil.set(r.scopeKey, { until: Math.max(this.frozenUntil.get(r.scopeKey)?.until ?? 0, r.freeze.expiresAt), kind: 'freeze' });
    this.capWindow.add(r.freeze);
  }

  private ruleFor(a: Alert): (FreezeRule & { typeRes: RegExp[] }) | undefined {
    return this.rules.find((r) =>
      (a.detector === CHANGE_CONTROL ? r.requireChange : r.detectors.length === 0 ? !NAMED_ONLY.has(a.detector) : r.detectors.includes(a.detector)) &&
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
    // An aggregate's alert names every principal or every type (ANY): the freeze binds what it does name.
    const scope: FreezeScope = { environment: a.environment };
    if (rule.scope !== 'resource-type' && a.principal !== ANY) scope.principal = a.principal;
    if ((rule.scope !== 'principal' || a.principal === ANY) && a.resourceType !== ANY) scope.resourceType = a.resourceType;
    const command: FreezeCommand = {
      scopeKey: scopeKey(scope), scope, alertId: a.id, reason: a.reason,
      createdAt: a.detectedAt, expiresAt: a.detectedAt + rule.ttl, issuedBy: 'auditwatch',
    };
    const held = this.frozenUntil.get(command.scopeKey);
    if (held && held.until > command.createdAt) return { kind: 'already-frozen', command, inWindow: 0, heldBy: held.kind };
    const windowStart = command.createdAt - this.policy.cap.window;
    this.capWindow.forget(windowStart);
    const inWindow = this.capWindow.count(windowStart);
    if (inWindow >= this.policy.cap.maxFreezes) return { kind: 'refused-cap', command, inWindow };
    this.capWindow.add(command);
    const kind: FreezeDecisionKind = mode === 'enforce' ? 'freeze' : mode === 'dry-run' ? 'dry-run' : 'propose';
    this.frozenUntil.set(command.scopeKey, { until: command.expiresAt, kind });
    return { kind, command, inWindow: inWindow + 1 };
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
