/**
 * Idempotency-Key on creating POSTs, kept in PostgreSQL so every API process sees the same records.
 * Same key + same request → the stored response is replayed (with Idempotent-Replayed: true);
 * same key + a different request → 422; a key whose first request is still running → 409.
 * Only successful responses are remembered, so a client may fix a refused request and retry under its key.
 *
 * Answers that show a secret once (a new API key, a calendar feed URL, a webhook signing secret) are stored
 * sealed: AES-256-GCM under a key derived from the caller's bearer token, which the database holds only as a
 * hash. A dump of the table reveals nothing, and only the credential that made the request can replay it; for
 * those routes the credential is part of the request's identity, so another one gets 422 idempotency-key-reused.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Db } from '../db/client.js';
import { badRequest, conflict, unprocessable } from '../core/errors.js';

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const REPLAYED_HEADERS = ['location', 'etag', 'content-type'];
// A record that never got a response (its process died) stops blocking the key after this long.
const STALE_IN_FLIGHT_SECONDS = 60;

interface StoredRecord {
  request_hash: string;
  status_code: number | null;
  response_body: unknown;
  response_headers: Record<string, string> | null;
}

function requestHash(req: Request, credential: string | undefined): string {
  return createHash('sha256')
    .update(credential === undefined ? '' : `credential:${credential}\0`)
    .update(req.method)
    .update('\0')
    .update(req.originalUrl)
    .update('\0')
    .update(JSON.stringify(req.body ?? null))
    .digest('hex');
}

/** The raw bearer token: never stored, so a key derived from it cannot be rebuilt from the database. */
function bearerOf(req: Request): string {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.get('Authorization') ?? '');
  if (!m) throw new Error('a sealed idempotent route must be authenticated');
  return m[1]!;
}

function sealingKey(token: string, principal: string, key: string): Buffer {
  return createHmac('sha256', token).update(`idempotency-seal\0${principal}\0${key}`).digest();
}

interface Sealed {
  sealed: string;
}

function seal(body: unknown, secretKey: Buffer): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', secretKey, iv);
  const data = Buffer.concat([cipher.update(JSON.stringify(body), 'utf8'), cipher.final()]);
  return { sealed: Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64') };
}

function unseal(stored: unknown, secretKey: Buffer): unknown {
  const raw = Buffer.from((stored as Sealed).sealed, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', secretKey, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8'));
}

export interface IdempotencyOptions {
  /** The answer carries a secret shown once: store it sealed to the requesting credential. */
  sealed?: boolean;
}

export function idempotency(
  db: Db,
  ttlSeconds: number,
  principalOf: (req: Request) => string,
  options: IdempotencyOptions = {},
) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const key = req.get('Idempotency-Key');
    if (key === undefined) return next();
    if (!KEY_PATTERN.test(key)) {
      throw badRequest('Idempotency-Key must be 1 to 255 visible ASCII characters.', 'invalid-idempotency-key');
    }
    const principal = principalOf(req);
    const secretKey = options.sealed ? sealingKey(bearerOf(req), principal, key) : undefined;
    const hash = requestHash(req, options.sealed ? req.principal?.credentialId : undefined);
    const claimed = await db.query(
      `INSERT INTO idempotency_keys (principal, key, method, path, request_hash, expires_at)
       VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
       ON CONFLICT (principal, key) DO UPDATE
         SET method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash,
             status_code = NULL, response_body = NULL, response_headers = NULL,
             created_at = now(), expires_at = EXCLUDED.expires_at
         WHERE idempotency_keys.expires_at < now()
            OR (idempotency_keys.status_code IS NULL
                AND idempotency_keys.created_at < now() - make_interval(secs => $7))
       RETURNING key`,
      [principal, key, req.method, req.originalUrl, hash, ttlSeconds, STALE_IN_FLIGHT_SECONDS],
    );
    if (claimed.rows.length === 0) {
      const found = await db.query<StoredRecord>(
        'SELECT request_hash, status_code, response_body, response_headers FROM idempotency_keys WHERE principal = $1 AND key = $2',
        [principal, key],
      );
      const rec = found.rows[0];
      if (!rec) throw conflict('idempotency-key-in-flight', 'The Idempotency-Key is being processed; retry shortly.');
      if (rec.request_hash !== hash) {
        throw unprocessable(
          'idempotency-key-reused',
          'This Idempotency-Key was already used with a different request.',
        );
      }
      if (rec.status_code === null) {
        throw conflict('idempotency-key-in-flight', 'A request with this Idempotency-Key is still being processed.');
      }
      for (const [name, value] of Object.entries(rec.response_headers ?? {})) res.setHeader(name, value);
      res.setHeader('Idempotent-Replayed', 'true');
      res.status(rec.status_code).json(secretKey ? unseal(rec.response_body, secretKey) : rec.response_body);
      return;
    }

    const forget = () => db.query('DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2', [principal, key]);
    let settled = false;
    const originalJson = res.json.bind(res);
    res.json = (body: unknown) => {
      settled = true;
      const status = res.statusCode;
      const remember =
        status >= 200 && status < 300
          ? db.query(
              `UPDATE idempotency_keys SET status_code = $3, response_body = $4, response_headers = $5
               WHERE principal = $1 AND key = $2`,
              [
                principal,
                key,
                status,
                JSON.stringify(secretKey ? seal(body, secretKey) : body),
                JSON.stringify(pickHeaders(res)),
              ],
            )
          : forget();
      void remember.catch(() => undefined).then(() => originalJson(body));
      return res;
    };
    // A response that never went through res.json (connection dropped, stream error) must not pin the key.
    res.on('close', () => {
      if (!settled) void forget().catch(() => undefined);
    });
    next();
  };
}

function pickHeaders(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const v = res.getHeader(name);
    if (typeof v === 'string') out[name] = v;
  }
  return out;
}
