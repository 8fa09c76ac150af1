/**
 * Bodies that stall or trickle are cut; uploads keep going while bytes flow; sockets are bounded. Raw TCP
 * clients against a real listening server, so nothing but the server decides when a socket closes.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { createApp } from '../src/app.js';
import { limitServer } from '../src/http/body-deadlines.js';
import { ctx, testConfig } from './support/context.js';
import { createPilot, signup } from './support/factories.js';

interface Conn {
  socket: Socket;
  received: () => string;
  closed: Promise<void>;
}

function open(port: number): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}

async function listen(env: Record<string, string>, maxConnections?: number): Promise<{ server: Server; port: number }> {
  const app = createApp({ db: ctx().db, config: testConfig(env), logger: pino({ level: 'silent' }) });
  const server = createServer(app);
  if (maxConnections !== undefined) limitServer(server, maxConnections);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as { port: number }).port };
}

/** Writes a byte every `everyMs` until the socket closes: a body that flows, slowly, for ever. */
function trickle(conn: Conn, everyMs: number): void {
  const timer = setInterval(() => {
    if (!conn.socket.destroyed) conn.socket.write('a');
  }, everyMs);
  void conn.closed.then(() => clearInterval(timer));
}

describe('request body deadlines', function () {
  this.timeout(120_000);
  let server: Server | undefined;

  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  it('cuts a JSON body that stops arriving after REQUEST_IDLE_TIMEOUT_SECONDS with 408 request-timeout', async () => {
    const s = await listen({ REQUEST_IDLE_TIMEOUT_SECONDS: '1' });
    server = s.server;
    const conn = await open(s.port);
    conn.socket.write(
      'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":',
    );
    await conn.closed;
    assert.match(conn.received(), /^HTTP\/1\.1 408 /);
    assert.match(conn.received(), /"code":"request-timeout"/);
    assert.match(conn.received(), /Content-Type: application\/problem\+json/i);
  });

  it('cuts a JSON body that trickles past REQUEST_BODY_TIMEOUT_SECONDS even though bytes keep coming', async () => {
    const s = await listen({ REQUEST_IDLE_TIMEOUT_SECONDS: '60', REQUEST_BODY_TIMEOUT_SECONDS: '1' });
    server = s.server;
    const conn = await open(s.port);
    conn.socket.write(
      'POST /v1/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"',
    );
    trickle(conn, 50);
    await conn.closed;
    assert.match(conn.received(), /^HTTP\/1\.1 408 /);
    assert.match(conn.received(), /did not arrive within 1 s/);
  });

  it('closes an unauthenticated upload answered 401 whose body keeps trickling', async () => {
    const s = await listen({ REQUEST_IDLE_TIMEOUT_SECONDS: '60', REQUEST_BODY_TIMEOUT_SECONDS: '1' });
    server = s.server;
    const conn = await open(s.port);
    conn.socket.write(
      `POST /v1/pilots/${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}/datasets HTTP/1.1\r\nHost: x\r\n` +
        'Content-Type: multipart/form-data; boundary=XX\r\nContent-Length: 100000000\r\n\r\n--XX\r\n',
    );
    trickle(conn, 50);
    await conn.closed;
    assert.match(conn.received(), /^HTTP\/1\.1 401 /);
  });

  it('lets an authenticated upload take longer than REQUEST_BODY_TIMEOUT_SECONDS while bytes flow', async () => {
    const s = await listen({ REQUEST_IDLE_TIMEOUT_SECONDS: '60', REQUEST_BODY_TIMEOUT_SECONDS: '1' });
    server = s.server;
    const owner = await signup();
    const pilot = await createPilot(owner);
    const rows = Array.from({ length: 40 }, (_, i) => `S${i},${i},2026-03-01\n`);
    const head =
      '--XX\r\nContent-Disposition: form-data; name="name"\r\n\r\ncounts\r\n' +
      '--XX\r\nContent-Disposition: form-data; name="sensitivity"\r\n\r\ninternal\r\n' +
      '--XX\r\nContent-Disposition: form-data; name="file"; filename="c.csv"\r\nContent-Type: text/csv\r\n\r\n' +
      'station,count,recorded_at\n';
    const tail = '\r\n--XX--\r\n';
    const length = Buffer.byteLength(head + rows.join('') + tail);
    const conn = await open(s.port);
    conn.socket.write(
      `POST /v1/pilots/${pilot.id}/datasets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${owner.token}\r\n` +
        `Content-Type: multipart/form-data; boundary=XX\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n${head}`,
    );
    // Each row waits for the previous write to be flushed and a turn of the timers: with 40 rows of
    // 50 ms the body takes at least two seconds, twice the total deadline, however fast the machine is.
    for (const row of rows) {
      await new Promise<void>((r) => conn.socket.write(row, () => setTimeout(r, 50)));
    }
    conn.socket.write(tail);
    await conn.closed;
    assert.match(conn.received(), /^HTTP\/1\.1 201 /, conn.received().slice(0, 400));
  });

  it('refuses sockets beyond MAX_CONNECTIONS', async () => {
    const s = await listen({}, 2);
    server = s.server;
    const held = [await open(s.port), await open(s.port)];
    const count = () => new Promise<number>((r) => s.server.getConnections((_e, n) => r(n)));
    while ((await count()) < 2) await new Promise((r) => setTimeout(r, 20)); // polling until both are accepted
    const extra = await open(s.port);
    await extra.closed;
    assert.equal(extra.received(), '');
    assert.equal(held.filter((c) => c.socket.destroyed).length, 0);
  });
});
