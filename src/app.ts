/**
 * Builds the Express app from its dependencies, without listening: server.ts listens, tests call
 * request(createApp(...)) in-process.
 */
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import swaggerUi from 'swagger-ui-express';
import { apiKeyRoutes } from './api-keys/routes.js';
import { blackoutRoutes } from './blackouts/routes.js';
import { bookingRoutes } from './bookings/routes.js';
import { datasetRoutes } from './datasets/routes.js';
import { resumableRoutes } from './resumable/routes.js';
import { authenticate, createPassport } from './auth/passport.js';
import { PrincipalCache } from './auth/principal-cache.js';
import { authRoutes } from './auth/routes.js';
import { serveConsole } from './console/serve.js';
import type { Config } from './config.js';
import type { Db } from './db/client.js';
import { domainRoutes } from './domains/routes.js';
import { landingRoutes } from './landing/routes.js';

import { bodyDeadlines } from './http/body-deadlines.js';
import { cors } from './http/cors.js';
import { AppError, PROBLEM_CODES, isProblemCode } from './core/errors.js';
import { errorHandler } from './http/errors.js';
import { authRateLimiter } from './http/rate-limit.js';
import { securityHeaders } from './http/security-headers.js';
import { ApiRouter } from './http/route.js';
import { matchingRoutes } from './matching/routes.js';
import { RunGate } from './matching/run-gate.js';

import { configureHolds } from './matching/holds.js';
import { Validator } from './http/validation.js';
import { createMetrics } from './observability/metrics.js';
import { requestLog } from './observability/request-log.js';
import { buildOpenApi } from './openapi/document.js';
import { pilotRoutes } from './pilots/routes.js';
import { creditRoutes } from './credits/routes.js';
import { reportRoutes } from './reports/routes.js';
import { slotRoutes } from './testbeds/slot-routes.js';
import { testbedRoutes } from './testbeds/routes.js';
import { VERSION } from './version.js';
import { waitlistRoutes } from './waitlist/routes.js';
import { webhookRoutes } from './webhooks/routes.js';

export interface AppDeps {
  db: Db;
  config: Config;
  logger: Logger;
  /** Flipped by graceful shutdown so /readyz turns the load balancer away. */
  readiness?: { shuttingDown: boolean };
  /** Bounds allocation runs in flight; built from ALLOCATION_MAX_RUNS unless given (tests hold places in it). */
  allocationRuns?: RunGate;
}

export interface App extends Express {
  openapi: Record<string, unknown>;
}

/** Liveness, readiness and Prometheus metrics, declared like every other operation so the document lists them. */
function probeRoutes(
  api: ApiRouter,
  db: Db,
  readiness: { shuttingDown: boolean },
  metrics: ReturnType<typeof createMetrics>,
): void {
  const common = { method: 'get', tag: 'Operations', auth: 'public' } as const;
  api.add(
    {
      ...common,
      path: '/healthz',
      operationId: 'getHealth',
      summary: 'Liveness',
      success: { status: 200, description: 'The process answers.', schema: 'health.json' },
    },
    (c) => void c.res.json({ status: 'ok' }),
  );
  api.add(
    {
      ...common,
      path: '/readyz',
      operationId: 'getReadiness',
      summary: 'Readiness: the database answers and the process is not shutting down',
      success: { status: 200, description: 'Ready for traffic.', schema: 'readiness.json' },
      errors: [503],
    },
    async ({ res }) => {
      const notReady = (reason: string, detail: string) =>
        new AppError(503, 'not-ready', 'Not ready', detail, { reason });
      if (readiness.shuttingDown) throw notReady('shutting-down', 'The process is shutting down.');
      try {
        await db.query('SELECT 1 FROM schema_migrations LIMIT 1');
      } catch {
        throw notReady('database-unavailable', 'The database does not answer.');
      }
      res.json({ status: 'ready', database: db.engine });
    },
  );
  api.add(
    {
      ...common,
      path: '/metrics',
      operationId: 'getMetrics',
      summary: 'Prometheus metrics (text exposition format)',
      success: { status: 200, description: 'Counters and histograms of this process.', mediaType: 'text/plain' },
    },
    async ({ res }) => void res.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
}

export function createApp(deps: AppDeps): App {
  const { db, config, logger } = deps;
  configureHolds(config);
  const readiness = deps.readiness ?? { shuttingDown: false };
  const app = express() as unknown as App;
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('query parser', 'simple');

  // First of all: no middleware may wait on a body that never ends.
  app.use(
    bodyDeadlines({
      idleMs: config.requestIdleTimeoutSeconds * 1000,
      totalMs: config.requestBodyTimeoutSeconds * 1000,
    }),
  );
  const metrics = createMetrics();
  app.use(requestLog(logger, { ignore: (req) => req.url === '/healthz' || req.url === '/metrics' }));
  app.use(metrics.middleware);
  app.use(cors(config.corsOrigins, () => api.operations));
  app.use(
    securityHeaders({
      contentSecurityPolicy: {
        directives: {
          'script-src': ["'self'"],
          'style-src': ["'self'", "'unsafe-inline'"],
          'img-src': ["'self'", 'data:'],
          // The service is often reached over plain HTTP on a laptop or behind a TLS-terminating proxy.
          'upgrade-insecure-requests': null,
        },
      },
    }),
  );
  app.use(express.json({ limit: config.bodyLimitBytes, type: ['application/json', 'application/*+json'] }));

  const validator = new Validator();
  const principals = new PrincipalCache(config.authCacheSeconds);
  const passport = createPassport(db);
  const api = new ApiRouter({
    db,
    validator,
    authenticate: authenticate(db, principals),
    idempotencyTtlSeconds: config.idempotencyTtlSeconds,
    authRateLimiter: authRateLimiter(db, config.authRateLimit, config.authRateWindowSeconds),
  });
  landingRoutes(api);
  authRoutes(api, db, config, passport, principals);
  apiKeyRoutes(api, db, principals);
  domainRoutes(api);
  pilotRoutes(api, db);
  creditRoutes(api, db);
  testbedRoutes(api, db);
  slotRoutes(api, db);
  matchingRoutes(api, db, deps.allocationRuns ?? new RunGate(config.allocationMaxRuns));
  bookingRoutes(api, db);
  blackoutRoutes(api, db);
  waitlistRoutes(api, db);
  reportRoutes(api, db);
  datasetRoutes(api, db, config);
  resumableRoutes(api, db, config);
  webhookRoutes(api, db, config);
  probeRoutes(api, db, readiness, metrics);
  app.use(api.router);

  app.openapi = buildOpenApi(api.operations, validator.schemas, VERSION);
  app.get('/openapi.json', (_req, res) => {
    res.json(app.openapi);
  });
  app.use(
    '/docs',
    swaggerUi.serve,
    swaggerUi.setup(undefined, {
      swaggerOptions: { url: '/openapi.json' },
      customSiteTitle: 'AX Testbed Registry API',
    }),
  );
  app.get('/problems/:code', (req, res, next) => {
    const { code } = req.params;
    // Own keys only: /problems/toString is not a problem type.
    if (!isProblemCode(code)) return next(new AppError(404, 'not-found', 'Not found', 'No such problem type.'));
    res.json({ code, description: PROBLEM_CODES[code] });
  });

  serveConsole(app);

  const knownPaths = api.operations.map((o) => ({
    re: new RegExp('^' + o.path.replace(/\{\w+\}/g, '[^/]+') + '/?$'),
    method: o.method,
  }));
  app.use((req, res, next) => {
    const matching = knownPaths.filter((p) => p.re.test(req.path));
    if (matching.length) {
      res.setHeader('Allow', [...new Set(matching.map((m) => m.method.toUpperCase()))].join(', '));
      return next(
        new AppError(405, 'method-not-allowed', 'Method not allowed', `${req.method} is not supported on this path.`),
      );
    }
    next(new AppError(404, 'route-not-found', 'Not found', `No operation at ${req.method} ${req.path}.`));
  });
  app.use(errorHandler(logger, config.bodyLimitBytes));
  return app;
}
