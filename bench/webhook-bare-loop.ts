/**
 * The baseline of the webhook throughput figure: a bare loop with no database that signs (Standard Webhooks,
 * the same code the worker uses) and POSTs the same envelopes to the same receiver, one request in flight per
 * endpoint like the worker's default, over keep-alive connections. Run as a child process, as the worker is.
 * Reads {endpoints: [{url, secret}], events: [{id, body}]} as JSON on stdin; prints {seconds, sent} when done.
 */
import { Agent, request } from 'undici';
import { signatureHeader } from '../src/webhooks/signing.js';

interface Input {
  endpoints: { url: string; secret: string }[];
  events: { id: string; body: string }[];
}

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Input;
const agent = new Agent({ keepAliveTimeout: 4_000, connections: 64 });
const started = performance.now();
let sent = 0;
await Promise.all(
  input.endpoints.map(async (ep) => {
    for (const e of input.events) {
      const now = new Date();
      const res = await request(ep.url, {
        method: 'POST',
        dispatcher: agent,
        headers: {
          'content-type': 'application/json',
          'webhook-id': e.id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': signatureHeader([ep.secret], e.id, now, e.body),
        },
        body: e.body,
      });
      await res.body.dump();
      if (res.statusCode < 300) sent++;
    }
  }),
);
process.stdout.write(JSON.stringify({ seconds: (performance.now() - started) / 1000, sent }) + '\n');
await agent.close();
