/**
 * Deadlines on receiving request bodies, for every route (the JSON parser runs before authentication, so an
 * anonymous client could otherwise hold a socket for ever by sending a body slowly or not at all):
 * - idle: a body that stops arriving for REQUEST_IDLE_TIMEOUT_SECONDS is cut;
 * - total: a body must have arrived whole within REQUEST_BODY_TIMEOUT_SECONDS, unless an authenticated route
 *   streams it (dataset uploads, resumable uploads), which keeps going as long as bytes flow.
 * A cut answers 408 problem+json `request-timeout` when nothing was answered yet, and closes the connection.
 * With MAX_CONNECTIONS on the server (see limitServer) no client holds more than a bounded number of sockets,
 * each for a bounded time, before it has authenticated.
 */
import type { Server } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { AppError } from '../core/errors.js';
import { sendProblem } from './errors.js';

export interface BodyDeadlineSettings {
  idleMs: number;
  totalMs: number;
}

const LIFT = Symbol('lift total body deadline');

type Deadlined = Request & { [LIFT]?: () => void };

function hasBody(req: Request): boolean {
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

export function bodyDeadlines(settings: BodyDeadlineSettings): RequestHandler {
  return (req, res, next) => {
    if (!hasBody(req) || req.complete) return next();
    const socket = req.socket;
    let total: NodeJS.Timeout | undefined;
    let armed = true;
    const disarm = () => {
      if (!armed) return;
      armed = false;
      if (total) clearTimeout(total);
      req.removeListener('timeout', onIdle);
      res.removeListener('timeout', onLateTimeout);
      req.removeListener('end', disarm);
      res.removeListener('finish', onFinish);
      socket.removeListener('close', disarm);
      // Once the response is finished Node owns the socket's timeout again (keep-alive); leave it alone.
      if (!socket.destroyed && !res.writableFinished) socket.setTimeout(0);
    };
    const cut = (why: string) => {
      disarm();
      if (res.headersSent || socket.destroyed) {
        socket.destroy();
        return;
      }
      res.setHeader('Connection', 'close');
      res.once('finish', () => socket.destroy());
      sendProblem(res, new AppError(408, 'request-timeout', 'Request timeout', why));
    };
    const onIdle = () => cut(`No part of the request body arrived for ${settings.idleMs / 1000} s.`);
    // The body arrived but nobody read it yet (req.complete): Node would destroy the socket on a timeout it
    // cannot hand to the request, so take it here and stop the clock.
    const onLateTimeout = () => disarm();
    // Answered before the body arrived (a 401, a 415): what is left only drains, under the same deadlines.
    const onFinish = () => {
      if (req.complete) disarm();
    };
    req.setTimeout(settings.idleMs, onIdle);
    res.on('timeout', onLateTimeout);
    req.once('end', disarm);
    res.on('finish', onFinish);
    socket.once('close', disarm);
    total = setTimeout(
      () => cut(`The request body did not arrive within ${settings.totalMs / 1000} s.`),
      settings.totalMs,
    );
    total.unref();
    (req as Deadlined)[LIFT] = () => {
      if (total) clearTimeout(total);
      total = undefined;
    };
    next();
  };
}

/** For routes that stream an authenticated body: only the idle deadline applies from here on. */
export function liftTotalDeadline(req: Request): void {
  (req as Deadlined)[LIFT]?.();
}

/** Bounds sockets per process; beyond it new connections are dropped by the kernel-facing listener. */
export function limitServer(server: Server, maxConnections: number): void {
  server.maxConnections = maxConnections;
}
