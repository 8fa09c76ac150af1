/**
 * The Express side of errors: the middleware at the end of the chain turns an AppError (src/core/errors.ts),
 * or anything else thrown, into RFC 9457 problem+json. Unknown errors become a generic 500 whose detail never
 * carries a message or stack.
 */
import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { requestLogger } from '../observability/request-log.js';
import { AppError, RESERVED_PROBLEM_MEMBERS, badRequest, problemType, uploadInterrupted } from '../core/errors.js';
import { DbError } from '../db/errors.js';
import { TempLostError } from '../storage/store.js';

/** What a client is told to wait while the database is unreachable; the pool reconnects on the next query. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

export function sendProblem(res: Response, err: AppError, instance?: string): void {
  res
    .status(err.status)
    .type('application/problem+json')
    .json({
      type: problemType(err.code),
      title: err.title,
      status: err.status,
      detail: err.detail,
      code: err.code,
      ...(instance ? { instance } : {}),
      // The constructor refuses reserved names; filtering again keeps a mutated `extra` from shadowing them.
      ...Object.fromEntries(
        Object.entries(err.extra).filter(([k]) => !(RESERVED_PROBLEM_MEMBERS as readonly string[]).includes(k)),
      ),
    });
}

interface HttpishError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
}

/** Errors raised by Express's own body parser and friends carry a status and a type string. */
function fromHttpError(err: HttpishError, limitBytes: number): AppError | undefined {
  const status = err.status ?? err.statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  switch (err.type) {
    case 'entity.parse.failed':
      return new AppError(400, 'malformed-json', 'Malformed JSON', 'The request body is not valid JSON.');
    case 'entity.too.large':
      return new AppError(
        413,
        'payload-too-large',
        'Payload too large',
        `The request body exceeds ${limitBytes} bytes.`,
      );
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError(415, 'unsupported-media-type', 'Unsupported media type', 'Send the body as UTF-8 JSON.');
    case 'request.aborted':
      return new AppError(
        400,
        'request-aborted',
        'Request aborted',
        'The client closed the request before the body arrived.',
      );
    default:
      // send/serve-static report a missing file as a 404 without a type: it is a missing resource, not a bad request.
      if (status === 404) return new AppError(404, 'not-found', 'Not found', 'No such file.');
      return new AppError(
        status,
        'bad-request',
        STATUS_CODES[status] ?? 'Bad request',
        'The request could not be read.',
      );
  }
}

export function errorHandler(logger: Logger, bodyLimitBytes: number): ErrorRequestHandler {
  return (err, req, res, _next) => {
    let problem: AppError | undefined;
    if (err instanceof AppError) problem = err;
    else if (err instanceof DbError && err.kind === 'invalid_input') {
      problem = badRequest('A value in the request is not valid for its field.', 'invalid-value');
    } else if (err instanceof DbError && (err.kind === 'serialization_failure' || err.kind === 'deadlock')) {
      problem = new AppError(503, 'retry', 'Service busy', 'The request collided with another; retry it.');
      res.setHeader('Retry-After', '1');
    } else if (err instanceof TempLostError) {
      // The bytes were lost on our side (the temporary was removed from outside); nothing was committed.
      problem = uploadInterrupted();
      res.setHeader('Retry-After', '1');
    } else if (err instanceof DbError && err.kind === 'unavailable') {
      requestLogger(logger, req).warn({ err: err.message }, 'database unavailable');
      problem = new AppError(
        503,
        'database-unavailable',
        'Service unavailable',
        'The database cannot be reached right now; retry later.',
      );
      res.setHeader('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
    } else if (err && typeof err === 'object') problem = fromHttpError(err as HttpishError, bodyLimitBytes);

    if (!problem) {
      requestLogger(logger, req).error({ err }, 'unhandled error');
      problem = new AppError(
        500,
        'internal',
        'Internal server error',
        'Something went wrong on our side; it has been logged.',
      );
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendProblem(res, problem, req.id ? `urn:request:${String(req.id)}` : undefined);
  };
}
