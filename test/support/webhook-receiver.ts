/**
 * A real HTTP receiver on loopback that verifies every delivery with the official standardwebhooks library,
 * records what it accepted, and can be told to misbehave (answer with a status, hang, trickle, flood,
 * redirect, reset the connection) per request.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: { id: string; type: string; createdAt: string; data: Record<string, unknown> };
  at: number;
}

export type Behaviour =
  'ok' | 'hang' | 'trickle' | 'huge' | 'redirect' | 'reset' | { status: number; headers?: Record<string, string> };

export class WebhookReceiver {
  readonly received: Received[] = [];
  /** Requests whose signature did not verify against any current secret. */
  readonly rejected: string[] = [];
  private server = http.createServer((req, res) => this.handle(req, res));
  private sockets = new Set<import('node:net').Socket>();
  secrets: string[] = [];
  behaviour: (n: number) => Behaviour = () => 'ok';
  /** Answer this long after the request arrived (well-behaved, just slow). */
  delayMs = 0;
  /** Requests being handled now, and the most there ever were at once. */
  inFlight = 0;
  peakInFlight = 0;
  private count = 0;

  async start(port = 0): Promise<this> {
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  ids(): string[] {
    return this.received.map((r) => r.id);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.inFlight++;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    res.on('close', () => this.inFlight--);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () =>
      this.delayMs ? setTimeout(() => this.answer(req, res, chunks), this.delayMs) : this.answer(req, res, chunks),
    );
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse, chunks: Buffer[]): void {
    {
      const n = this.count++;
      const behaviour = this.behaviour(n);
      const payload = Buffer.concat(chunks).toString('utf8');
      const headers = {
        'webhook-id': String(req.headers['webhook-id'] ?? ''),
        'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
        'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
      };
      if (behaviour === 'ok' || (typeof behaviour === 'object' && behaviour.status < 300)) {
        const verified = this.secrets.some((secret) => {
          try {
            new Webhook(secret).verify(payload, headers);
            return true;
          } catch {
            return false;
          }
        });
        if (!verified) {
          this.rejected.push(headers['webhook-id']);
          res.writeHead(400).end('bad signature');
          return;
        }
        this.received.push({
          id: headers['webhook-id'],
          timestamp: headers['webhook-timestamp'],
          signature: headers['webhook-signature'],
          body: JSON.parse(payload) as Received['body'],
          at: Date.now(),
        });
      }
      switch (behaviour) {
        case 'ok':
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
          return;
        case 'hang':
          return; // never answers
        case 'trickle': {
          res.writeHead(200, { 'content-type': 'text/plain' });
          const t = setInterval(() => res.write('.'), 50);
          res.on('close', () => clearInterval(t));
          return;
        }
        case 'huge':
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          res.end(Buffer.alloc(10 * 1024 * 1024, 120));
          return;
        case 'redirect':
          res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
          return;
        case 'reset':
          req.socket.destroy();
          return;
        default:
          res.writeHead(behaviour.status, behaviour.headers ?? {}).end(`status ${behaviour.status}`);
      }
    }
  }
}

/** Polls until check passes or the deadline passes; returns whether it passed. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
  stepMs = 25,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return check();
}
