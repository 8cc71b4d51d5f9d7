import type { FreezeCommand } from './freeze-command.js';

export type ApplyOutcome = 'applied' | 'already' | 'not-applicable';
export type RevertOutcome = 'reverted' | 'still-held' | 'already' | 'not-applicable';

/**
 * Something that makes a freeze real. `check` verifies preconditions and changes nothing. `apply` and `revert`
 * are idempotent: the same command applied twice is one freeze, and says 'already' the second time.
 */
export interface Actuator {
  readonly name: string;
  /** Preconditions at start; throws when the actuator could not work, returns warnings for what it could not verify. */
  check(): Promise<void | string[]>;
  apply(command: FreezeCommand): Promise<ApplyOutcome>;
  revert(command: FreezeCommand): Promise<RevertOutcome>;
  close(): Promise<void>;
}
