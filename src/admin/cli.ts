/**
 * Administration commands, run on the server next to the database:
 *
 *   npm run admin -- create-operator --email ops@gwangju.go.kr [--name "Kim Operator"]
 *   npm run admin -- load-demo
 *
 * create-operator reads the password from ADMIN_PASSWORD, or asks for it on the terminal (twice, not echoed),
 * or reads one line from a piped stdin. The password is never printed or logged.
 *
 * Exit codes: 0 done, 1 the command failed, 2 wrong usage or configuration.
 */
import { parseArgs } from 'node:util';
import { ensureOperator } from '../auth/service.js';
import { PASSWORD_MAX, PASSWORD_MIN } from '../auth/passwords.js';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { openDb, type Db } from '../db/client.js';
import { migrate } from '../db/migrate.js';
import { loadDemoData } from '../demo/seed.js';

const USAGE = `Usage: npm run admin -- <command> [options]

Commands:
  create-operator --email <email> [--name <name>]
      Create an operator user (or reset the password of an existing one) in the programme
      office organisation. The password comes from ADMIN_PASSWORD, or is asked for on the
      terminal, or is read as one line from stdin. At least ${PASSWORD_MIN} characters.
  load-demo
      Load the demo catalogue (testbeds, slots, organisations, pilots). Safe to repeat.
  help
      Show this text.

The database is chosen as for the server: DATABASE_URL, or the embedded database in DATA_DIR
(default ./data).
`;

class UsageError extends Error {}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Reads one line from a stream that is not a terminal (a pipe or a file). */
function readLine(stream: NodeJS.ReadStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const done = (value: string) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', reject);
      stream.pause();
      resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      buffered += chunk.toString();
      const nl = buffered.search(/\r?\n/);
      if (nl >= 0) done(buffered.slice(0, nl));
    };
    const onEnd = () => done(buffered);
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', reject);
    stream.resume();
  });
}

/** Asks on the terminal without echoing what is typed. */
function askHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let typed = '';
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    const finish = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.off('data', onData);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new UsageError('cancelled'));
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

async function readPassword(email: string): Promise<string> {
  const fromEnv = process.env.ADMIN_PASSWORD;
  if (fromEnv) return fromEnv;
  if (!process.stdin.isTTY) return readLine(process.stdin);
  const first = await askHidden(`Password for ${email}: `);
  const again = await askHidden('Repeat the password: ');
  if (first !== again) throw new UsageError('the two passwords differ');
  return first;
}

/** The server's configuration, minus ADMIN_*: here they are this command's input, not a start-up setting. */
function config(): Config {
  return loadConfig({ ...process.env, ADMIN_EMAIL: undefined, ADMIN_PASSWORD: undefined });
}

async function withDb<T>(cfg: Config, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDb({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir, poolSize: 2 });
  try {
    const applied = await migrate(db);
    if (applied.length) process.stdout.write(`Applied migrations: ${applied.join(', ')}\n`);
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function createOperator(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { email: { type: 'string' }, name: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const email = values.email?.trim().toLowerCase();
  if (!email) throw new UsageError('create-operator needs --email');
  if (!EMAIL.test(email)) throw new UsageError(`"${email}" is not an email address`);
  const name = values.name?.trim() || undefined;
  if (values.name !== undefined && !name) throw new UsageError('--name must not be empty');
  const cfg = config();
  const password = await readPassword(email);
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    throw new UsageError(`the password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters long`);
  }
  await withDb(cfg, async (db) => {
    const result = await ensureOperator(db, email, password, name);
    process.stdout.write(
      result.created
        ? `Created operator ${email} (user ${result.userId}) in organisation ${result.organizationId}.\n`
        : `Operator ${email} already existed; password updated (user ${result.userId}).\n`,
    );
  });
}

async function loadDemo(args: string[]): Promise<void> {
  if (args.length) throw new UsageError(`load-demo takes no arguments, got "${args[0]}"`);
  await withDb(config(), async (db) => {
    const counts = await loadDemoData(db);
    const summary = Object.entries(counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    process.stdout.write(`Demo data loaded; inserted ${summary}.\n`);
  });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'create-operator':
        await createOperator(rest);
        return 0;
      case 'load-demo':
        await loadDemo(rest);
        return 0;
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return 0;
      case undefined:
        process.stderr.write(USAGE);
        return 2;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    // parseArgs reports unknown or malformed options with ERR_PARSE_ARGS_* codes.
    const code = (err as { code?: unknown }).code;
    if (err instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`admin: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`admin: configuration error: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`admin: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
