/**
 * The real app in child processes (test/support/app-server.ts) on the database named by DATABASE_URL, for tests
 * that race requests through more than one server process. Each child prints its port as one JSON line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface AppServer {
  base: string;
  child: ChildProcess;
}

export async function startAppServer(): Promise<AppServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/app-server.ts'], {
    env: { ...process.env, LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`app server exited with ${code}`)));
  });
  return { base: `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`, child };
}

export async function stopAppServers(servers: AppServer[]): Promise<void> {
  await Promise.all(
    servers.map(async (s) => {
      if (s.child.exitCode !== null || s.child.signalCode !== null) return;
      const exited = new Promise((resolve) => s.child.once('exit', resolve));
      s.child.kill('SIGTERM');
      await exited;
    }),
  );
}
