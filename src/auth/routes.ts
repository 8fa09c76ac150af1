import type { Config } from '../config.js';
import { AppError } from '../core/errors.js';
import { schema, type ApiRouter } from '../http/route.js';
import { checkPassword } from './passport.js';
import type passport from 'passport';
import { toOrganizationDto, toUserDto } from './presenters.js';
import { ALL_SCOPES, grants } from '../core/scopes.js';
import { loadMe, login, logout, signup } from './service.js';
import type { SignupRequest } from '../generated/schema-types.js';
import type { Db } from '../db/client.js';
import type { PrincipalCache } from './principal-cache.js';

export function authRoutes(
  api: ApiRouter,
  db: Db,
  config: Config,
  instance: passport.PassportStatic,
  principals: PrincipalCache,
): void {
  api.add(
    {
      method: 'post',
      path: '/v1/auth/signup',
      operationId: 'signup',
      summary: 'Register a startup or partner organisation and its first user',
      tag: 'Auth',
      auth: 'public',
      body: schema<SignupRequest>('signup-request.json'),
      rateLimited: true,
      success: { status: 201, description: 'Organisation, user and a login token.', schema: 'signup-response.json' },
      errors: [409],
    },
    async ({ body, res }) => {
      const { org, user, session } = await signup(db, body, config.sessionTtlSeconds);
      res.status(201).json({
        organization: toOrganizationDto(org),
        user: toUserDto(user),
        token: session.token,
        expiresAt: session.expiresAt.toISOString(),
      });
    },
  );

  api.add(
    {
      method: 'post',
      path: '/v1/auth/login',
      operationId: 'login',
      summary: 'Exchange email and password for a session token',
      tag: 'Auth',
      auth: 'public',
      body: 'login-request.json',
      rateLimited: true,
      success: { status: 200, description: 'A login token that expires.', schema: 'login-response.json' },
      errors: [401],
    },
    async ({ req, res }) => {
      const user = await checkPassword(instance, req, res);
      if (!user) throw new AppError(401, 'invalid-credentials', 'Unauthorized', 'Email or password is wrong.');
      const session = await login(db, user, config.sessionTtlSeconds);
      res.json({ token: session.token, expiresAt: session.expiresAt.toISOString() });
    },
  );

  api.add(
    {
      method: 'post',
      path: '/v1/auth/logout',
      operationId: 'logout',
      summary: 'End the current login session',
      tag: 'Auth',
      auth: 'user',
      success: { status: 204, description: 'The session token no longer works.' },
    },
    async ({ principal, res }) => {
      await logout(db, principal, principals);
      res.status(204).end();
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/me',
      operationId: 'getMe',
      summary: 'The calling user, organisation, role and scopes',
      tag: 'Auth',
      auth: 'user',
      success: { status: 200, description: 'Who you are.', schema: 'me.json' },
    },
    async ({ principal, res }) => {
      const { user, org } = await loadMe(db, principal);
      res.json({
        user: toUserDto(user),
        organization: toOrganizationDto(org),
        role: org.kind,
        scopes: ALL_SCOPES.filter((s) => grants(principal.scopes, s)),
        via: principal.via,
      });
    },
  );
}
