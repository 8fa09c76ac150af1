/**
 * One HTTP attempt, hardened for receivers that misbehave: a deadline over the whole exchange (a receiver
 * that trickles its answer byte by byte hits it too), a connect deadline, no redirects, no proxy, at most
 * 1 KiB of the answer read, and the SSRF guard on every address actually connected to.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
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

  send(url: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    const started = performance.now();
    const target = this.targetOf(url);
    if (target.refused !== undefined) return Promise.resolve(failed(started, target.refused));
    return new Promise((resolve) => {
      const exchange = new Exchange(started, this.deadline, resolve);
      this.deadline.arm(exchange);
      this.agent.dispatch(
        {
          origin: target.origin,
          path: target.path,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT, ...headers },
          body,
        },
        exchange,
      );
    });
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
 * One request and its answer, as undici's dispatcher hands them over: the status, the first LOG_BYTES of the
 * body (more cuts the connection) and Retry-After. Reading the answer through these callbacks rather than a
 * body stream saves the stream, its async iterator and their listeners on every delivery.
 */
class Exchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private statusCode = 0;
  private retryAfter: string | string[] | undefined;
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private done = false;

  constructor(
    private readonly started: number,
    private readonly deadline: Deadline,
    private readonly resolve: (r: SendResult) => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.done) controller.abort(new Error('the request did not complete within its deadline'));
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.statusCode = statusCode;
    this.retryAfter = headers['retry-after'];
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.done) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size <= LOG_BYTES) return;
    this.answered(true);
    controller.abort(new Error('answer longer than logged'));
  }

  onResponseEnd(): void {
    this.answered(false);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.finish(failed(this.started, describe(err, false)));
  }

  /** The deadline passed: the request in flight is aborted (or will be, when it starts). */
  timedOut(): void {
    this.finish(failed(this.started, describe(undefined, true)));
    this.controller?.abort(new Error('the request did not complete within its deadline'));
  }

  private answered(truncated: boolean): void {
    const status = this.statusCode;
    this.finish({
      statusCode: status,
      durationMs: Math.round(performance.now() - this.started),
      body: Buffer.concat(this.chunks)
        .subarray(0, LOG_BYTES)
        .toString('utf8')
        .replace(/\u0000/g, '')
        .replace(/\uFFFD$/, ''),
      truncated,
      error: null,
      retryAfterSeconds: status === 429 || status === 503 ? retryAfter(this.retryAfter) : null,
    });
  }

  private finish(r: SendResult): void {
    if (this.done) return;
    this.done = true;
    this.deadline.disarm();
    this.resolve(r);
  }
}

const failed = (started: number, error: string): SendResult => ({
  statusCode: null,
  durationMs: Math.round(performance.now() - started),
  body: '',
  truncated: false,
  error,
  retryAfterSeconds: null,
});

/**
 * The deadline of a line: armed for each request, it ends the request (once) when it is not done within `ms`.
 * Its one timer is refreshed rather than made anew; firing while disarmed (between requests) does nothing.
 */
class Deadline {
  private exchange: Exchange | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ms: number) {}

  arm(exchange: Exchange): void {
    this.exchange = exchange;
    if (this.timer) this.timer.refresh();
    else {
      this.timer = setTimeout(() => this.fire(), this.ms);
      // A request in flight keeps the process alive through its socket; the timer alone should not.
      this.timer.unref();
    }
  }

  disarm(): void {
    this.exchange = undefined;
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.exchange = undefined;
  }

  private fire(): void {
    const exchange = this.exchange;
    this.exchange = undefined;
    exchange?.timedOut();
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
