import { AuditwatchError } from '../../errors.js';

export interface PostOptions {
  /** Per attempt, ms. */
  timeout: number;
  /** Attempts after the first. */
  retries: number;
  /** The first backoff, ms; each retry doubles it, with full jitter, up to `maxBackoff`. */
  backoff: number;
  maxBackoff: number;
  /** Headers for one attempt (a signature is fresh per attempt: its timestamp moves). */
  headers: (attempt: number) => Record<string, string>;
  sleep?: (ms: number) => Promise<void>;
  /** Called before each retry, with why the last attempt failed. */
  onRetry?: (reason: string) => void;
  random?: () => number;
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

/**
 * POSTs a body until the endpoint accepts it (2xx). Network errors, timeouts, 408, 429 and 5xx are retried with
 * exponential backoff and full jitter, or after the endpoint's Retry-After when it gives one; any other 4xx is final
 * (the request itself is wrong, and sending it again will not help). Throws DELIVERY_FAILED with the last reason.
 */
export async function postWithRetries(url: string, body: string, opts: PostOptions): Promise<{ attempts: number }> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = opts.random ?? Math.random;
  let reason = '';
  let wait = 0;
  for (let attempt = 0; attempt <= opts.retries; attempt++) {
    if (attempt > 0) {
      opts.onRetry?.(reason);
      await sleep(wait || backoffMs(attempt, opts, random));
    }
    wait = 0;
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...opts.headers(attempt) }, body, signal: AbortSignal.timeout(opts.timeout) });
      await res.arrayBuffer();
      if (res.ok) return { attempts: attempt + 1 };
      reason = `HTTP ${res.status}`;
      if (res.status < 500 && res.status !== 429 && res.status !== 408) {
        throw new AuditwatchError('DELIVERY_FAILED', `${url}: refused with ${reason}; not retried`, { retriable: false });
      }
      wait = Math.min(opts.maxBackoff, retryAfterMs(res.headers.get('retry-after')) ?? 0);
    } catch (err) {
      if (err instanceof AuditwatchError) throw err;
      reason = (err as Error).name === 'TimeoutError' ? `timed out after ${opts.timeout} ms` : (err as Error).message;
    }
  }
  throw new AuditwatchError('DELIVERY_FAILED', `${url}: ${reason} after ${opts.retries + 1} attempts`, { retriable: true });
}
