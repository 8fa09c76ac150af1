/**
 * Every setting comes from the environment, is validated once at start-up and has a default that works on a
 * laptop. A bad value stops the process with a message naming the variable, never a silent fallback.
 */
import { isIPv4, isIPv6 } from 'node:net';

interface S3Config {
  endpoint?: string;
  region: string;
  bucket: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
}

export interface Config {
  port: number;
  databaseUrl: string | undefined;
  dataDir: string;
  uploadsDir: string;
  uploadMaxBytes: number;
  /** Bytes of distinct dataset content one organisation may store (identical files count once). */
  uploadQuotaBytes: number;
  /** Start-up sweep removes temporary upload files older than this (raise it when processes share UPLOADS_DIR). */
  uploadTempMaxAgeSeconds: number;
  /** tus resumable uploads: an unfinished upload expires this long after its creation. */
  uploadExpirySeconds: number;
  /** Largest resumable upload accepted (Upload-Length). */
  resumableMaxBytes: number;
  /** Where dataset bytes live: the uploads directory, or an S3-compatible bucket. */
  storage: 'local' | 's3';
  s3: S3Config | undefined;
  adminEmail: string | undefined;
  adminPassword: string | undefined;
  demoData: boolean;
  webhookAllowNetworks: string[];
  webhookRetrySchedule: number[];
  /** Run the webhook delivery worker inside the API process (npm run worker runs it on its own). */
  webhookWorker: boolean;
  /** Webhook URLs must be https (default: when NODE_ENV=production). */
  webhookRequireHttps: boolean;
  /** Deliveries in flight at once in one process, and to one endpoint across every process. */
  webhookConcurrency: number;
  webhookEndpointConcurrency: number;
  /** Whole-attempt deadline (connect, headers and body) and the connect deadline alone, in ms. */
  webhookTimeoutMs: number;
  webhookConnectTimeoutMs: number;
  /** How long a claimed delivery stays leased to its worker; after a crash it is due again once this passes. */
  webhookLeaseSeconds: number;
  /** How often an idle worker looks for due deliveries, in ms (a safety net: new deliveries wake it at once). */
  webhookPollMs: number;
  /** Wake the worker on new deliveries (LISTEN/NOTIFY; in-process on the embedded database); false = poll only. */
  webhookWakeUp: boolean;
  /** An endpoint failing without a single success for this long is disabled. */
  webhookDisableAfterSeconds: number;
  /** How long a rotated-out secret keeps signing alongside the new one. */
  webhookSecretGraceSeconds: number;
  logLevel: string;
  /** How long a process may reuse a resolved bearer token before asking the database again (0 = never). */
  authCacheSeconds: number;
  /** Lifetime of a login session token. */
  sessionTtlSeconds: number;
  /** Attempts per client address per window on login and signup. */
  authRateLimit: number;
  authRateWindowSeconds: number;
  /** Largest JSON request body. */
  bodyLimitBytes: number;
  /** Trust X-Forwarded-For from this many proxy hops (0 = none). */
  trustProxy: number;
  /** How long an Idempotency-Key is remembered. */
  idempotencyTtlSeconds: number;
  shutdownGraceSeconds: number;
  /** Allocation runs one process solves at once; more are refused with 429. */
  allocationMaxRuns: number;
  /** A request body that stops arriving for this long is cut (408); uploads included. */
  requestIdleTimeoutSeconds: number;
  /** A request body must arrive whole within this long, unless an authenticated route streams it (uploads). */
  requestBodyTimeoutSeconds: number;
  /** Open sockets one process accepts; further connections are dropped. */
  maxConnections: number;
  /** Origins whose browser pages may call the API (CORS), exactly as browsers send them; "*" for any. */
  corsOrigins: string[];

  /** How long a requested match or accepted proposal holds its units before it expires. */
  holdTtlSeconds: number;
  /** How often the hold sweeper looks for expired holds, in ms. */
  holdSweepMs: number;
}

export class ConfigError extends Error {}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

function cidrList(env: Env, name: string): string[] {
  const raw = env[name]?.trim();
  if (!raw) return [];
  return raw.split(',').map((part) => {
    const cidr = part.trim();
    const [addr, bits, extra] = cidr.split('/');
    const max = addr && isIPv4(addr) ? 32 : addr && isIPv6(addr) ? 128 : -1;
    if (max < 0 || extra !== undefined || bits === undefined || !/^\d+$/.test(bits) || Number(bits) > max) {
      throw new ConfigError(
        `${name} must be a comma-separated list of CIDRs such as 127.0.0.0/8,::1/128; "${cidr}" is not one`,
      );
    }
    return cidr;
  });
}

/** CORS_ORIGINS: comma-separated origins such as https://app.example.kr,http://localhost:5173, or "*". */
function originList(env: Env, name: string): string[] {
  const raw = env[name]?.trim();
  if (!raw) return [];
  return raw.split(',').map((part) => {
    const origin = part.trim();
    if (origin === '*') return origin;
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== origin) {
      throw new ConfigError(
        `${name} must be comma-separated origins such as https://app.example.kr (scheme, host and port only, ` +
          `no path or trailing slash), or *; "${origin}" is not one`,
      );
    }
    return origin;
  });
}

function secondsList(env: Env, name: string, fallback: number[]): number[] {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^\d+(\.\d+)?$/.test(p))) {
    throw new ConfigError(`${name} must be comma-separated delays in seconds such as 0,5,300; got "${raw}"`);
  }
  return parts.map(Number);
}

function s3Config(env: Env): S3Config | undefined {
  const storage = (env.STORAGE?.trim() || 'local').toLowerCase();
  if (storage !== 'local' && storage !== 's3') {
    throw new ConfigError(`STORAGE must be local or s3, got "${env.STORAGE}"`);
  }
  if (storage === 'local') return undefined;
  const bucket = env.S3_BUCKET?.trim();
  if (!bucket || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new ConfigError('STORAGE=s3 needs S3_BUCKET, a bucket name such as ax-datasets');
  }
  const endpoint = env.S3_ENDPOINT?.trim() || undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint)) {
    throw new ConfigError('S3_ENDPOINT must be a URL such as https://kr.object.ncloudstorage.com');
  }
  const accessKeyId = env.S3_ACCESS_KEY_ID?.trim() || undefined;
  const secretAccessKey = env.S3_SECRET_ACCESS_KEY || undefined;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new ConfigError(
      'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together (or neither, for the SDK default credentials)',
    );
  }
  return {
    endpoint,
    region: env.S3_REGION?.trim() || 'us-east-1',
    bucket,
    accessKeyId,
    secretAccessKey,
    forcePathStyle: bool(env, 'S3_FORCE_PATH_STYLE', false),
  };
}

function databaseUrl(env: Env): string | undefined {
  const raw = env.DATABASE_URL?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('DATABASE_URL must be a URL such as postgres://user@127.0.0.1:5432/db');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`DATABASE_URL must use postgres:// or postgresql://, got ${url.protocol}`);
  }
  return raw;
}

/** For process entries: the configuration, or exit code 2 with a message naming the bad setting. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`Configuration error: ${err.message}\n`);
    process.exit(2);
  }
}

export function loadConfig(env: Env = process.env): Config {
  const dbUrl = databaseUrl(env);
  const s3 = s3Config(env);
  const logLevel = (env.LOG_LEVEL?.trim() || 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  }
  const adminEmail = env.ADMIN_EMAIL?.trim() || undefined;
  const adminPassword = env.ADMIN_PASSWORD || undefined;
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    throw new ConfigError('ADMIN_EMAIL and ADMIN_PASSWORD must be set together');
  }
  if (adminEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(adminEmail)) {
    throw new ConfigError('ADMIN_EMAIL must be an email address');
  }
  if (adminPassword !== undefined && adminPassword.length < 10) {
    throw new ConfigError('ADMIN_PASSWORD must be at least 10 characters');
  }
  const webhookTimeout = int(env, 'WEBHOOK_TIMEOUT_MS', 15_000, 100, 120_000);
  const webhookLease = int(env, 'WEBHOOK_LEASE_SECONDS', 60, 1, 3600);
  if (webhookLease * 1000 <= webhookTimeout) {
    throw new ConfigError(
      'WEBHOOK_LEASE_SECONDS must be longer than WEBHOOK_TIMEOUT_MS, or a slow delivery could be claimed twice',
    );
  }
  return {
    port: int(env, 'PORT', 3000, 0, 65535),
    databaseUrl: dbUrl,
    dataDir: env.DATA_DIR?.trim() || './data',
    uploadsDir: env.UPLOADS_DIR?.trim() || './uploads',
    uploadMaxBytes: int(env, 'UPLOAD_MAX_BYTES', 5 * 1024 ** 3, 1, Number.MAX_SAFE_INTEGER),
    uploadQuotaBytes: int(env, 'UPLOAD_QUOTA_BYTES', 100 * 1024 ** 3, 1, Number.MAX_SAFE_INTEGER),
    uploadTempMaxAgeSeconds: int(env, 'UPLOAD_TEMP_MAX_AGE_SECONDS', 0, 0, 30 * 24 * 3600),
    uploadExpirySeconds: int(env, 'UPLOAD_EXPIRY_SECONDS', 86400, 60, 30 * 24 * 3600),
    resumableMaxBytes: int(env, 'RESUMABLE_MAX_BYTES', 1024 ** 4, 1, Number.MAX_SAFE_INTEGER),
    storage: s3 ? 's3' : 'local',
    s3,
    adminEmail,
    adminPassword,
    demoData: bool(env, 'DEMO_DATA', dbUrl === undefined),
    webhookAllowNetworks: cidrList(env, 'WEBHOOK_ALLOW_NETWORKS'),
    webhookRetrySchedule: secondsList(env, 'WEBHOOK_RETRY_SCHEDULE', [0, 5, 300, 1800, 7200, 18000, 36000, 36000]),
    webhookWorker: bool(env, 'WEBHOOK_WORKER', true),
    webhookRequireHttps: bool(env, 'WEBHOOK_REQUIRE_HTTPS', env.NODE_ENV?.trim() === 'production'),
    webhookConcurrency: int(env, 'WEBHOOK_CONCURRENCY', 16, 1, 1000),
    webhookEndpointConcurrency: int(env, 'WEBHOOK_ENDPOINT_CONCURRENCY', 1, 1, 100),
    webhookTimeoutMs: webhookTimeout,
    webhookConnectTimeoutMs: Math.min(5000, webhookTimeout),
    webhookLeaseSeconds: webhookLease,
    webhookPollMs: int(env, 'WEBHOOK_POLL_MS', 500, 10, 60_000),
    webhookWakeUp: bool(env, 'WEBHOOK_WAKE_UP', true),
    webhookDisableAfterSeconds: int(env, 'WEBHOOK_DISABLE_AFTER_SECONDS', 5 * 86_400, 1, 365 * 86_400),
    webhookSecretGraceSeconds: int(env, 'WEBHOOK_SECRET_GRACE_SECONDS', 86_400, 0, 30 * 86_400),
    logLevel,
    sessionTtlSeconds: int(env, 'SESSION_TTL_SECONDS', 12 * 3600, 60, 90 * 24 * 3600),
    authCacheSeconds: int(env, 'AUTH_CACHE_SECONDS', 5, 0, 300),
    authRateLimit: int(env, 'AUTH_RATE_LIMIT', 20, 1, 1_000_000),
    authRateWindowSeconds: int(env, 'AUTH_RATE_WINDOW_SECONDS', 60, 1, 86_400),
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    trustProxy: int(env, 'TRUST_PROXY', 0, 0, 10),
    idempotencyTtlSeconds: int(env, 'IDEMPOTENCY_TTL_SECONDS', 24 * 3600, 60, 30 * 24 * 3600),
    shutdownGraceSeconds: int(env, 'SHUTDOWN_GRACE_SECONDS', 10, 0, 600),
    allocationMaxRuns: int(env, 'ALLOCATION_MAX_RUNS', 2, 1, 64),
    requestIdleTimeoutSeconds: int(env, 'REQUEST_IDLE_TIMEOUT_SECONDS', 30, 1, 3600),
    requestBodyTimeoutSeconds: int(env, 'REQUEST_BODY_TIMEOUT_SECONDS', 60, 1, 3600),
    maxConnections: int(env, 'MAX_CONNECTIONS', 1024, 1, 1_000_000),
    corsOrigins: originList(env, 'CORS_ORIGINS'),

    holdTtlSeconds: int(env, 'HOLD_TTL_SECONDS', 172_800, 60, 365 * 24 * 3600),
    holdSweepMs: int(env, 'HOLD_SWEEP_MS', 5000, 50, 3_600_000),
  };
}
