import { openDb } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
for (const o of [{dataDir:'memory://'}, {dataDir:'', databaseUrl:'postgres://postgres@127.0.0.1:5432/test'}]) {
  const db = await openDb(o);
  if (db.engine==='postgres') await db.exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
  console.log(db.engine, await migrate(db), await migrate(db));
  await db.close();
}
