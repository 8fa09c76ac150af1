/**
 * Retries on 429 and 503 with exponential backoff and full jitter, waiting at least what Retry-After asks
 * (delta-seconds or an HTTP date). Other statuses, and network errors, are the caller's to decide.
 */
export interface RetryOptions {
  /** Further attempts after the first; 0 turns retrying off. */
  retries: number;
  /** First backoff step in ms; doubles each attempt. */
  baseDelayMs: number;
  /** Longest wait between two attempts, Retry-After included. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { retries: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

export const RETRYABLE = new Set([429, 503]);

/** Milliseconds Retry-After asks for, or undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The wait before attempt `attempt` (1 = first retry). */
export function backoffMs(
  attempt: number,
  retryAfter: string | null,
  opts: RetryOptions,
  random = Math.random,
): number {
  const exp = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** (attempt - 1));
  const jittered = Math.round(exp / 2 + random() * (exp / 2));
  return Math.min(opts.maxDelayMs, Math.max(jittered, retryAfterMs(retryAfter) ?? 0));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A fetch that retries 429/503 answers; the request is cloned for each attempt so its body can be sent again. */
export function retryingFetch(
  base: (req: Request) => Promise<Response>,
  opts: RetryOptions,
): (req: Request) => Promise<Response> {
  return async (req) => {
    for (let attempt = 0; ; attempt++) {
      const res = await base(attempt < opts.retries ? req.clone() : req);
      if (!RETRYABLE.has(res.status) || attempt >= opts.retries) return res;
      await res.body?.cancel();
      await sleep(backoffMs(attempt + 1, res.headers.get('Retry-After'), opts));
    }
  };
}
