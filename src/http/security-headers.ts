/**
 * Helmet's security headers, worked out once. With a fixed configuration (no per-request nonces) helmet sets the
 * same headers on every answer, through a chain of eleven middleware: here helmet runs once against a recording
 * response at start-up and each request gets the recorded headers in one step. Helmet stays the source of the
 * values, so upgrading it or changing the options changes what is sent.
 */
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import helmet, { type HelmetOptions } from 'helmet';

type Step = { set: [string, string | string[]] } | { remove: string };

export function securityHeaders(options: HelmetOptions): RequestHandler {
  const steps: Step[] = [];
  // Only the two calls helmet makes on a response; anything else it tried would throw here, at start-up.
  const recorder = {
    setHeader: (name: string, value: string | string[]) => void steps.push({ set: [name, value] }),
    removeHeader: (name: string) => void steps.push({ remove: name }),
  };
  let failed: unknown;
  let called = false;
  void helmet(options)({} as IncomingMessage, recorder as never, (err?: unknown) => {
    called = true;
    failed = err;
  });
  if (!called || failed) throw new Error(`helmet did not finish on its own: ${String(failed)}`);
  return (_req, res, next) => {
    for (const step of steps) {
      if ('set' in step) res.setHeader(...step.set);
      else res.removeHeader(step.remove);
    }
    next();
  };
}
