/**
 * A loopback HTTP proxy in front of the test's app, for clients run as they are (the axv binary): it records
 * what passes, can hold a tus PATCH after some bytes (a link that stalls, so a test can interrupt the client
 * while the server holds part of the file, whatever the machine's speed), and can hide the tus endpoint
 * (a deployment without it) by answering 404 there and leaving it out of /openapi.json.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Passed {
  method: string;
  path: string;
}

export class UploadProxy {
  url = '';
  readonly passed: Passed[] = [];
  /** Bytes of PATCH bodies forwarded to the server, over all requests. */
  patchedBytes = 0;
  /** When set, each PATCH forwards at most this many body bytes and then stalls until its client goes away. */
  holdAfter: number | undefined;
  hideTus = false;
  private readonly server = http.createServer((req, res) => this.handle(req, res));

  constructor(private readonly target: string) {}

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = req.url ?? '/';
    this.passed.push({ method: req.method ?? '', path });
    if (this.hideTus && /^\/v1\/pilots\/[^/]+\/uploads(\/|\?|$)/.test(path)) {
      const body = JSON.stringify({ type: 'about:blank', title: 'Not found', status: 404, detail: 'No tus here.' });
      res.writeHead(404, { 'Content-Type': 'application/problem+json' }).end(body);
      req.resume();
      return;
    }
    const upstream = http.request(`${this.target}${path}`, { method: req.method, headers: req.headers }, (answer) => {
      if (this.hideTus && path === '/openapi.json' && answer.statusCode === 200) return this.withoutTus(answer, res);
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    // The client went away (or was killed): the server's request ends too, as it would behind a real proxy.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    if (req.method !== 'PATCH') {
      req.pipe(upstream);
      return;
    }
    let forwarded = 0;
    let held = false;
    req.on('data', (chunk: Buffer) => {
      if (held) return;
      const room = this.holdAfter === undefined ? chunk.length : Math.max(0, this.holdAfter - forwarded);
      const part = room >= chunk.length ? chunk : chunk.subarray(0, room);
      forwarded += part.length;
      this.patchedBytes += part.length;
      if (part.length) upstream.write(part);
      if (part.length < chunk.length) {
        held = true;
        req.pause();
      }
    });
    req.on('end', () => {
      if (!held) upstream.end();
    });
  }

  private withoutTus(answer: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    answer.on('data', (c: Buffer) => chunks.push(c));
    answer.on('end', () => {
      const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { paths: Record<string, unknown> };
      for (const p of Object.keys(doc.paths)) if (p.includes('/uploads')) delete doc.paths[p];
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(doc));
    });
  }
}
