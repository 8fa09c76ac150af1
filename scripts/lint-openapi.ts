/**
 * Lints the OpenAPI document the app serves with Redocly's "recommended" ruleset (plus the project's
 * redocly.yaml). The document is built exactly as at run time — createApp over a throw-away in-memory PGlite —
 * written to a temporary file and handed to `redocly lint`. Exits non-zero on any error or warning.
 *
 *   npm run lint:openapi            # lint, print Redocly's report
 *   npm run lint:openapi -- --keep  # also keep the written openapi.json and print its path
 *
 * test/openapi.test.ts imports lintOpenApi() and asserts the same thing on the document from GET /openapi.json.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDb } from '../src/db/client.js';
import { migrate } from '../src/db/migrate.js';
import { projectRoot } from '../src/paths.js';

export interface LintResult {
  errors: number;
  warnings: number;
  /** One entry a problem: severity, rule, JSON pointer and message, for failure messages. */
  report: string;
  exitCode: number;
}

const REDOCLY = join(projectRoot, 'node_modules', '.bin', 'redocly');

function run(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(REDOCLY, args, {
      cwd,
      env: {
        ...process.env,
        REDOCLY_TELEMETRY: 'off',
        REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
        NO_COLOR: '1',
        FORCE_COLOR: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

interface RedoclyProblem {
  ruleId: string;
  severity: 'error' | 'warn' | 'off';
  message: string;
  location?: { pointer?: string }[];
}

interface RedoclyJson {
  totals: { errors: number; warnings: number; ignored: number };
  problems: RedoclyProblem[];
}

/** Writes doc to a temporary file and runs `redocly lint` on it with the project's redocly.yaml. */
export async function lintOpenApi(doc: unknown): Promise<LintResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ax-openapi-'));
  const file = join(dir, 'openapi.json');
  const keep = process.argv.includes('--keep');
  try {
    writeFileSync(file, JSON.stringify(doc, null, 2));
    const config = join(projectRoot, 'redocly.yaml');
    const { code, stdout, stderr } = await run(['lint', `--config=${config}`, '--format=json', file], projectRoot);
    let parsed: RedoclyJson;
    try {
      parsed = JSON.parse(stdout.slice(stdout.indexOf('{'))) as RedoclyJson;
    } catch {
      // No JSON: Redocly crashed or could not read its config. Count that as an error and show what it said.
      const said = stderr
        .split('\n')
        .filter((l) => !/[║╔╚]/.test(l))
        .join('\n')
        .trim();
      return {
        errors: 1,
        warnings: 0,
        report: `redocly exited ${code} without a report:\n${said}\n${stdout}`,
        exitCode: code || 1,
      };
    }
    const report = parsed.problems
      .map((p) => `${p.severity.padEnd(5)} ${p.ruleId}  ${p.location?.[0]?.pointer ?? ''}\n      ${p.message}`)
      .join('\n');
    return { errors: parsed.totals.errors, warnings: parsed.totals.warnings, report, exitCode: code };
  } finally {
    if (keep) console.log(`kept ${file}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** The document exactly as createApp builds it, over a throw-away embedded database. */
export async function buildDocument(): Promise<Record<string, unknown>> {
  const config = loadConfig({ DEMO_DATA: 'false', LOG_LEVEL: 'silent' });
  const db = await openDb({ dataDir: 'memory://' });
  try {
    await migrate(db);
    const app = createApp({ db, config, logger: pino({ level: 'silent' }) });
    return app.openapi;
  } finally {
    await db.close();
  }
}

async function main(): Promise<void> {
  const result = await lintOpenApi(await buildDocument());
  if (result.report) console.log(`${result.report}\n`);
  console.log(`openapi lint (Redocly, recommended ruleset): ${result.errors} error(s), ${result.warnings} warning(s)`);
  process.exitCode = result.errors > 0 || result.warnings > 0 || result.exitCode !== 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
