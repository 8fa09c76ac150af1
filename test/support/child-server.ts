/** Registry servers in child processes (test/support/dataset-server.ts) for crash and multi-process tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import supertest from 'supertest';
import { businessNumber, DAY } from './factories.js';

export interface Child {
  proc: ChildProcess;
  base: string;
}

export async function startChild(env: Record<string, string>): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/support/dataset-server.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`dataset server exited with ${code}`)));
  });
  return { proc, base: `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}` };
}

export async function stopChild(child: Child, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  const exited = new Promise((resolve) => child.proc.once('exit', resolve));
  child.proc.kill(signal);
  await exited;
}

export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A startup with one pilot, created through a child's API. */
export async function startupWithPilot(base: string): Promise<{ auth: Record<string, string>; pilotId: string }> {
  const agent = () => supertest(base);
  const email = `child-${Date.now()}-${Math.random().toString(36).slice(2)}@example.kr`;
  const signed = await agent()
    .post('/v1/auth/signup')
    .send({
      organization: { name: 'Child test', kind: 'startup', businessNumber: businessNumber() },
      user: { email, password: 'correct horse battery staple', name: 'C' },
    });
  if (signed.status !== 201) throw new Error(`signup: ${signed.status} ${JSON.stringify(signed.body)}`);
  const auth = { Authorization: `Bearer ${signed.body.token as string}` };
  const start = new Date(Date.now() + 7 * DAY);
  const pilot = await agent()
    .post('/v1/pilots')
    .set(auth)
    .send({
      title: 'Child pilot',
      summary: 'Uploads across processes.',
      domain: 'transport-safety',
      requirements: {
        capabilities: ['driving-simulator'],
        units: 1,
        durationHours: 8,
        earliestStart: start.toISOString(),
        latestEnd: new Date(start.getTime() + 30 * DAY).toISOString(),
      },
    });
  if (pilot.status !== 201) throw new Error(`pilot: ${pilot.status} ${JSON.stringify(pilot.body)}`);
  return { auth, pilotId: pilot.body.id as string };
}
