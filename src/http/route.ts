/**
 * Routes are declared once as operations: method, path, scope, schemas, responses. The same declaration
 * wires the Express middleware chain (auth → scope → params → query → body → idempotency → handler) and feeds
 * the OpenAPI document, so the docs cannot drift from what the server enforces.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Router } from 'express';
import { AppError, forbidden, validationFailed } from '../core/errors.js';
import type { Principal } from '../core/principal.js';
import { grants, type Scope } from '../core/scopes.js';
import type { Db } from '../db/client.js';
import { liftTotalDeadline } from './body-deadlines.js';
import { idempotency } from './idempotency.js';
import type { Validator } from './validation.js';

type Method = 'get' | 'head' | 'post' | 'put' | 'patch' | 'delete';

export interface ResponseSpec {
  status: number;
  description: string;
  /** Schema file id for a JSON body; omitted for empty bodies. */
  schema?: string;
  /** Non-JSON bodies (calendars, CSV) name their media type instead. */
  mediaType?: string;
  /** Raw bytes served under one of these media types (a dataset in the type sniffed at upload). */
  mediaTypes?: readonly string[];
  headers?: string[];
}

declare const validates: unique symbol;

/**
 * A schema file id that also tells the compiler the type of a value that passed validation against it, so
 * the handler's `body` or `query` is typed by the declaration itself. A plain string is a schema of unknown type.
 */
export type SchemaRef<T> = string & { readonly [validates]?: T };

/** `body: schema<PilotPatch>('pilot-patch.json')`: the file Ajv validates against, and the type that yields. */
export const schema = <T>(file: string): SchemaRef<T> => file as SchemaRef<T>;

type PathParamNames<P extends string> = P extends `${string}{${infer Name}}${infer Rest}`
  ? Name | PathParamNames<Rest>
  : never;

/**
 * The path parameters a declared path names, each a string: `/v1/pilots/{id}/uploads/{uploadId}` gives
 * `{ id: string; uploadId: string }`. A path only known as `string` falls back to a record of strings.
 */
export type PathParams<P extends string> = string extends P
  ? Record<string, string>
  : { readonly [K in PathParamNames<P>]: string };

export interface OperationSpec<P extends string = string, B = unknown, Q = unknown> {
  method: Method;
  /**
   * OpenAPI-style path, written out in full (never assembled from parts, so a search for a path finds its
   * declaration): /v1/pilots/{id}. Every path parameter is a UUID.
   */
  path: P;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** 'public' needs no token; 'user' any valid token; a scope a token carrying it. */
  auth: 'public' | 'user' | Scope;
  query?: SchemaRef<Q>;
  body?: SchemaRef<B>;
  /** Creating POSTs accept Idempotency-Key. */
  idempotent?: boolean;
  /** The answer shows a secret once: its idempotency record is sealed to the requesting credential. */
  secretResponse?: boolean;
  /** PATCH operations demand If-Match. */
  ifMatch?: boolean;
  /** Set by ApiRouter on every GET answering 200: If-None-Match with a current ETag gets 304 without a body. */
  ifNoneMatch?: boolean;
  /** Login and signup run behind the auth rate limiter. */
  rateLimited?: boolean;
  success: ResponseSpec;
  /** Error statuses beyond those implied by the flags above. */
  errors?: number[];
  /** Further non-error responses (206 Partial Content, 304 Not Modified). */
  otherResponses?: ResponseSpec[];
  /**
   * A multipart/form-data body. The route only checks the media type: the handler streams the parts itself
   * (multer) and validates the text fields against the `fields` schema. The document shows the fields plus
   * a binary part named `file`.
   */
  multipart?: { fields: string; file: string; fileDescription?: string };
  /** Request headers the operation reads, by name in components.parameters of the document. */
  headerParams?: string[];
  /** A raw request body (tus PATCH): its media type and what it carries. */
  rawBody?: { mediaType: string; description: string };

  /**
   * The handler streams the body itself (multipart uploads, resumable uploads): once the caller is authenticated
   * the body may take as long as bytes keep flowing (REQUEST_IDLE_TIMEOUT_SECONDS), not REQUEST_BODY_TIMEOUT_SECONDS.
   */
  streamingBody?: boolean;
}

interface Ctx<B, Q, P extends string = string> {
  req: Request;
  res: Response;
  body: B;
  query: Q;
  params: PathParams<P>;
  /** The caller; throws on public routes, where there is none. */
  readonly principal: Principal;
}

export type Handler<B, Q, P extends string = string> = (ctx: Ctx<B, Q, P>) => Promise<void> | void;
export type RawHandler<P extends string = string> = (
  req: Request,
  res: Response,
  params: PathParams<P>,
) => Promise<void>;

export interface RouteDeps {
  db: Db;
  validator: Validator;
  /** Demands a valid bearer token and sets req.principal (src/auth/passport.ts). */
  authenticate: RequestHandler;
  idempotencyTtlSeconds: number;
  authRateLimiter: RequestHandler;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function pathParams(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
}

const insufficientScope = (scope: Scope) => {
  const e = forbidden(`This API key lacks the "${scope}" scope.`);
  return new AppError(403, 'insufficient-scope', e.title, e.detail, { requiredScope: scope });
};

function checkPathParams(names: string[], raw: Record<string, string>): Record<string, string> {
  const errors = names
    .filter((n) => !UUID.test(raw[n] ?? ''))
    .map((n) => ({ pointer: `/path/${n}`, message: 'must be a UUID' }));
  if (errors.length) throw validationFailed(errors, 'A path parameter is not valid.');
  const out: Record<string, string> = {};
  for (const n of names) out[n] = (raw[n] as string).toLowerCase();
  return out;
}

function hasBody(req: Request): boolean {
  const len = req.get('Content-Length');
  return (len !== undefined && len !== '0') || req.get('Transfer-Encoding') !== undefined;
}

export class ApiRouter {
  readonly router = Router();
  readonly operations: OperationSpec[] = [];

  constructor(private readonly deps: RouteDeps) {}

  /** For handlers that validate parts of a request themselves (multipart fields). */
  get validator(): Validator {
    return this.deps.validator;
  }

  /**
   * Declares an operation. The handler's types come from the declaration: `params` from the path, `body` and
   * `query` from schema<T>(...) references (unknown and a record of unknowns for plain file ids).
   */
  add<P extends string, B = unknown, Q = Record<string, unknown>>(
    declared: OperationSpec<P, B, Q>,
    handler: Handler<B, Q, P>,
  ): void {
    const spec = conditionalGet(declared);
    this.operations.push(spec);
    const { validator } = this.deps;
    const names = pathParams(spec.path);
    const chain: RequestHandler[] = [];
    if (spec.rateLimited) chain.push(this.deps.authRateLimiter);
    if (spec.auth !== 'public') chain.push(this.deps.authenticate);
    if (spec.auth !== 'public' && (spec.multipart || spec.streamingBody)) {
      chain.push((req, _res, next) => {
        liftTotalDeadline(req);
        next();
      });
    }
    if (spec.auth !== 'public' && spec.auth !== 'user') {
      const scope = spec.auth;
      chain.push((req, _res, next) => {
        if (!grants(req.principal!.scopes, scope)) {
          return next(insufficientScope(scope));
        }
        next();
      });
    }
    chain.push(async (req: Request, res: Response, next: NextFunction) => {
      const params = checkPathParams(names, req.params as Record<string, string>);
      const query = spec.query
        ? validator.check<Q>('query', spec.query, { ...(req.query as Record<string, unknown>) })
        : rejectUnknownQuery<Q>(req);
      let body: unknown = undefined;
      if (spec.multipart && !req.is('multipart/form-data')) {
        throw new AppError(
          415,
          'unsupported-media-type',
          'Unsupported media type',
          'Send the body as multipart/form-data.',
        );
      }
      if (spec.body) {
        if (hasBody(req) && !req.is(['application/json', 'application/*+json'])) {
          throw new AppError(
            415,
            'unsupported-media-type',
            'Unsupported media type',
            'Send the body as application/json.',
          );
        }
        body = validator.check('body', spec.body, req.body ?? null);
        const nul = findNul(body, '/body');
        if (nul) {
          const errors = [{ pointer: nul, message: 'must not contain the NUL character' }];
          throw validationFailed(errors, 'Text may not contain NUL characters.');
        }
      }
      res.locals.input = { params, query, body };
      next();
    });
    if (spec.idempotent) {
      chain.push(
        idempotency(
          this.deps.db,
          this.deps.idempotencyTtlSeconds,
          (req) => `${req.principal?.organizationId ?? 'anonymous'}`,
          {
            sealed: spec.secretResponse,
          },
        ),
      );
    }
    chain.push(async (req: Request, res: Response) => {
      const input = res.locals.input as { params: PathParams<P>; query: Q; body: B };
      await handler({
        req,
        res,
        body: input.body,
        query: input.query,
        params: input.params,
        get principal(): Principal {
          if (!req.principal) throw new Error(`${spec.operationId} is public and has no principal`);
          return req.principal;
        },
      });
    });
    const expressPath = spec.path.replace(/\{(\w+)\}/g, ':$1');
    this.router[spec.method](expressPath, ...chain);
  }

  /**
   * An operation whose protocol a library speaks (tus): declared like the others (document, 405s) and behind
   * the same authentication, scope and path checks, but the handler reads and answers the raw request.
   */
  mount<P extends string>(spec: OperationSpec<P>, handler: RawHandler<P>): void {
    this.operations.push(spec);
    const names = pathParams(spec.path);
    const chain: RequestHandler[] = [];
    if (spec.auth !== 'public') chain.push(this.deps.authenticate);
    if (spec.auth !== 'public' && spec.auth !== 'user') {
      const scope = spec.auth;
      chain.push((req, _res, next) => {
        if (!grants(req.principal!.scopes, scope)) {
          return next(insufficientScope(scope));
        }
        next();
      });
    }
    chain.push(async (req: Request, res: Response) => {
      await handler(req, res, checkPathParams(names, req.params as Record<string, string>) as PathParams<P>);
    });
    this.router[spec.method](spec.path.replace(/\{(\w+)\}/g, ':$1'), ...chain);
  }
}

const NOT_MODIFIED: ResponseSpec = {
  status: 304,
  description: 'If-None-Match matched the current ETag: the copy you have is current (no body).',
  headers: ['ETag'],
};

/**
 * Every GET that answers 200 is a conditional GET. Its answer carries an ETag: the version tag a single resource
 * sets itself, or else the weak tag Express derives from the body (lists, reports, calendars), which changes
 * whenever anything on the page does. res.send compares it with If-None-Match (req.fresh) and answers 304
 * without a body; routes that stream (dataset content) do the same themselves. This declares it.
 */
function conditionalGet(spec: OperationSpec): OperationSpec {
  if (spec.method !== 'get' || spec.success.status !== 200) return spec;
  const headers = spec.success.headers ?? [];
  const others = spec.otherResponses ?? [];
  return {
    ...spec,
    ifNoneMatch: true,
    success: headers.includes('ETag') ? spec.success : { ...spec.success, headers: [...headers, 'ETag'] },
    otherResponses: others.some((r) => r.status === 304) ? others : [...others, NOT_MODIFIED],
  };
}

/** Operations without a query schema take no query parameters; a stray one is probably a typo. */
function rejectUnknownQuery<Q>(req: Request): Q {
  const keys = Object.keys(req.query as object);
  if (keys.length) {
    throw validationFailed(
      keys.map((k) => ({ pointer: `/query/${k}`, message: 'is not a known parameter' })),
      'This operation takes no query parameters.',
    );
  }
  return {} as Q;
}

/** PostgreSQL text cannot hold U+0000; find the first string (or key) that has one. */
function findNul(value: unknown, pointer: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? pointer : undefined;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const hit = findNul(v, `${pointer}/${i}`);
      if (hit) return hit;
    }
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const hit = findNul(k, pointer) ?? findNul(v, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
      if (hit) return hit;
    }
  }
  return undefined;
}
