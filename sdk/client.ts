/**
 * The typed client: openapi-fetch over the types generated from the service's own OpenAPI document, plus what
 * every caller would otherwise write again — bearer auth, an Idempotency-Key on creating POSTs, retries on
 * 429/503, problems thrown as ProblemError, cursor iteration.
 */
import { randomUUID } from 'node:crypto';
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from './generated/openapi.js';
import { IDEMPOTENT_OPERATIONS } from './generated/operations.js';
import { problemFrom, ProblemError } from './problem.js';
import { DEFAULT_RETRY, retryingFetch, type RetryOptions } from './retry.js';

export type { paths, components, operations } from './generated/openapi.js';

export interface AxClientOptions {
  /** Where the service is, e.g. http://localhost:3000 (no /v1). */
  baseUrl: string;
  /** A login session token (axs_…) or an API key (axk_…). */
  token?: string;
  /** ko or en: the language of explanations such as candidate reasons. */
  language?: string;
  retry?: Partial<RetryOptions>;
  /** Replaces globalThis.fetch (tests, proxies). */
  fetch?: (req: Request) => Promise<Response>;
  userAgent?: string;
}

/** openapi-fetch restricted to JSON answers, so `data` is the schema's type (not `Report | string`). */
export type Api = Client<paths, 'application/json'>;

export class AxClient {
  readonly api: Api;
  readonly baseUrl: string;
  readonly retry: RetryOptions;
  private readonly token: string | undefined;
  private readonly language: string | undefined;
  private readonly userAgent: string;
  /** The retrying fetch every call goes through, for requests the typed layer does not cover (streams). */
  readonly fetch: (req: Request) => Promise<Response>;

  constructor(opts: AxClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.token = opts.token;
    this.language = opts.language;
    this.userAgent = opts.userAgent ?? 'ax-registry-sdk';
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    const base = opts.fetch ?? ((req: Request) => globalThis.fetch(req));
    this.fetch = retryingFetch(base, this.retry);
    this.api = createClient<paths, 'application/json'>({ baseUrl: this.baseUrl, fetch: this.fetch });
    this.api.use(this.middleware());
  }

  /** Headers every request carries: auth, language, user agent. */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      'User-Agent': this.userAgent,
      ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}),
      ...(this.language ? { 'Accept-Language': this.language } : {}),
      ...extra,
    };
  }

  private middleware(): Middleware {
    return {
      onRequest: ({ request, schemaPath }) => {
        for (const [k, v] of Object.entries(this.headers())) if (!request.headers.has(k)) request.headers.set(k, v);
        // One key per call, set before the retrying fetch, so every retry of this call replays the same key.
        if (IDEMPOTENT_OPERATIONS.has(`${request.method} ${schemaPath}`) && !request.headers.has('Idempotency-Key')) {
          request.headers.set('Idempotency-Key', randomUUID());
        }
        return request;
      },
      onResponse: async ({ response }) => {
        if (!response.ok && response.status !== 304) throw await problemFrom(response.clone());
        return undefined;
      },
    };
  }

  /**
   * A request outside the typed paths (operations newer than this build's document): JSON in, JSON out,
   * problems thrown as ProblemError.
   */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(
      method,
      path,
      body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } },
    );
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  /** A raw request through auth and retries; throws ProblemError on a refusal, else hands back the Response. */
  async send(
    method: string,
    path: string,
    init: { body?: BodyInit; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const req = new Request(this.baseUrl + path, { method, body: init.body, headers: this.headers(init.headers) });
    const res = await this.fetch(req);
    if (!res.ok) throw await problemFrom(res);
    return res;
  }
}

/** The data of an openapi-fetch answer; errors were already thrown by the client's middleware. */
export function ok<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined) {
    if (result.response.status === 204) return undefined as T;
    throw new ProblemError({
      status: result.response.status,
      title: 'Empty answer',
      detail: 'The answer had no body.',
    });
  }
  return result.data;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
  hasMore?: boolean;
}

/**
 * Every item of a cursor-paged list, fetching pages as the loop asks for them. Ends at a null nextCursor, or,
 * for feeds that always hand back a cursor (GET /v1/events), when a page says hasMore false or is empty.
 */
export async function* iterate<T>(
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  start?: string,
): AsyncGenerator<T> {
  let cursor = start;
  for (;;) {
    const page = await fetchPage(cursor);
    yield* page.data;
    if (!page.nextCursor || page.hasMore === false || page.data.length === 0 || page.nextCursor === cursor) return;
    cursor = page.nextCursor;
  }
}
