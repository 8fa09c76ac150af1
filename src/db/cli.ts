/**
 * Database commands, on the database the server would use (DATABASE_URL, or the embedded one in DATA_DIR):
 *
 *   npm run db:migrate    apply pending migrations and list them
 *   npm run db:seed       apply pending migrations, then load the demo catalogue (safe to repeat)
 *
 * Exit codes: 0 done, 1 the command failed, 2 wrong usage or configuration.
 */
import { ConfigError, loadConfig } from '../config.js';
import { loadDemoData } from '../demo/seed.js';
import { openDb, type Db } from './client.js';
import { migrate, readMigrations } from './migrate.js';

const USAGE = `Usage: tsx src/db/cli.ts <command>

Commands:
  migrate   apply pending migrations (npm run db:migrate)
  seed      apply pending migrations, then load the demo data (npm run db:seed)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  if ((command !== 'migrate' && command !== 'seed') || rest.length) {
    process.stderr.write(
      `${command === undefined ? '' : `db: unknown command or argument: ${argv.join(' ')}\n\n`}${USAGE}`,
    );
    return 2;
  }
  let db: Db | undefined;
  try {
    // ADMIN_* are start-up settings of the server, not needed here; a half-set pair must not block migrations.
    const config = loadConfig({ ...process.env, ADMIN_EMAIL: undefined, ADMIN_PASSWORD: undefined });
    db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
    const where =
      db.engine === 'postgres' ? 'PostgreSQL server (DATABASE_URL)' : `embedded database in ${config.dataDir}`;
    const applied = await migrate(db);
    if (applied.length) {
      process.stdout.write(
        `Applied ${applied.length} migration(s) to the ${where}:\n${applied.map((m) => `  ${m}\n`).join('')}`,
      );
    } else {
      process.stdout.write(`The ${where} is up to date (${readMigrations().length} migration(s), none pending).\n`);
    }
    if (command === 'seed') {
      const counts = await loadDemoData(db);
      const summary = Object.entries(counts)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      process.stdout.write(`Demo data loaded; inserted ${summary}.\n`);
    }
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`db: configuration error: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`db: ${command} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await db?.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
