import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../src/config.js';

describe('configuration', () => {
  it('has defaults that work on a laptop', () => {
    const c = loadConfig({});
    assert.equal(c.port, 3000);
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.dataDir, './data');
    assert.equal(c.uploadsDir, './uploads');
    assert.equal(c.uploadMaxBytes, 5 * 1024 ** 3);
    assert.equal(c.demoData, true, 'demo data on by default with the embedded database');
    assert.deepEqual(c.webhookRetrySchedule, [0, 5, 300, 1800, 7200, 18000, 36000, 36000]);
    assert.deepEqual(c.webhookAllowNetworks, []);
    assert.equal(c.logLevel, 'info');
  });

  it('turns demo data off by default on a PostgreSQL server', () => {
    assert.equal(loadConfig({ DATABASE_URL: 'postgres://u@localhost/db' }).demoData, false);
    assert.equal(loadConfig({ DATABASE_URL: 'postgres://u@localhost/db', DEMO_DATA: 'true' }).demoData, true);
  });

  it('parses lists', () => {
    const c = loadConfig({ WEBHOOK_ALLOW_NETWORKS: '127.0.0.0/8, ::1/128', WEBHOOK_RETRY_SCHEDULE: '0,1,2.5' });
    assert.deepEqual(c.webhookAllowNetworks, ['127.0.0.0/8', '::1/128']);
    assert.deepEqual(c.webhookRetrySchedule, [0, 1, 2.5]);
  });

  const bad: [string, Record<string, string>][] = [
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '70000' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x@y/z' }],
    ['DATABASE_URL', { DATABASE_URL: 'not a url' }],
    ['UPLOAD_MAX_BYTES', { UPLOAD_MAX_BYTES: '-5' }],
    ['DEMO_DATA', { DEMO_DATA: 'maybe' }],
    ['WEBHOOK_ALLOW_NETWORKS', { WEBHOOK_ALLOW_NETWORKS: '127.0.0.1' }],
    ['WEBHOOK_ALLOW_NETWORKS', { WEBHOOK_ALLOW_NETWORKS: '10.0.0.0/33' }],
    ['WEBHOOK_RETRY_SCHEDULE', { WEBHOOK_RETRY_SCHEDULE: '0,soon' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['ADMIN_EMAIL', { ADMIN_EMAIL: 'ops@gwangju.go.kr' }],
    ['ADMIN_PASSWORD', { ADMIN_EMAIL: 'ops@gwangju.go.kr', ADMIN_PASSWORD: 'short' }],
  ];
  for (const [name, env] of bad) {
    it(`stops with a message naming ${name} for ${JSON.stringify(env)}`, () => {
      assert.throws(
        () => loadConfig(env),
        (err: unknown) => err instanceof ConfigError && err.message.includes(name),
      );
    });
  }
});
