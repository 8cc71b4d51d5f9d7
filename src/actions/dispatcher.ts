import type { AlertAction } from '../alerts/alert.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Actuator } from './actuator.js';
import type { FreezeCommand } from './freeze-command.js';

/**
 * The single point where freezes are carried out. Dry run is decided here and nowhere else: `plan` says what
 * will happen to a command, `dispatch` does exactly that.
 */
export class ActionDispatcher {
  /** Scope key → expiry (event time) of the freeze this process already dispatched for it. */
  private readonly frozenUntil = new Map<string, number>();

  constructor(
    private readonly policy: Config['freeze'],
    private readonly actuators: readonly Actuator[],
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  plan(command: FreezeCommand): AlertAction {
    if (this.policy.mode === 'off' || !this.policy.environments.includes(command.scope.environment)) return 'none';
    return this.policy.mode === 'enforce' ? 'freeze' : 'freeze-dry-run';
  }

  async check(): Promise<void> {
    for (const a of this.actuators) await a.check();
  }

  /** Carries out the commands; returns how many freezes were applied or dry-run (not those already in force). */
  async dispatch(commands: readonly FreezeCommand[]): Promise<number> {
    let dispatched = 0;
    for (const command of commands) {
      const plan = this.plan(command);
      if (plan === 'none') continue;
      // One freeze per scope while it lasts: two alerts about the same principal freeze it once.
      if ((this.frozenUntil.get(command.scopeKey) ?? -Infinity) > command.createdAt) continue;
      if (plan === 'freeze-dry-run') {
        this.log.warn({ scope: command.scopeKey, alertId: command.alertId, expiresAt: new Date(command.expiresAt).toISOString() }, 'dry run: would have frozen');
        this.metrics.freezes.inc({ mode: 'dry-run' });
      } else {
        await Promise.all(this.actuators.map((a) => a.apply(command)));
        this.log.warn({ scope: command.scopeKey, alertId: command.alertId, expiresAt: new Date(command.expiresAt).toISOString(), actuators: this.actuators.map((a) => a.name) }, 'freeze applied');
        this.metrics.freezes.inc({ mode: 'enforce' });
      }
      this.frozenUntil.set(command.scopeKey, command.expiresAt);
      dispatched++;
    }
    return dispatched;
  }
}
