import { AuditwatchError } from '../../errors.js';
import { sleepUnlessAborted } from '../../util/retry.js';

export interface PostOptions extends RetryPolicy {
  /** Per attempt, ms. */
  timeout: number;
  /** Headers for one attempt (a signature is fresh per attempt: its timestamp moves). */
  headers: (attempt: number) => Record<string, string>;
}

/** A Retry-After header as ms: seconds, or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The wait before retry `attempt` (from 1): exponential from `backoff`, capped, with full jitter. */
export function backoffMs(attempt: number, opts: { backoff: number; maxBackoff: number }, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(opts.maxBackoff, opts.backoff * 2 ** (attempt - 1)));
}

/** What one attempt came to: done, or a reason to try again (after `waitMs`, when the endpoint said how long). */
export type AttemptOutcome = { done: true } | { done: false; reason: string; waitMs?: number };

export interface RetryPolicy {
  retries: number;
  backoff: number;
  maxBackoff: number;
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (reason: string) => void;
  random?: () => number;
  /** Aborted when the process stops: no further attempt or wait (the caller delivers again after a restart). */
  signal?: AbortSignal;
}

/**
 * The one retry loop every output shares: `attempt` until it is done, at most `retries` more times, with exponential
 * backoff and full jitter (or the wait the endpoint asked for). An attempt that throws an AuditwatchError is final.
 * Throws DELIVERY_FAILED with the last reason, named after `what`.
 */
export async function withRetries(what: string, attempt: (n: number) => Promise<AttemptOutcome>, policy: RetryPolicy): Promise<{ attempts: number }> {
  const sleep = policy.sleep ?? ((ms: number) => sleepUnlessAborted(ms, policy.signal));
  let last: AttemptOutcome = { done: false, reason: '' };
  for (let n = 0; n <= policy.retries; n++) {
    if (n > 0 && !last.done) {
      policy.onRetry?.(last.reason);
      await sleep(last.waitMs || backoffMs(n, policy, policy.random));
    }
    if (policy.signal?.aborted) throw new AuditwatchError('DELIVERY_FAILED', `${what}: stopped after ${n} attempt(s): shutting down`, { retriable: true });
    last = await attempt(n);
    if (last.done) return { attempts: n + 1 };
  }
  throw new AuditwatchError('DELIVERY_FAILED', `${what}: ${last.done ? '' : last.reason} after ${policy.retries + 1} attempts`, { retriable: true });
}

/**
 * POSTs a body until the endpoint accepts it (2xx). Network errors, timeouts, 408, 429 and 5xx are retried (after
 * the endpoint's Retry-After when it gives one); any other 4xx is final (the request itself is wrong, and sending it
 * again will not help).
 */
export function postWithRetries(url: string, body: string, opts: PostOptions): Promise<{ attempts: number }> {
  return withRetries(url, async (n) => {
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...opts.headers(n) }, body, signal: AbortSignal.timeout(opts.timeout) });
      await res.arrayBuffer();
      if (res.ok) return { done: true };
      if (res.status < 500 && res.status !== 429 && res.status !== 408) {
        throw new AuditwatchError('DELIVERY_FAILED', `${url}: refused with HTTP ${res.status}; not retried`, { retriable: false });
      }
      return { done: false, reason: `HTTP ${res.status}`, waitMs: Math.min(opts.maxBackoff, retryAfterMs(res.headers.get('retry-after')) ?? 0) };
    } catch (err) {
      if (err instanceof AuditwatchError) throw err;
      return { done: false, reason: (err as Error).name === 'TimeoutError' ? `timed out after ${opts.timeout} ms` : (err as Error).message };
    }
  }, opts);
}
