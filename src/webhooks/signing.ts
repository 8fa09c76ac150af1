/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-signature: v1,<base64 HMAC-SHA256
 * of "id.timestamp.body">`, keyed by the base64 part of a `whsec_` secret. During a rotation both the new and
 * the previous secret sign, space-separated, so receivers can switch keys at their own pace.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

export function generateSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function signatureHeader(secrets: string[], id: string, timestamp: Date, body: string): string {
  return secrets.map((s) => new Webhook(s).sign(id, timestamp, body)).join(' ');
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
