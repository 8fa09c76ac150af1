/**
 * One HTTP attempt, hardened for receivers that misbehave: a deadline over the whole exchange (a receiver
 * that trickles its answer byte by byte hits it too), a connect deadline, no redirects, no proxy, at most
 * 1 KiB of the answer read, and the SSRF guard on every address actually connected to.
 */
import { Agent, request } from 'undici';
import { SsrfError, literalAddress, type AddressPolicy } from './ssrf.js';

export const LOG_BYTES = 1024;

export interface SendResult {
  statusCode: number | null;
  durationMs: number;
  /** The first 1 KiB of the answer. */
  body: string;
  truncated: boolean;
  error: string | null;
  /** Seconds from a Retry-After header, when one was sent with 429 or 503. */
  retryAfterSeconds: number | null;
}

export interface SenderOptions {
  policy: AddressPolicy;
  timeoutMs: number;
  connectTimeoutMs: number;
}

export class Sender {
  private readonly agent: Agent;

  constructor(private readonly options: SenderOptions) {
    this.agent = new Agent({
      connect: { timeout: options.connectTimeoutMs, lookup: options.policy.lookup },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 4_000,
      connections: 64,
    });
  }

  async send(url: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    const started = performance.now();
    const done = (r: Omit<SendResult, 'durationMs'>): SendResult => ({
      ...r,
      durationMs: Math.round(performance.now() - started),
    });
    const fail = (error: string) =>
      done({ statusCode: null, body: '', truncated: false, error, retryAfterSeconds: null });
    let target: URL;
    try {
      target = new URL(url);
      const literal = literalAddress(target);
      // Connecting to a literal address involves no lookup, so it is checked here.
      if (literal) this.options.policy.check(literal);
    } catch (err) {
      return fail(err instanceof SsrfError ? `refused: ${err.message}` : 'invalid URL');
    }
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    try {
      const res = await request(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'AX-Testbed-Registry-Webhooks/1', ...headers },
        body,
        dispatcher: this.agent,
        signal,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        chunks.push(chunk);
        size += chunk.length;
        if (size > LOG_BYTES) {
          truncated = true;
          break;
        }
      }
      if (truncated) res.body.destroy();
      const text = Buffer.concat(chunks)
        .subarray(0, LOG_BYTES)
        .toString('utf8')
        .replace(/\u0000/g, '')
        .replace(/\uFFFD$/, '');
      return done({
        statusCode: res.statusCode,
        body: text,
        truncated,
        error: null,
        retryAfterSeconds:
          res.statusCode === 429 || res.statusCode === 503 ? retryAfter(res.headers['retry-after']) : null,
      });
    } catch (err) {
      return fail(describe(err, signal.aborted));
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** Retry-After as seconds from now: delta-seconds or an HTTP date; capped at a day. */
export function retryAfter(value: string | string[] | undefined): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return null;
  const s = /^\s*\d+\s*$/.test(v) ? Number(v) : (Date.parse(v) - Date.now()) / 1000;
  if (!Number.isFinite(s)) return null;
  return Math.min(Math.max(0, s), 86_400);
}

function describe(err: unknown, timedOut: boolean): string {
  if (timedOut) return 'timeout: no complete answer within the deadline';
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.code === 'ESSRF' || e.cause?.code === 'ESSRF' || err instanceof SsrfError)
    return `refused: ${e.message ?? e.cause?.message}`;
  const code = e.code ?? e.cause?.code;
  const msg = (e.message ?? 'request failed').slice(0, 300);
  return code ? `${code}: ${msg}` : msg;
}
