/**
 * passport strategies: "local" checks email + password at login; "bearer" resolves session tokens and API
 * keys on every other call. Each app gets its own Passport instance, so tests can build several apps.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import passport from 'passport';
import { Strategy as BearerStrategy } from 'passport-http-bearer';
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

export function createPassport(db: Db, principals: PrincipalCache): passport.PassportStatic {
  const instance = new passport.Passport() as passport.PassportStatic;
  instance.use(
    new LocalStrategy(
      { usernameField: 'email', passwordField: 'password', session: false },
      (email, password, done) => {
        verifyLogin(db, email, password).then((user) => done(null, user ?? false), done);
      },
    ),
  );
  instance.use(
    new BearerStrategy((token, done) => {
      resolvePrincipal(db, token, principals).then((p) => done(null, p ?? false), done);
    }),
  );
  return instance;
}

const CHALLENGE = 'Bearer realm="ax-testbed-registry"';

/** Requires a valid bearer token in the Authorization header (never in the query string or body). */
export function authenticate(instance: passport.PassportStatic): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!/^Bearer\s+\S+$/i.test(req.get('Authorization') ?? '')) {
      res.setHeader('WWW-Authenticate', CHALLENGE);
      return next(unauthorized());
    }
    instance.authenticate('bearer', { session: false }, (err: unknown, principal: Principal | false) => {
      if (err) return next(err);
      if (!principal) {
        res.setHeader('WWW-Authenticate', `${CHALLENGE}, error="invalid_token"`);
        return next(unauthorized('The bearer token is not valid: unknown, expired or revoked.'));
      }
      req.principal = principal;
      next();
    })(req, res, next);
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
