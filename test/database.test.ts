import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db } from '../src/db/client.js';
import { migrate, readMigrations } from '../src/db/migrate.js';
import { ctx } from './support/context.js';

const files = () => readMigrations().map((m) => m.name);

describe('database', function () {
  // Each test builds an embedded database from empty (PostgreSQL in WebAssembly): close to the 30 s default on a
  // loaded machine, so the cap is generous; nothing here waits on time.
  this.timeout(300_000);
  describe('migrations', () => {
    it('finds the committed migration files in name order', () => {
      const names = files();
      assert.ok(names.length >= 1);
      assert.equal(names[0], '0001_foundation.sql');
      assert.deepEqual(names, [...names].sort());
    });

    it('from an empty embedded database applies every file, and a second run applies none', async () => {
      const db = await openDb({ dataDir: 'memory://' });
      try {
        assert.deepEqual(await migrate(db), files());
        assert.deepEqual(await migrate(db), []);
        const { rows } = await db.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
        assert.deepEqual(
          rows.map((r) => r.name),
          files(),
        );
      } finally {
        await db.close();
      }
    });

    it('on the test database (migrated from an empty schema at start) lists every file and has none pending', async () => {
      const { rows } = await ctx().db.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
      assert.deepEqual(
        rows.map((r) => r.name),
        files(),
      );
      assert.deepEqual(await migrate(ctx().db), []);
    });

    it('rolls back a failing migration whole, recording nothing', async () => {
      const db = await openDb({ dataDir: 'memory://' });
      try {
        const broken = [
          ...readMigrations(),
          { name: '9999_broken.sql', sql: 'CREATE TABLE half_done (id int); SELECT 1/0;' },
        ];
        await assert.rejects(migrate(db, broken));
        const { rows } = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_tables WHERE tablename IN ('half_done', 'organizations', 'schema_migrations')`,
        );
        assert.equal(rows[0]!.n, 0);
        assert.deepEqual(await migrate(db), files());
      } finally {
        await db.close();
      }
    });
  });

  describe('the embedded database on disk', () => {
    let dir: string;
    let db: Db | undefined;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'ax-db-'));
    });
    afterEach(async () => {
      await db?.close();
      db = undefined;
      rmSync(dir, { recursive: true, force: true });
    });

    it('keeps its data across a restart, and the restart applies no migration', async () => {
      db = await openDb({ dataDir: dir });
      assert.deepEqual(await migrate(db), files());
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO organizations (name, kind, business_number) VALUES ('광주 재시작 테스트', 'startup', '9998100000') RETURNING id`,
      );
      await db.close();
      db = undefined;

      db = await openDb({ dataDir: dir });
      assert.deepEqual(await migrate(db), []);
      const again = await db.query<{ id: string; name: string; kind: string }>(
        'SELECT id, name, kind FROM organizations',
      );
      assert.deepEqual(again.rows, [{ id: rows[0]!.id, name: '광주 재시작 테스트', kind: 'startup' }]);
    });
  });
});
