/**
 * Rendered pages served again while nothing they show has changed. Migration 0009 keeps, for each tracked
 * table, the id of the last transaction that changed it (written inside that transaction). A page stored with
 * the token it was read under is still exact while the token is the same: checking costs one primary-key
 * lookup instead of reading and rendering the rows again. Each process keeps its own pages (nothing another
 * process needs), one set per database, bounded, oldest out first.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from './client.js';

const TABLES = new Set(['testbeds']);

/** SQL for the table's current change token ('' before any change was recorded). */
export function changeTokenSql(table: string): string {
  if (!TABLES.has(table)) throw new Error(`no change token is kept for ${table}`);
  return `COALESCE((SELECT token FROM change_tokens WHERE name = '${table}'), '')`;
}

async function currentChangeToken(db: Queryable, table: string): Promise<string> {
  const { rows } = await db.query<{ token: string }>(`SELECT ${changeTokenSql(table)} AS token`);
  return rows[0]!.token;
}

interface Entry {
  token: string;
  page: RenderedPage;
}

/** A page's text and its entity tag, derived from the text once when the page is rendered. */
export interface RenderedPage {
  body: string;
  etag: string;
}

export function renderedPage(body: string): RenderedPage {
  return { body, etag: `W/"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

export class RenderedPages {
  private readonly entries = new Map<string, Entry>();

  constructor(
    readonly table: string,
    private readonly maxEntries = 64,
  ) {}

  /** The stored page for key when the table has not changed since it was read; one lookup when there is one. */
  async get(db: Queryable, key: string): Promise<RenderedPage | undefined> {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if ((await currentChangeToken(db, this.table)) === e.token) return e.page;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, token: string, page: RenderedPage): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { token, page });
  }
}

/** One RenderedPages per database object (tests and tools may open several in one process). */
export function pagesFor(registry: WeakMap<object, RenderedPages>, db: object, table: string): RenderedPages {
  let pages = registry.get(db);
  if (!pages) registry.set(db, (pages = new RenderedPages(table)));
  return pages;
}
