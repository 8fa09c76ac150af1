/**
 * axv's settings file: $XDG_CONFIG_HOME/axv/config.json (else ~/.config/axv/config.json), mode 0600 because it
 * holds a bearer token. AXV_URL and AXV_TOKEN override what it says. Writes go through a temporary file and a
 * rename, so a crash never leaves half a file (listen saves its cursor here after every event).
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface ListenState {
  /** Cursor of the page being worked through (undefined: from the start of the feed). */
  cursor?: string;
  /** Events of that page already forwarded, so a restart neither skips nor repeats them. */
  done: string[];
}

export interface AxvConfig {
  url?: string;
  token?: string;
  email?: string;
  /** The signing secret listen prints; kept so a receiver's configuration survives restarts. */
  listenSecret?: string;
  /** Where listen got to, per service URL. */
  listen?: Record<string, ListenState>;
}

const DEFAULT_URL = 'http://localhost:3000';

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'axv');
}

export const configPath = (env: NodeJS.ProcessEnv = process.env) => join(configDir(env), 'config.json');

export function readConfig(env: NodeJS.ProcessEnv = process.env): AxvConfig {
  try {
    return JSON.parse(readFileSync(configPath(env), 'utf8')) as AxvConfig;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
}

function writeConfig(config: AxvConfig, env: NodeJS.ProcessEnv = process.env): void {
  const dir = configDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = configPath(env);
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  chmodSync(temp, 0o600); // mode is ignored when the file already existed
  renameSync(temp, file);
}

export function updateConfig(change: (c: AxvConfig) => void, env: NodeJS.ProcessEnv = process.env): AxvConfig {
  const config = readConfig(env);
  change(config);
  writeConfig(config, env);
  return config;
}

/** The service and token in force: environment first, then the file. */
export function resolveTarget(env: NodeJS.ProcessEnv = process.env): { url: string; token: string | undefined } {
  const config = readConfig(env);
  return { url: (env.AXV_URL || config.url || DEFAULT_URL).replace(/\/+$/, ''), token: env.AXV_TOKEN || config.token };
}
