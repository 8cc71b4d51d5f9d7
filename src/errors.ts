/**
 * Every error code, with what it means to someone reading it in a log or a dead-letter header. The reference
 * (docs/reference/error-codes.md) is generated from this table and checked against it by a test.
 */
export const ERROR_CODES = {
  DECODE_EMPTY: 'the record has no bytes (dead-lettered)',
  DECODE_NOT_JSON: 'the record is not valid JSON (dead-lettered)',
  DECODE_NOT_AVRO: 'the record does not decode as Avro with the schema in the repository (dead-lettered)',
  DECODE_MISSING_FIELD: 'a field the format requires is missing; the reason names it (dead-lettered)',
  DECODE_BAD_FIELD: 'a field has the wrong type or an impossible value, such as an event time out of range (dead-lettered)',
  DECODE_TOO_LARGE: 'the record is over 16 MiB (dead-lettered)',
  DECODE_SCHEMA_UNKNOWN: 'a Confluent-framed Avro record names a schema id the schema registry does not know, or one that cannot be read as the canonical event (dead-lettered)',
  DECODE_SCHEMA_PENDING: 'a decode thread met a schema id not looked up yet; the detection thread looks it up and decodes the record (never dead-lettered)',
  SCHEMA_REGISTRY_UNAVAILABLE: 'the schema registry did not answer (network, timeout, 5xx): retried, the batch waits, nothing is dead-lettered',
  SCHEMA_REGISTRY_REFUSED: 'the schema registry refused to register the alert schema (e.g. incompatible with the subject\'s latest version)',
  CONFIG_INVALID: 'the config does not validate, or a key, file or secret it names does not load: one line per problem, exit 2',
  MODEL_INVALID: 'the model directory has no baselines, or ones this build cannot read: run `auditwatch train`',
  DELIVERY_FAILED: 'an alert output did not accept an alert after its attempts (written to `<alerts topic>.undelivered` with the reason)',
  ACTION_FAILED: 'an actuator could not check, apply or revert a freeze (audited as FreezeFailed and alerted at run time)',
  THREAD_FAILED: 'a consumer or decode thread died; the run stops rather than leave records undetected',
  CONSUMER_GAVE_UP: 'the cluster refused a consumer for good (kafkajs will not restart it); the line names the key to change',
  INPUT_EMPTY: 'a replay, train, report or backtest read no event at all: the line says how many files and records it read, and why none decoded',
  USAGE: 'a bad command-line argument: one line, exit 2',
} as const;

/**
 * One error family for the whole pipeline, in the kafkajs style: a stable `code`, whether retrying can help
 * (`retriable`), and the underlying `cause`. Retry and dead-letter decisions read only these fields.
 */
export type ErrorCode = keyof typeof ERROR_CODES;

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

/** A bad argument or request: one line (exit 2 from the CLI, a message in the console). */
export class UsageError extends AuditwatchError {
  constructor(message: string) {
    super('USAGE', message);
    this.name = 'UsageError';
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

/**
 * `build` for each item, with every ConfigError's problems gathered into one (one line each, in item order), so a
 * config with several problems is told all of them at once. Other errors go through; undefined results are dropped.
 */
export function buildEach<T, R>(items: readonly T[], build: (item: T, index: number) => R | undefined): R[] {
  const built: R[] = [];
  const problems: string[] = [];
  items.forEach((item, i) => {
    try {
      const r = build(item, i);
      if (r !== undefined) built.push(r);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
    }
  });
  if (problems.length) throw new ConfigError(problems);
  return built;
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
