import type { FreezeCommand } from './freeze-command.js';

/**
 * Something that makes a freeze real. `check` verifies preconditions and changes nothing; `apply` and `revert`
 * are idempotent (the same command twice is one freeze).
 */
export interface Actuator {
  readonly name: string;
  check(): Promise<void>;
  apply(command: FreezeCommand): Promise<void>;
  revert(scopeKey: string): Promise<void>;
}
