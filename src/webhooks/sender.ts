/**
 * One HTTP attempt, hardened for receivers that misbehave: a deadline over the whole exchange (a receiver
 * that trickles its answer byte by byte hits it too), a connect deadline, no redirects, no proxy, at most
 * 1 KiB of the answer read, and the SSRF guard on every address actually connected to.
 */
import { EventEmitter } from 'node:events';
import { Agent } from 'undici';
import { SsrfError, literalAddress, type AddressPolicy } from './ssrf.js';

const LOG_BYTES = 1024;

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

  /** A line for one request at a time, as a worker's lane sends (see SendLine). */
  line(): SendLine {
    return new SendLine(this.agent, this.options);
  }

  /** One request on a line of its own. */
  async send(url: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    const line = this.line();
    try {
      return await line.send(url, headers, body);
    } finally {
      line.close();
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** Where a URL sends to, as undici's dispatcher takes it, or why it may not be sent to. */
type Target = { origin: string; path: string; refused?: undefined } | { refused: string };

/**
 * Sends one request after another (a lane's), with what each request would otherwise make anew: the parsed and
 * checked target of the last URL (a lane sends to one endpoint), and one deadline timer, re-armed for each
 * request, which aborts the request in flight when it fires. An AbortSignal.timeout per request cost a timer, an
 * AbortSignal and its listeners each time, several per cent of a delivery.
 */
export class SendLine {
  private url: string | undefined;
  private target: Target | undefined;
  private readonly deadline: Deadline;

  constructor(
    private readonly agent: Agent,
    private readonly options: SenderOptions,
  ) {
    this.deadline = new Deadline(options.timeoutMs);
  }

  async send(url: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    const started = performance.now();
    const done = (r: Omit<SendResult, 'durationMs'>): SendResult => ({
      ...r,
      durationMs: Math.round(performance.now() - started),
    });
    const fail = (error: string) =>
      done({ statusCode: null, body: '', truncated: false, error, retryAfterSeconds: null });
    const target = this.targetOf(url);
    if (target.refused !== undefined) return fail(target.refused);
    const deadline = this.deadline;
    deadline.arm();
    try {
      const res = await this.agent.request({
        origin: target.origin,
        path: target.path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT, ...headers },
        body,
        signal: deadline,
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
      return fail(describe(err, deadline.aborted));
    } finally {
      deadline.disarm();
    }
  }

  /** Stops the deadline timer; the line may still send afterwards (it starts a new timer). */
  close(): void {
    this.deadline.close();
  }

  private targetOf(url: string): Target {
    if (url === this.url && this.target) return this.target;
    let target: Target;
    try {
      const parsed = new URL(url);
      const literal = literalAddress(parsed);
      // Connecting to a literal address involves no lookup, so it is checked here.
      if (literal) this.options.policy.check(literal);
      target = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
    } catch (err) {
      target = { refused: err instanceof SsrfError ? `refused: ${err.message}` : 'invalid URL' };
    }
    this.url = url;
    this.target = target;
    return target;
  }
}

const USER_AGENT = 'AX-Testbed-Registry-Webhooks/1';

/**
 * The abort signal of a line, in the EventEmitter form undici accepts: armed for each request, it fires (once)
 * when the request is not done within `ms`. Its one timer is refreshed rather than made anew; firing while
 * disarmed (between requests) does nothing.
 */
class Deadline extends EventEmitter {
  aborted = false;
  reason: Error | undefined;
  private armed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ms: number) {
    super();
  }

  arm(): void {
    this.aborted = false;
    this.reason = undefined;
    this.armed = true;
    if (this.timer) this.timer.refresh();
    else {
      this.timer = setTimeout(() => this.fire(), this.ms);
      // A request in flight keeps the process alive through its socket; the timer alone should not.
      this.timer.unref();
    }
  }

  disarm(): void {
    this.armed = false;
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armed = false;
  }

  private fire(): void {
    if (!this.armed) return;
    this.armed = false;
    this.aborted = true;
    this.reason = new Error('the request did not complete within its deadline');
    this.emit('abort');
  }
}

/** Retry-After as seconds from now: delta-seconds or an HTTP date; capped at a day. */
function retryAfter(value: string | string[] | undefined): number | null {
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
