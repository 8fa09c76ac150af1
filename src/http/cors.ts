/**
 * Cross-origin requests from browsers (a web app on another origin, Uppy or tus-js-client uploading to
 * /v1/pilots/{id}/uploads), for the origins in CORS_ORIGINS only; with none configured (the default) no answer
 * carries CORS headers and browsers keep other origins out. API-wide: a page that uploads also signs in and
 * reads what it uploaded. Credentials are bearer tokens sent by the script, never cookies, so answers allow no
 * credentials.
 * - A preflight (OPTIONS with Access-Control-Request-Method) on a declared path, from an allowed origin, is
 *   answered here with 204, before authentication (browsers send no Authorization with it): the methods that
 *   path serves, the request headers the API reads (tus ones included), Max-Age.
 * - Every other answer to an allowed origin, errors included, names it in Access-Control-Allow-Origin and
 *   exposes the response headers a client needs (Location, ETag, the tus headers, Dataset-Id, Retry-After).
 * The tus server is configured with the same policy (see resumable/routes.ts), so its answers agree.
 */
import type { RequestHandler } from 'express';

/** Request headers a cross-origin script may send (beyond the CORS-safelisted ones). */
const ALLOW_HEADERS = [
  'Authorization',
  'Content-Type',
  'Idempotency-Key',
  'If-Match',
  'If-None-Match',
  'If-Range',
  'Range',
  'Accept-Language',
  'X-Request-Id',
  'X-Requested-With',
  // tus 1.0 (tus-js-client, Uppy)
  'Tus-Resumable',
  'Upload-Length',
  'Upload-Offset',
  'Upload-Metadata',
  'Upload-Defer-Length',
  'Upload-Concat',
  'Upload-Checksum',
  'X-HTTP-Method-Override',
];

/** Response headers a cross-origin script may read (beyond the CORS-safelisted ones). */
const EXPOSE_HEADERS = [
  'Location',
  'ETag',
  'Link',
  'Retry-After',
  'X-Request-Id',
  'Content-Disposition',
  'Content-Range',
  'Accept-Ranges',
  'Repr-Digest',
  'Dataset-Id',
  // tus 1.0
  'Tus-Resumable',
  'Tus-Version',
  'Tus-Max-Size',
  'Tus-Extension',
  'Upload-Offset',
  'Upload-Length',
  'Upload-Metadata',
  'Upload-Defer-Length',
  'Upload-Concat',
  'Upload-Expires',
];

/** How long a browser may reuse a preflight answer, in seconds. */
const MAX_AGE_SECONDS = 86_400;

/** Whether a browser page at origin may call the API: exactly one of the configured origins, or any with "*". */
function corsAllows(origins: readonly string[]): (origin: string) => boolean {
  const any = origins.includes('*');
  const set = new Set(origins);
  return (origin) => any || set.has(origin);
}

/**
 * The same policy as options of @tus/server, for the answers it writes: Access-Control-Allow-Origin only for
 * an allowed origin (left to itself it answers "*" to any), and the same exposed headers.
 */
export function tusCorsOptions(origins: readonly string[]) {
  const allows = corsAllows(origins);
  return {
    allowedOrigins: (origin: string) => origins.length > 0 && allows(origin),
    allowedHeaders: ALLOW_HEADERS,
    exposedHeaders: EXPOSE_HEADERS,
  };
}

/** The declared paths and their methods, as the preflight answers them. */
interface Declared {
  path: string;
  method: string;
}

/**
 * The CORS middleware, first in the chain so that every answer carries the headers (a 400 from the JSON parser
 * too); `operations` is read at the first request, once every route is declared.
 */
export function cors(origins: readonly string[], operations: () => readonly Declared[]): RequestHandler {
  const allows = corsAllows(origins);
  let paths: Map<string, { re: RegExp; methods: Set<string> }> | undefined;
  const methodsAt = (path: string) => {
    if (!paths) {
      paths = new Map();
      for (const op of operations()) {
        let p = paths.get(op.path);
        if (!p) {
          p = { re: new RegExp('^' + op.path.replace(/\{\w+\}/g, '[^/]+') + '/?$'), methods: new Set() };
          paths.set(op.path, p);
        }
        p.methods.add(op.method.toUpperCase());
      }
    }
    const out = new Set<string>();
    for (const p of paths.values()) if (p.re.test(path)) p.methods.forEach((m) => out.add(m));
    return out;
  };
  const allowHeaders = ALLOW_HEADERS.join(', ');
  const exposeHeaders = EXPOSE_HEADERS.join(', ');

  return (req, res, next) => {
    if (origins.length === 0) return next();
    // Whether an answer carries CORS headers depends on Origin: caches must keep the answers apart.
    res.vary('Origin');
    const origin = req.headers.origin;
    if (origin === undefined || !allows(origin)) return next();
    res.setHeader('Access-Control-Allow-Origin', origin);
    const requested = req.headers['access-control-request-method'];
    if (req.method !== 'OPTIONS' || typeof requested !== 'string') {
      res.setHeader('Access-Control-Expose-Headers', exposeHeaders);
      return next();
    }
    const methods = methodsAt(req.path);
    // An unknown path or method: no approval, so the browser does not send the request.
    if (!methods.has(requested.toUpperCase())) return next();
    if (methods.has('GET')) methods.add('HEAD');
    res
      .status(204)
      .set({
        'Access-Control-Allow-Methods': [...methods, 'OPTIONS'].join(', '),
        'Access-Control-Allow-Headers': allowHeaders,
        'Access-Control-Max-Age': String(MAX_AGE_SECONDS),
      })
      .end();
  };
}
