/**
 * `axv listen --forward-to URL`: follows GET /v1/events and POSTs each event to a local receiver, signed per
 * Standard Webhooks with a whsec_ secret, so a webhook receiver can be built on a laptop (the service itself
 * refuses loopback receivers). Delivery is in feed order, one event at a time, retried with backoff until the
 * receiver answers 2xx. Progress is saved after every event as (page cursor, ids of that page already
 * forwarded): a restart re-reads that page and skips exactly those, so nothing is skipped or repeated.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { ok, type AxClient, type components } from '../index.js';
import type { ListenState } from './config.js';

type FeedEvent = components['schemas']['EventList']['data'][number];

export interface ListenOptions {
  client: AxClient;
  forwardTo: string;
  secret: string;
  /** Where to begin: a saved state, or endOfFeed() for only what happens from now on. */
  state: ListenState;
  /** Only forward these types (others are passed over and count as done). */
  types?: Set<string>;
  save: (state: ListenState) => void;
  onForwarded: (event: FeedEvent, status: number, state: ListenState) => void;
  onReceiverDown: (event: FeedEvent, reason: string, retryMs: number) => void;
  signal: AbortSignal;
  pollMs?: number;
  maxRetryMs?: number;
}

export const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;

const PAGE = 100;

/** Resolves after ms, or at once when the signal aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

async function page(client: AxClient, cursor: string | undefined) {
  return ok(await client.api.GET('/v1/events', { params: { query: { limit: PAGE, ...(cursor ? { cursor } : {}) } } }));
}

/** The cursor just past the newest event now visible: where a listener with no saved place begins. */
export async function endOfFeed(client: AxClient): Promise<ListenState> {
  let cursor: string | undefined;
  for (;;) {
    const p = await page(client, cursor);
    cursor = p.nextCursor ?? cursor;
    if (!p.hasMore) return { cursor, done: [] };
  }
}

/** POSTs one event until the receiver takes it (2xx) or the signal aborts; answers the status, or 0 if aborted. */
async function forward(opts: ListenOptions, wh: Webhook, event: FeedEvent): Promise<number> {
  const body = JSON.stringify(event);
  let delay = 250;
  for (;;) {
    let reason: string;
    try {
      const now = new Date();
      const res = await fetch(opts.forwardTo, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'axv-listen',
          'webhook-id': event.id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': wh.sign(event.id, now, body),
        },
        body,
        signal: AbortSignal.timeout(15_000),
      });
      await res.body?.cancel();
      if (res.ok) return res.status;
      reason = `HTTP ${res.status}`;
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      reason = cause?.code ?? (err as Error).message;
    }
    if (opts.signal.aborted) return 0;
    opts.onReceiverDown(event, reason, delay);
    await pause(delay, opts.signal);
    if (opts.signal.aborted) return 0;
    delay = Math.min(delay * 2, opts.maxRetryMs ?? 5000);
  }
}

export async function listen(opts: ListenOptions): Promise<void> {
  const wh = new Webhook(opts.secret);
  let state = opts.state;
  opts.save(state);
  while (!opts.signal.aborted) {
    const p = await page(opts.client, state.cursor);
    for (const event of p.data) {
      if (state.done.includes(event.id)) continue;
      if (opts.signal.aborted) return;
      if (!opts.types || opts.types.has(event.type)) {
        const status = await forward(opts, wh, event);
        if (status === 0) return;
        state = { cursor: state.cursor, done: [...state.done, event.id] };
        opts.save(state);
        opts.onForwarded(event, status, state);
      } else {
        state = { cursor: state.cursor, done: [...state.done, event.id] };
        opts.save(state);
      }
    }
    if (p.data.length && p.nextCursor && p.nextCursor !== state.cursor) {
      state = { cursor: p.nextCursor, done: [] };
      opts.save(state);
    }
    if (!p.hasMore) await pause(opts.pollMs ?? 1000, opts.signal);
  }
}
