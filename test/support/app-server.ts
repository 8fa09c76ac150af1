/**
 * The real app in a child process, on the database named by DATABASE_URL, listening on an ephemeral port that
 * it prints as one JSON line. The concurrency test starts two of these to act as two API servers. It does not
 * migrate: the test run that starts it has already built the schema.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createApp } from '../../src/app.js';
import { openDb } from '../../src/db/client.js';
import { testConfig } from './context.js';

const config = testConfig();
const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: 'memory://', poolSize: 10 });
const server = createServer(createApp({ db, config, logger: pino({ level: 'silent' }) }));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port, engine: db.engine }) + '\n');
});
process.on('SIGTERM', () => {
  server.close();
  void db.close().finally(() => process.exit(0));
});
