/**
 * The console's only way to the server: the public /v1 API with the signed-in user's bearer token. Errors
 * arrive as RFC 9457 problem+json and become ApiError, which the views show as title, detail and field list.
 */
import type { Problem as ProblemDocument } from './types.js';

const TOKEN_KEY = 'ax-console.token';

/**
 * What a refusal carries: problem.json's members, each possibly missing (an answer from a proxy, or no answer at
 * all, is not a problem document), plus the extension members some problems add (slot-unsuitable's reasons).
 */
export type Problem = Partial<ProblemDocument> & { readonly [extension: string]: unknown };

/** An extension member that is a list of strings (`reasons`), or nothing. */
export function problemStrings(problem: Problem, member: string): string[] {
  const value = problem[member];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.name = 'ApiError';
  }
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Creating POSTs send an Idempotency-Key so a double click or a retry never creates twice. */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

let language: 'ko' | 'en' = 'ko';
let onUnauthorized: (() => void) | undefined;

export const session = {
  get token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set(token: string): void {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** Server-written text (match reasons) follows the console's language. */
export function setApiLanguage(lang: 'ko' | 'en'): void {
  language = lang;
}

/** Called when a request comes back 401 with a token: the session expired or was revoked. */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}

function url(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = {
    Accept: 'application/json, application/problem+json',
    'Accept-Language': language,
  };
  const token = session.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;

  let res: Response;
  try {
    res = await fetch(url(path, opts.query), {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
      credentials: 'omit',
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, { title: 'network', detail: err instanceof Error ? err.message : String(err) });
  }

  const text = await res.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (!res.ok) {
    const problem: Problem =
      parsed && typeof parsed === 'object' ? (parsed as Problem) : { title: res.statusText, status: res.status };
    if (res.status === 401 && token) onUnauthorized?.();
    throw new ApiError(res.status, problem);
  }
  return parsed as T;
}

export const get = <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>('GET', path, { query, signal });
export const post = <T>(path: string, body?: unknown, opts: Omit<RequestOptions, 'body'> = {}) =>
  request<T>('POST', path, { ...opts, body });

/** Follows nextCursor until the list ends or `max` items arrived. */
export async function getAll<T>(path: string, query: Query = {}, max = 1000, signal?: AbortSignal): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null | undefined;
  do {
    const page = await get<Page<T>>(path, { ...query, limit: 200, cursor: cursor ?? undefined }, signal);
    out.push(...(Array.isArray(page?.data) ? page.data : []));
    cursor = page?.nextCursor;
  } while (cursor && out.length < max);
  return out;
}
