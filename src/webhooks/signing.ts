/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-signature: v1,<base64 HMAC-SHA256
 * of "id.timestamp.body">`, keyed by the base64 part of a `whsec_` secret. During a rotation both the new and
 * the previous secret sign, space-separated, so receivers can switch keys at their own pace.
 */
import { createHmac, randomBytes } from 'node:crypto';

export function generateSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * The signatures of one message, as the `standardwebhooks` package makes them (its verifier checks them in the
 * tests), with Node's own HMAC: that package's pure-JavaScript SHA-256 cost more than the rest of an attempt.
 */
export function signatureHeader(secrets: string[], id: string, timestamp: Date, body: string): string {
  const signed = `${id}.${Math.floor(timestamp.getTime() / 1000)}.${body}`;
  return secrets.map((s) => `v1,${createHmac('sha256', secretKey(s)).update(signed).digest('base64')}`).join(' ');
}

const SECRET_PREFIX = 'whsec_';

function secretKey(secret: string): Buffer {
  const key = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
  if (!key.length) throw new Error("Secret can't be empty.");
  return key;
}

export interface SigningSecrets {
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
}

/** The secrets that sign now: the current one, and the previous one while its grace period lasts. */
export function activeSecrets(e: SigningSecrets, now = new Date()): string[] {
  const out = [e.secret];
  if (e.previous_secret && e.previous_secret_expires_at && e.previous_secret_expires_at > now)
    out.push(e.previous_secret);
  return out;
}
