/**
 * Authentication: passport-local checks email + password at login; `authenticate` resolves session tokens and
 * API keys on every other call. Each app gets its own Passport instance, so tests can build several apps.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import type { Db } from '../db/client.js';
import { unauthorized } from '../core/errors.js';
import type { PrincipalCache } from './principal-cache.js';
import type { Principal } from '../core/principal.js';
import { resolvePrincipal } from './resolve.js';
import { verifyLogin, type LoginUser } from './service.js';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

export function createPassport(db: Db): passport.PassportStatic {
  const instance = new passport.Passport() as passport.PassportStatic;
  instance.use(
    new LocalStrategy(
      { usernameField: 'email', passwordField: 'password', session: false },
      (email, password, done) => {
        verifyLogin(db, email, password).then((user) => done(null, user ?? false), done);
      },
    ),
  );
  return instance;
}

const CHALLENGE = 'Bearer realm="ax-testbed-registry"';
const BEARER = /^Bearer\s+\S+$/i;
const BEARER_TOKEN = /^Bearer (\S+)$/i;

const offersToken = (where: unknown) =>
  typeof where === 'object' && where !== null && Boolean((where as { access_token?: unknown }).access_token);

/**
 * Requires a valid bearer token in the Authorization header (never in the query string or body). Run directly
 * rather than through passport: its per-request set-up (a middleware built per call, a strategy object per
 * request) cost more than resolving a cached token. The rules are those passport-http-bearer applied: the scheme
 * and the token separated by one space, and a token offered a second time in the body or the query refused.
 */
export function authenticate(db: Db, principals: PrincipalCache): RequestHandler {
  const invalid = (res: Response, next: NextFunction) => {
    res.setHeader('WWW-Authenticate', `${CHALLENGE}, error="invalid_token"`);
    next(unauthorized('The bearer token is not valid: unknown, expired or revoked.'));
  };
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('Authorization') ?? '';
    if (!BEARER.test(header)) {
      res.setHeader('WWW-Authenticate', CHALLENGE);
      return next(unauthorized());
    }
    const token = BEARER_TOKEN.exec(header)?.[1];
    if (!token || offersToken(req.body) || offersToken(req.query)) return invalid(res, next);
    resolvePrincipal(db, token, principals).then((principal: Principal | undefined) => {
      if (!principal) return invalid(res, next);
      req.principal = principal;
      next();
    }, next);
  };
}

/** Runs passport-local; resolves to the user or undefined for wrong credentials. */
export function checkPassword(
  instance: passport.PassportStatic,
  req: Request,
  res: Response,
): Promise<LoginUser | undefined> {
  return new Promise((resolve, reject) => {
    instance.authenticate('local', { session: false }, (err: unknown, user: LoginUser | false) => {
      if (err) reject(err);
      else resolve(user || undefined);
    })(req, res, reject);
  });
}
