/**
 * axv, the AX Testbed Registry command line. Exit codes: 0 success, 1 the API refused (the problem is printed)
 * or the work failed, 2 wrong usage. `--json` prints the API's answer exactly; human output follows LANG.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SingleBar } from 'cli-progress';
import { Command, CommanderError, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import {
  AxClient,
  ok,
  ProblemError,
  downloadDataset,
  uploadDataset,
  type components,
  type Progress,
} from '../index.js';
import { configDir, configPath, readConfig, resolveTarget, updateConfig } from './config.js';
import { endOfFeed, listen, newSecret } from './listen.js';
import { languageOf, t, type MessageKey } from './messages.js';
import { readPassword } from './password.js';

type Pilot = components['schemas']['Pilot'];

class UsageError extends Error {}

const lang = languageOf();
const say = (key: MessageKey, ...args: (string | number)[]) => t(lang, key, ...args);

interface Common {
  json?: boolean;
}

function out(line: string): void {
  process.stdout.write(line + '\n');
}
const printJson = (value: unknown): void => out(JSON.stringify(value, null, 2));

function client(): AxClient {
  const { url, token } = resolveTarget();
  if (!token) throw new UsageError(say('notLoggedIn'));
  return new AxClient({ baseUrl: url, token, language: lang, userAgent: 'axv' });
}

function table(rows: string[][]): string {
  if (!rows.length) return say('none');
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** A progress bar on a terminal (stderr), nothing when piped or asked for JSON. */
function progressBar(opts: Common): { update: (p: Progress) => void; stop: () => void } {
  if (opts.json || !process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar({
    stream: process.stderr,
    format: '{bar} {percentage}% | {value}/{total} B | ETA {eta_formatted}',
    hideCursor: true,
  });
  let started = false;
  return {
    update: (p) => {
      if (!started) bar.start(p.total, 0);
      started = true;
      bar.update(p.bytes);
    },
    stop: () => started && bar.stop(),
  };
}

function readDocument(file: string): unknown {
  try {
    // YAML 1.2 is a superset of JSON: one parser reads pilot.json and pilot.yaml alike.
    return parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(say('badFile', file, (err as Error).message));
  }
}

function action<A extends unknown[]>(fn: (...args: [...A, Common]) => Promise<void>) {
  return async (...args: unknown[]) => {
    // commander passes the positional arguments, then the options, then the command.
    const opts = args[args.length - 2] as Common;
    await fn(...(args.slice(0, -2) as A), opts);
  };
}

const pilotLine = (p: Pilot) => [p.id, p.status, p.domain, p.title];

function buildProgram(): Command {
  const program = new Command('axv')
    .description('AX Testbed Registry command line: pilots, matching, datasets and a local webhook forwarder.')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  const json = () => new Option('--json', 'print the API answer as JSON');
  const cmd = (parent: Command, name: string, description: string) =>
    parent.command(name).description(description).addOption(json()).exitOverride();

  cmd(program, 'login', 'Log in and keep the session token in the config file (mode 0600)')
    .requiredOption('--email <email>', 'your account e-mail')
    .option('--password-stdin', 'read the password from standard input instead of a prompt')
    .option('--url <url>', 'service URL to keep (default: AXV_URL, the saved URL, or http://localhost:3000)')
    .action(
      action(async (o: Common & { email?: string; passwordStdin?: boolean; url?: string }) => {
        const url = (o.url ?? resolveTarget().url).replace(/\/+$/, '');
        const password = await readPassword(Boolean(o.passwordStdin), say('passwordPrompt'));
        if (password === undefined) throw new UsageError(say('needPassword'));
        const anon = new AxClient({ baseUrl: url, language: lang, userAgent: 'axv' });
        const { token } = ok(await anon.api.POST('/v1/auth/login', { body: { email: o.email!, password } }));
        const me = ok(await new AxClient({ baseUrl: url, token, userAgent: 'axv' }).api.GET('/v1/me'));
        updateConfig((c) => Object.assign(c, { url, token, email: o.email }));
        if (o.json) printJson(me);
        else out(say('loggedIn', me.user.email, me.organization.name, configPath()));
      }),
    );

  cmd(program, 'whoami', 'Show the signed-in user, organisation and scopes').action(
    action(async (o: Common) => {
      const me = ok(await client().api.GET('/v1/me'));
      if (o.json) printJson(me);
      else out(say('whoami', me.user.name, me.user.email, me.role, me.organization.name, me.via));
    }),
  );

  const pilots = program
    .command('pilots')
    .description('Pilot projects: list, show, create, submit, withdraw')
    .exitOverride();
  cmd(pilots, 'list', 'List pilots you may see (one page)')
    .option('--status <status>', 'only this status')
    .option('--domain <code>', 'only this domain')
    .option('--limit <n>', 'page size (1-200)')
    .option('--cursor <cursor>', 'the next page, from a previous answer')
    .action(
      action(async (o: Common & { status?: string; domain?: string; limit?: string; cursor?: string }) => {
        const query = {
          ...(o.status ? { status: o.status as Pilot['status'] } : {}),
          ...(o.domain ? { domain: o.domain as Pilot['domain'] } : {}),
          ...(o.limit ? { limit: Number(o.limit) } : {}),
          ...(o.cursor ? { cursor: o.cursor } : {}),
        };
        const page = ok(await client().api.GET('/v1/pilots', { params: { query } }));
        if (o.json) return printJson(page);
        out(table(page.data.map(pilotLine)));
        if (page.nextCursor) out(say('more', page.nextCursor));
      }),
    );
  cmd(pilots, 'show', 'Show one pilot')
    .argument('<pilot>', 'pilot id')
    .action(
      action(async (id: string, o: Common) => {
        const pilot = ok(await client().api.GET('/v1/pilots/{id}', { params: { path: { id } } }));
        if (o.json) return printJson(pilot);
        out(table([pilotLine(pilot)]));
        out(pilot.summary);
      }),
    );
  cmd(pilots, 'create', 'Create a pilot from a JSON or YAML file')
    .requiredOption('-f, --file <file>', 'pilot.json or pilot.yaml (the body of POST /v1/pilots)')
    .action(
      action(async (o: Common & { file?: string }) => {
        const body = readDocument(o.file!) as components['schemas']['PilotCreate'];
        const pilot = ok(await client().api.POST('/v1/pilots', { body }));
        if (o.json) printJson(pilot);
        else out(say('created', pilot.id, pilot.title));
      }),
    );
  for (const verb of ['submit', 'withdraw'] as const) {
    cmd(pilots, verb, verb === 'submit' ? 'Submit a draft pilot for matching' : 'Withdraw a pilot')
      .argument('<pilot>', 'pilot id')
      .action(
        action(async (id: string, o: Common) => {
          const path = verb === 'submit' ? '/v1/pilots/{id}/submit' : '/v1/pilots/{id}/withdraw';
          const pilot = ok(await client().api.POST(path, { params: { path: { id } } }));
          if (o.json) printJson(pilot);
          else out(say('status', pilot.id, pilot.status));
        }),
      );
  }

  cmd(program, 'candidates', 'Ranked slot candidates for a pilot, with reasons')
    .argument('<pilot>', 'pilot id')
    .option('--limit <n>', 'how many (default 20)')
    .action(
      action(async (id: string, o: Common & { limit?: string }) => {
        const query = o.limit ? { limit: Number(o.limit) } : {};
        const list = ok(await client().api.GET('/v1/pilots/{id}/candidates', { params: { path: { id }, query } }));
        if (o.json) return printJson(list);
        out(
          table(
            list.data.map((c) => [
              c.score.toFixed(3),
              c.testbedName,
              `${c.start} – ${c.end}`,
              String(c.availableUnits),
              c.reasons.join('; '),
            ]),
          ),
        );
      }),
    );

  cmd(program, 'plans', "A pilot's plan: its sessions and how they are met")
    .argument('<pilot>', 'pilot id')
    .action(
      // Printed as the API answers it, with or without --json: its shape belongs to the plans feature.
      action(async (id: string, _o: Common) =>
        printJson(await client().request('GET', `/v1/pilots/${encodeURIComponent(id)}/plans`)),
      ),
    );

  const datasets = program
    .command('datasets')
    .description('Dataset files of a pilot: upload and download')
    .exitOverride();
  cmd(datasets, 'upload', 'Upload a file as a dataset (resumable where the service offers it)')
    .argument('<pilot>', 'pilot id')
    .argument('<file>', 'the file')
    .addOption(
      new Option('--sensitivity <level>', 'public, internal, personal or sensitive')
        .choices(['public', 'internal', 'personal', 'sensitive'])
        .makeOptionMandatory(),
    )
    .option('--legal-basis <text>', 'legal basis; required for personal and sensitive data')
    .option('--name <name>', 'dataset name (default: the file name)')
    .option('--description <text>', 'free text')
    .action(
      action(
        async (
          pilot: string,
          file: string,
          o: Common & { sensitivity?: string; legalBasis?: string; name?: string; description?: string },
        ) => {
          const bar = progressBar(o);
          try {
            const result = await uploadDataset(client(), pilot, file, {
              sensitivity: o.sensitivity as 'public',
              legalBasis: o.legalBasis,
              name: o.name,
              description: o.description,
              onProgress: bar.update,
              resumeStore: join(configDir(), 'uploads.json'),
            });
            bar.stop();
            if (o.json) return printJson(result.dataset);
            if (result.resumed) out(say('resumed'));
            out(say('uploaded', file, result.dataset.id, result.dataset.sizeBytes, result.dataset.sha256));
          } finally {
            bar.stop();
          }
        },
      ),
    );
  cmd(datasets, 'download', 'Download a dataset to a file, checked against the server’s SHA-256')
    .argument('<dataset>', 'dataset id')
    .requiredOption('-o, --output <file>', 'where to write it')
    .action(
      action(async (id: string, o: Common & { output?: string }) => {
        const bar = progressBar(o);
        try {
          const result = await downloadDataset(client(), id, o.output!, bar.update);
          bar.stop();
          if (o.json) return printJson({ file: o.output, ...result });
          out(say('downloaded', o.output!, result.bytes, result.sha256));
        } finally {
          bar.stop();
        }
      }),
    );

  cmd(program, 'listen', 'Forward the event feed to a local URL, signed per Standard Webhooks')
    .requiredOption('--forward-to <url>', 'your receiver, e.g. http://localhost:4000/webhooks')
    .option(
      '--since <cursor>',
      'start after this feed cursor ("beginning" for the oldest event) instead of the saved place',
    )
    .option('--events <types>', 'comma-separated event types to forward (default: all)')
    .option('--poll-interval <ms>', 'how often to ask for new events', '1000')
    .action(
      action(async (o: Common & { forwardTo?: string; since?: string; events?: string; pollInterval?: string }) => {
        const pollMs = Number(o.pollInterval);
        if (!Number.isInteger(pollMs) || pollMs < 50)
          throw new UsageError('--poll-interval must be a whole number of milliseconds, at least 50');
        let target: URL;
        try {
          target = new URL(o.forwardTo!);
        } catch {
          throw new UsageError(`--forward-to ${o.forwardTo}: not a URL`);
        }
        const c = client();
        const config = readConfig();
        const secret = config.listenSecret ?? newSecret();
        if (!config.listenSecret) updateConfig((x) => (x.listenSecret = secret));
        const saved = config.listen?.[c.baseUrl];
        // Settled before "ready" is printed: an event that happens after that line is never missed.
        const state =
          o.since === 'beginning'
            ? { done: [] }
            : o.since
              ? { cursor: o.since, done: [] }
              : (saved ?? (await endOfFeed(c)));
        const stop = new AbortController();
        for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
        if (o.json) out(JSON.stringify({ ready: true, forwardTo: target.href, secret }));
        else out(say('listenReady', target.href, secret));
        await listen({
          client: c,
          forwardTo: target.href,
          secret,
          state,
          types: o.events ? new Set(o.events.split(',').map((s) => s.trim())) : undefined,
          signal: stop.signal,
          pollMs,
          save: (s) => updateConfig((x) => (x.listen = { ...x.listen, [c.baseUrl]: s })),
          onForwarded: (ev, status, s) =>
            out(
              o.json
                ? JSON.stringify({ forwarded: ev.id, type: ev.type, status, cursor: s.cursor ?? null })
                : say('forwarded', ev.createdAt, ev.type, ev.id, status),
            ),
          onReceiverDown: (ev, reason, ms) =>
            process.stderr.write(say('receiverDown', target.href, ev.id, reason, (ms / 1000).toFixed(1)) + '\n'),
        });
      }),
    );

  return program;
}

/** Runs axv with argv; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    const json = argv.includes('--json');
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help'
        ? 0
        : 2;
    }
    if (err instanceof UsageError) {
      process.stderr.write(say('usage', err.message) + '\n');
      return 2;
    }
    if (err instanceof ProblemError) {
      if (json) printJson(err.problem);
      else {
        process.stderr.write(say('refused', err.status, err.code, err.message) + '\n');
        for (const e of err.errors) process.stderr.write(`  ${e.pointer}: ${e.message}\n`);
      }
      return 1;
    }
    process.stderr.write(say('failed', (err as Error).message ?? String(err)) + '\n');
    return 1;
  }
}
