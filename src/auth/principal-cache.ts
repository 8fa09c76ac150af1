/**
 * A short-lived, per-process cache of resolved bearer tokens. Every authenticated request would otherwise
 * start with a database round trip just to learn who is calling. Entries live at most `ttlSeconds` (and never
 * past a session's expiry); the process that logs a session out or revokes a key evicts it at once, and other
 * processes stop honouring it within the TTL. ttlSeconds = 0 turns the cache off.
 */
import type { Principal } from '../core/principal.js';

interface Entry {
  principal: Principal;
  until: number;
}

export class PrincipalCache {
  private readonly byHash = new Map<string, Entry>();

  constructor(
    private readonly ttlSeconds: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(tokenHash: string, now = Date.now()): Principal | undefined {
    const e = this.byHash.get(tokenHash);
    if (!e) return undefined;
    if (e.until <= now) {
      this.byHash.delete(tokenHash);
      return undefined;
    }
    return e.principal;
  }

  set(tokenHash: string, principal: Principal, expiresAt: Date | null, now = Date.now()): void {
    if (this.ttlSeconds <= 0) return;
    const until = Math.min(now + this.ttlSeconds * 1000, expiresAt ? expiresAt.getTime() : Infinity);
    if (this.byHash.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.byHash.keys().next().value;
      if (oldest !== undefined) this.byHash.delete(oldest);
    }
    this.byHash.set(tokenHash, { principal, until });
  }

  /** Forgets every cached token of a session or API key (logout, revocation). */
  evictCredential(credentialId: string): void {
    for (const [hash, e] of this.byHash) if (e.principal.credentialId === credentialId) this.byHash.delete(hash);
  }
}
