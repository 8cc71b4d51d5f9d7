import type { Alert } from '../alerts/alert.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Actuator } from './actuator.js';
import type { ControlChange, ControlRejection } from './control-log.js';
import type { ControlPublisher } from './control-publisher.js';
import { AUDITWATCH_PRINCIPAL, freezeAuditEntry, type FreezeAuditLog } from './freeze-audit.js';
import type { FreezeCommand } from './freeze-command.js';
import { freezeFailedAlert } from './tamper-alert.js';
import type { WriteGate } from './write-gate.js';

const MAX_TIMER_MS = 2 ** 31 - 1;
const ATTEMPTS = 3;

/**
 * Makes the control topic real: follows it (through a WriteGate, which verifies every record), applies each freeze
 * with every actuator, ends it when its TTL runs out (by publishing a signed expiry, which every gate and executor
 * then sees), and reverts the actuators on an accepted lift or expiry. The control topic is the only state: after a
 * restart it reconciles what it finds there (actuators are idempotent, so nothing is applied twice), and an expiry
 * that passed while it was down is carried out at once.
 */
export class FreezeExecutor {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly queues = new Map<string, Promise<void>>();
  private live = false;
  private stopped = false;

  constructor(
    private readonly gate: WriteGate,
    /** Signs the expiries; without it a freeze still stops binding at its expiry in every gate, but stays applied. */
    private readonly publisher: ControlPublisher | undefined,
    private readonly actuators: readonly Actuator[],
    private readonly audit: FreezeAuditLog,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    /** Where a failed apply or revert is raised as a critical alert (the alert sinks, in `run`). */
    private readonly raise: (alert: Alert) => void = () => {},
  ) {}

  private failed(op: 'apply' | 'revert', actuator: string, c: FreezeCommand, err: Error): Promise<void> {
    this.raise(freezeFailedAlert(op, actuator, c, err.message, this.now()));
    return this.audit.write([freezeAuditEntry('FreezeFailed', c, this.now(), AUDITWATCH_PRINCIPAL, `${actuator}: ${op} failed: ${err.message}`)]);
  }

  /** Resolves once the control topic is read and every freeze found there is reconciled. */
  async start(): Promise<FreezeCommand[]> {
    // Until the topic is read to where it stood, the gate's state is what gets reconciled, not each record.
    this.gate.onChange((change) => {
      if (this.live) void this.enqueue(change.scopeKey, () => this.onChange(change));
    });
    this.gate.onReject((r) => {
      if (this.live) void this.enqueue(r.scopeKey ?? r.messageKey ?? '', () => this.onRejected(r));
    });
    await this.gate.start();
    this.live = true;
    const found = this.gate.liveFreezes();
    await Promise.all(found.map((c) => this.enqueue(c.scopeKey, () => this.reconcile(c))));
    return found;
  }

  /** Waits until every queued apply, revert and expiry has finished (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.queues.size) await Promise.all([...this.queues.values()]);
  }

  private enqueue(key: string, work: () => Promise<void>): Promise<void> {
    const next = (this.queues.get(key) ?? Promise.resolve()).then(work).catch((err: Error) => this.log.error({ scope: key, err: err.message }, 'freeze executor step failed'));
    this.queues.set(key, next);
    void next.then(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    });
    return next;
  }

  private async reconcile(c: FreezeCommand): Promise<void> {
    if (c.expiresAt <= this.now()) await this.expire(c);
    else {
      await this.applyAll(c);
      this.schedule(c);
    }
  }

  private async onChange(change: ControlChange): Promise<void> {
    const { scopeKey: key, freeze: command, previous } = change;
    if (command) {
      if (command.expiresAt <= this.now()) return this.expire(command);
      await this.applyAll(command);
      this.schedule(command);
    } else {
      clearTimeout(this.timers.get(key));
      this.timers.delete(key);
      if (previous) await this.revertAll(previous);
    }
    this.metrics.freezesActive.set(this.gate.active().length);
  }

  private schedule(c: FreezeCommand): void {
    clearTimeout(this.timers.get(c.scopeKey));
    const delay = Math.max(0, c.expiresAt - this.now());
    const timer = setTimeout(() => {
      if (this.stopped) return;
      if (delay > MAX_TIMER_MS) return this.schedule(c);
      void this.enqueue(c.scopeKey, async () => {
        if (this.gate.live(c.scopeKey) === c) await this.expire(c);
      });
    }, Math.min(delay, MAX_TIMER_MS));
    timer.unref();
    this.timers.set(c.scopeKey, timer);
    this.metrics.freezesActive.set(this.gate.active().length);
  }

  /**
   * A signed record that every reader refused without tampering: past the freeze cap in log order (another instance
   * took the last slot first), or its sequence taken by a concurrent writer. A freeze that lost such a race is
   * issued again on top of what won, unless the scope already holds it.
   */
  private async onRejected(r: ControlRejection): Promise<void> {
    if (!r.record || r.record.by !== AUDITWATCH_PRINCIPAL.id) return;
    const c: FreezeCommand = r.record.freeze;
    if (r.reason === 'cap') {
      await this.audit.write([freezeAuditEntry('FreezeRefused', c, c.createdAt, AUDITWATCH_PRINCIPAL, `refused by every reader: ${r.detail}`)]);
      this.log.error({ scope: c.scopeKey, alertId: c.alertId, offset: r.offset }, 'freeze refused in log order: the cap was taken by another instance first');
    } else if (r.reason === 'sequence-conflict' && r.record.op === 'freeze' && this.publisher && c.expiresAt > this.now()) {
      const live = this.gate.live(c.scopeKey);
      if (live && live.alertId === c.alertId) return;
      const { keyId: _keyId, sig: _sig, v: _v, ...unsigned } = r.record;
      await this.publisher.publish([{ ...unsigned, seq: this.gate.nextSeq(c.scopeKey) }]);
    }
  }

  /** TTL ran out: a signed expiry ends it everywhere; this executor reverts when the expiry comes back. */
  private async expire(c: FreezeCommand): Promise<void> {
    if (!this.publisher) {
      this.log.error({ scope: c.scopeKey, alertId: c.alertId }, 'freeze expired but freeze.signing is not set: no expiry can be signed, actuators stay applied');
      return;
    }
    await this.publisher.publish([{ op: 'expire', scopeKey: c.scopeKey, seq: this.gate.nextSeq(c.scopeKey), freeze: c, at: Math.max(this.now(), c.expiresAt), by: AUDITWATCH_PRINCIPAL.id }]);
    await this.audit.write([freezeAuditEntry('FreezeExpired', c, this.now(), AUDITWATCH_PRINCIPAL, `ttl ran out at ${new Date(c.expiresAt).toISOString()}`)]);
    this.log.warn({ scope: c.scopeKey, alertId: c.alertId }, 'freeze expired');
  }

  private async withRetries<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let last: unknown;
    for (let i = 0; i < ATTEMPTS; i++) {
      try {
        return await fn();
      } catch (err) {
        last = err;
        this.log.warn({ err: (err as Error).message, attempt: i + 1 }, `${what} failed`);
        await new Promise((r) => setTimeout(r, 200 * 2 ** i));
      }
    }
    throw last;
  }

  private async applyAll(c: FreezeCommand): Promise<void> {
    await Promise.all(this.actuators.map(async (a) => {
      try {
        const outcome = await this.withRetries(`${a.name} apply`, () => a.apply(c));
        this.metrics.actuatorOps.inc({ actuator: a.name, op: 'apply', outcome });
        if (outcome === 'applied') {
          await this.audit.write([freezeAuditEntry('FreezeApplied', c, this.now(), AUDITWATCH_PRINCIPAL, `${a.name}: applied`)]);
          this.log.warn({ scope: c.scopeKey, actuator: a.name }, 'freeze applied');
        }
      } catch (err) {
        this.metrics.actuatorOps.inc({ actuator: a.name, op: 'apply', outcome: 'failed' });
        await this.failed('apply', a.name, c, err as Error);
        this.log.error({ scope: c.scopeKey, actuator: a.name, err: (err as Error).message }, 'freeze could not be applied');
      }
    }));
  }

  private async revertAll(c: FreezeCommand): Promise<void> {
    await Promise.all(this.actuators.map(async (a) => {
      try {
        const outcome = await this.withRetries(`${a.name} revert`, () => a.revert(c));
        this.metrics.actuatorOps.inc({ actuator: a.name, op: 'revert', outcome });
        if (outcome === 'reverted') await this.audit.write([freezeAuditEntry('FreezeReverted', c, this.now(), AUDITWATCH_PRINCIPAL, `${a.name}: reverted`)]);
      } catch (err) {
        this.metrics.actuatorOps.inc({ actuator: a.name, op: 'revert', outcome: 'failed' });
        await this.failed('revert', a.name, c, err as Error);
        this.log.error({ scope: c.scopeKey, actuator: a.name, err: (err as Error).message }, 'freeze could not be reverted');
      }
    }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    await this.idle();
    await this.gate.stop();
    await Promise.all(this.actuators.map((a) => a.close()));
  }
}
