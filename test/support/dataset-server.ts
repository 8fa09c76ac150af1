/**
 * A registry server in a child process for crash tests: bootstraps (migrations, start-up sweep) on the
 * DATA_DIR or DATABASE_URL and UPLOADS_DIR it is given, listens on port 0 and prints {"port": n}.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createApp } from '../../src/app.js';
import { bootstrap } from '../../src/bootstrap.js';
import { loadConfig } from '../../src/config.js';

const config = loadConfig({ ...process.env, DEMO_DATA: 'false', LOG_LEVEL: 'silent', AUTH_RATE_LIMIT: '100000' });
const logger = pino({ level: 'silent' });
const db = await bootstrap(config, logger);
const server = createServer(createApp({ db, config, logger }));
server.requestTimeout = 0;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n');
});
process.on('SIGTERM', () => {
  server.close();
  void db.close().finally(() => process.exit(0));
});
