/**
 * The PostgreSQL server goes away and comes back while the API runs. The test reaches PostgreSQL through a TCP
 * proxy it can cut; nothing of our database layer is replaced.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { pino } from 'pino';
import supertest from 'supertest';
import { createApp } from '../src/app.js';
import { openDb, type Db } from '../src/db/client.js';
import { translatePgError, DbError } from '../src/db/errors.js';
import { ctx } from './support/context.js';
import { businessNumber, pilotBody } from './support/factories.js';

/** A TCP proxy to the PostgreSQL server that can be cut (listener closed, connections destroyed) and restored. */
class CuttableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (;;) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50)); // a polling interval; the condition decides
  }
}

describe('database outage', function () {
  this.timeout(120_000);

  it('translates connection failures into DbError unavailable, on every engine', () => {
    for (const err of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      Object.assign(new Error('sorry, too many clients already'), { code: '53300' }),
    ]) {
      const t = translatePgError(err);
      assert.ok(t instanceof DbError && t.kind === 'unavailable', err.message);
    }
    assert.equal(translatePgError(new Error('something else')) instanceof DbError, false);
  });

  if (process.env.DATABASE_URL) {
    let proxy: CuttableProxy;
    let db: Db;

    beforeEach(async () => {
      const target = new URL(process.env.DATABASE_URL!);
      proxy = new CuttableProxy(target.hostname, Number(target.port || 5432));
      await proxy.open();
      const viaProxy = new URL(process.env.DATABASE_URL!);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      db = await openDb({ databaseUrl: viaProxy.toString(), dataDir: 'memory://', poolSize: 4 });
    });
    afterEach(async () => {
      await db.close().catch(() => undefined);
      await proxy.cut();
    });

    it('answers 503 database-unavailable with Retry-After while PostgreSQL is unreachable, and recovers without a restart', async () => {
      const warnings: { msg: string; req?: { id: string; path: string } }[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
      const app = createApp({ db, config: ctx().config, logger });
      const http = () => supertest(app);
      const signup = await http()
        .post('/v1/auth/signup')
        .send({
          organization: { name: 'Outage Labs', kind: 'startup', businessNumber: businessNumber() },
          user: { email: 'outage@example.kr', password: 'correct horse battery staple', name: 'O' },
        });
      assert.equal(signup.status, 201, JSON.stringify(signup.body));
      const auth = { Authorization: `Bearer ${signup.body.token as string}` };
      assert.equal((await http().get('/readyz')).status, 200);

      await proxy.cut();
      const requests = [
        http().get('/v1/pilots').set(auth),
        http().post('/v1/pilots').set(auth).send(pilotBody()),
        http().get('/v1/testbeds').set(auth),
        http().post('/v1/auth/login').send({ email: 'outage@example.kr', password: 'correct horse battery staple' }),
        http().get('/v1/me').set(auth),
      ];
      for (const [i, res] of (await Promise.all(requests)).entries()) {
        assert.equal(res.status, 503, `request ${i}: ${res.status} ${JSON.stringify(res.body)}`);
        assert.equal(res.body.code, 'database-unavailable');
        assert.equal(res.body.status, 503);
        assert.equal(res.headers['retry-after'], '5');
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
        // The operator's log says which request met the outage.
        const said = warnings.find((w) => w.req?.id === res.headers['x-request-id']);
        assert.equal(said?.msg, 'database unavailable', `request ${i}`);
      }
      const ready = await http().get('/readyz');
      assert.equal(ready.status, 503);
      assert.equal((await http().get('/healthz')).status, 200, 'the process itself is alive');

      await proxy.open(); // same port: the pool reconnects on its own
      await until(async () => (await http().get('/readyz')).status === 200);
      const list = await http().get('/v1/pilots').set(auth);
      assert.equal(list.status, 200);
      assert.equal(list.body.data.length, 0, 'the refused POST wrote nothing');
      assert.equal((await http().post('/v1/pilots').set(auth).send(pilotBody())).status, 201);
    });
  }
});
