/**
 * The request id and the request log line: what pino-http did here, at a fraction of its cost per request. pino-http
 * builds two child loggers and registers four listeners on every request whether or not a line is written; with
 * the rest of the per-request middleware that was about a fifth of the Node CPU of a POST /v1/pilots (docs/decisions.md).
 * Here the line is built only when its level is enabled, and a logger bound to the request (requestLogger, for
 * the error handler) only when there is something to say.
 */
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set for every request by requestLog; named in problem documents as urn:request:<id>. */
    id?: string;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,100}$/;

export interface RequestLogOptions {
  /** Requests answered without a log line (probes, metrics scrapes). */
  ignore?: (req: Request) => boolean;
}

/** What a line says of the request: its id, method and path alone (query strings may carry feed tokens). */
function requestFields(req: Request) {
  return { id: req.id, method: req.method, path: (req.originalUrl ?? req.url).split('?')[0] };
}

/** A logger whose lines name the request, for what is logged about one request (errors), built when needed. */
export function requestLogger(logger: Logger, req: Request): Logger {
  return logger.child({ req: requestFields(req) });
}

/**
 * Sets req.id (a sane X-Request-Id as given, else a new UUID), echoes it in X-Request-Id, and writes
 * one line per request when its answer finishes or the connection closes first: `request completed`, or
 * `request errored` with `err` for a 5xx (the lines pino-http wrote, in the same shape).
 */
export function requestLog(logger: Logger, options: RequestLogOptions = {}): RequestHandler {
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    req.id = id;
    res.setHeader('X-Request-Id', id);
    if (options.ignore?.(req) || !logger.isLevelEnabled('info')) return next();
    const started = Date.now();
    const done = () => {
      res.removeListener('finish', done);
      res.removeListener('close', done);
      writeLine(logger, req, res, Date.now() - started);
    };
    res.on('finish', done);
    res.on('close', done);
    next();
  };
}

function writeLine(logger: Logger, req: Request, res: Response, responseTime: number): void {
  const fields = { req: requestFields(req), res: { statusCode: res.statusCode }, responseTime };
  if (res.statusCode >= 500) {
    const err = (res as { err?: unknown }).err ?? new Error(`failed with status code ${res.statusCode}`);
    logger.info({ ...fields, err }, 'request errored');
  } else logger.info(fields, 'request completed');
}
