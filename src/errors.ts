/**
 * One error family for the whole pipeline, in the kafkajs style: a stable `code`, whether retrying can help
 * (`retriable`), and the underlying `cause`. Retry and dead-letter decisions read only these fields.
 */
export type ErrorCode =
  | 'DECODE_EMPTY'
  | 'DECODE_NOT_JSON'
  | 'DECODE_NOT_AVRO'
  | 'DECODE_UNKNOWN_FORMAT'
  | 'DECODE_MISSING_FIELD'
  | 'DECODE_BAD_FIELD'
  | 'DECODE_TOO_LARGE'
  | 'CONFIG_INVALID'
  | 'MODEL_INVALID'
  | 'SINK_FAILED'
  | 'ACTION_FAILED'
  | 'BROKER_UNAVAILABLE'
  | 'THREAD_FAILED'
  | 'CONSUMER_GAVE_UP'
  | 'USAGE';

export class AuditwatchError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  override readonly cause?: unknown;

  constructor(code: ErrorCode, message: string, opts: { retriable?: boolean; cause?: unknown } = {}) {
    super(message);
    this.name = 'AuditwatchError';
    this.code = code;
    this.retriable = opts.retriable ?? false;
    this.cause = opts.cause;
  }
}

/** A record that cannot become an AuditEvent. Never retriable: the same bytes fail the same way. */
export class DecodeError extends AuditwatchError {
  constructor(code: Extract<ErrorCode, `DECODE_${string}`>, message: string, cause?: unknown) {
    super(code, message, { retriable: false, cause });
    this.name = 'DecodeError';
  }
}

/** A configuration that cannot start the job; `problems` holds one line per problem, each naming its key. */
export class ConfigError extends AuditwatchError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super('CONFIG_INVALID', problems.join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function isRetriable(err: unknown): boolean {
  if (err instanceof AuditwatchError) return err.retriable;
  // kafkajs errors carry the same field.
  return typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === true;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** How far a cause chain is followed: kafkajs's retry wrappers nest a few deep; a cycle or a runaway chain stops here. */
const MAX_CAUSES = 5;

/** The error, then its `cause`, the cause's cause, and so on (kafkajs's retry wrappers carry the broker's error so). */
export function* causeChain(err: unknown): Generator<unknown> {
  let e = err;
  for (let depth = 0; ; depth++) {
    yield e;
    const cause = typeof e === 'object' && e !== null ? (e as { cause?: unknown }).cause : undefined;
    if (depth === MAX_CAUSES || cause === undefined || cause === e) return;
    e = cause;
  }
}

/** The innermost cause: the broker's own error under kafkajs's wrappers. */
export function rootCause(err: unknown): unknown {
  let last = err;
  for (const e of causeChain(err)) last = e;
  return last;
}

/**
 * Whether waiting and trying again can help: the error is retriable, or it is a give-up (kafkajs's "number of
 * retries exceeded") whose cause was. A broker that is down for a minute fails the second way.
 */
export function isTransient(err: unknown): boolean {
  for (const e of causeChain(err)) if (isRetriable(e)) return true;
  return false;
}
