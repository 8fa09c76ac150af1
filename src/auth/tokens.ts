/**
 * Bearer secrets: 32 random bytes, base64url, with a prefix that says what they are (so a leaked one is easy
 * to recognise in logs and secret scanners). They are high-entropy, so a plain SHA-256 is the right stored
 * form: lookups stay O(1) and a database dump reveals nothing usable.
 */
import { createHash, randomBytes } from 'node:crypto';

export const SESSION_PREFIX = 'axs_';
export const API_KEY_PREFIX = 'axk_';

export function newSecret(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The part of a key safe to show in listings so a user can tell keys apart. */
export function displayPrefix(secret: string): string {
  return secret.slice(0, API_KEY_PREFIX.length + 6);
}

const TOKEN_SHAPE = /^ax[sk]_[A-Za-z0-9_-]{43}$/;
export const looksLikeToken = (s: string) => TOKEN_SHAPE.test(s);
