import { setTimeout as wait } from 'node:timers/promises';
import { errorMessage, isTransient } from '../errors.js';
import type { Logger } from '../log.js';

export interface RetryOptions {
  /** Named in the log line of each failed attempt. */
  what: string;
  log: Logger;
  /** Stop retrying (and throw the last error) once this says so: the process is shutting down. */
  stopping: () => boolean;
  /** Between attempts, after the backoff (a consumer keeps its group membership alive here). */
  between?: () => Promise<void>;
}

/**
 * Retries `work` in place while its failure is transient (a broker restarting), with exponential backoff up to
 * 5 s, until it succeeds or the caller stops. Whether to retry reads only the error's `retriable` and `cause`.
 */
export async function retryWhileTransient<T>(work: () => Promise<T>, opts: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (!isTransient(err) || opts.stopping()) throw err;
      const delay = Math.min(5000, 100 * 2 ** attempt);
      opts.log.warn({ err: errorMessage(err), attempt, retryInMs: delay }, `${opts.what} failed; retrying`);
      await new Promise((r) => setTimeout(r, delay));
      await opts.between?.().catch(() => {});
    }
  }
}

/** Waits `ms`, or less when `signal` aborts first; resolves either way (the caller reads the signal). */
export function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<void> {
  return wait(ms, undefined, { signal }).catch(() => undefined);
}
