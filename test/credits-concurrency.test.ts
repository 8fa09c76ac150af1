/**
 * Budgets are never exceeded under a concurrent storm of approvals. With DATABASE_URL the storm goes to two
 * child processes running the real app on one PostgreSQL; on the embedded database (in this process) to the
 * in-process app.
 *
 * The scene: three pilots, each with requests for twelve slots on twelve different days (so neither slot
 * capacity nor the pilot-overlap rule stands in the way), each slot 8 h at creditRate 1 (8 credits a booking),
 * budgets 40, 24 and 8 credits: exactly 5, 3 and 1 approvals may win of the 36 sent at once.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ctx } from './support/context.js';
import { createTestbed, operator, signup } from './support/factories.js';
import { requested, ruleBreaches, slotOn, submittedPilot } from './support/matching-factories.js';

async function startServer(): Promise<{ base: string; child: ChildProcess }> {
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

const BUDGETS = [40, 24, 8];
const DAYS = 12;

async function scene() {
  const partner = await signup('partner');
  const op = await operator();
  const testbed = await createTestbed(partner, { capacity: 3 });
  const slots = [];
  for (let d = 1; d <= DAYS; d++) slots.push(await slotOn(partner, testbed.id, d, 3, 8));
  const shots: { path: string; auth: Record<string, string>; pilotId: string }[] = [];
  const pilots: string[] = [];
  for (const credits of BUDGETS) {
    const owner = await signup();
    const pilot = await submittedPilot(owner);
    pilots.push(pilot.id);
    const res = await ctx().api().put(`/v1/pilots/${pilot.id}/budget`).set(op.auth).send({ credits });
    assert.equal(res.status, 200);
    for (const s of slots) {
      const m = await requested(owner, pilot.id, s.id);
      shots.push({
        path: `/v1/matches/${m.id}/approve`,
        auth: (shots.length % 2 ? op : partner).auth,
        pilotId: pilot.id,
      });
    }
  }
  for (let k = shots.length - 1; k > 0; k--) {
    const j = (k * 7919) % (k + 1);
    [shots[k], shots[j]] = [shots[j]!, shots[k]!];
  }
  return { shots, pilots };
}

async function verify(hits: { pilotId: string; status: number; code?: string }[], pilots: string[]) {
  assert.equal(hits.length, BUDGETS.length * DAYS);
  for (const h of hits) {
    assert.ok(
      h.status === 200 || (h.status === 409 && h.code === 'budget-exceeded'),
      `approval answered ${h.status} ${h.code}`,
    );
  }
  pilots.forEach((id, i) => {
    assert.equal(
      hits.filter((h) => h.pilotId === id && h.status === 200).length,
      BUDGETS[i]! / 8,
      `pilot ${i} wins exactly its budget`,
    );
  });
  const { rows } = await ctx().db.query<{ pilot_id: string; credits: string; committed: string; spent: string }>(
    `SELECT pb.pilot_id, pb.credits, pb.committed,
            (SELECT COALESCE(sum(b.credits), 0) FROM bookings b WHERE b.pilot_id = pb.pilot_id AND b.status = 'confirmed') AS spent
       FROM pilot_budgets pb WHERE pb.pilot_id = ANY($1::uuid[])`,
    [pilots],
  );
  for (const r of rows) {
    assert.equal(Number(r.committed), Number(r.spent), 'committed equals the credits of confirmed bookings');
    assert.ok(Number(r.committed) <= Number(r.credits));
  }
  assert.deepEqual(await ruleBreaches(), { overbooked: 0, mismatched: 0, overlapping: 0 });
}

describe('budgets under concurrency', function () {
  this.timeout(240_000);

  if (process.env.DATABASE_URL) {
    it('are never exceeded by 36 concurrent approvals sent to two server processes on one PostgreSQL', async () => {
      assert.equal(ctx().db.engine, 'postgres');
      const { shots, pilots } = await scene();
      const servers = await Promise.all([startServer(), startServer()]);
      try {
        const hits = await Promise.all(
          shots.map(async (shot, k) => {
            const res = await fetch(servers[k % 2]!.base + shot.path, { method: 'POST', headers: shot.auth });
            const body = (await res.json()) as { code?: string };
            return { pilotId: shot.pilotId, status: res.status, code: body.code };
          }),
        );
        await verify(hits, pilots);
      } finally {
        for (const s of servers) {
          s.child.kill('SIGTERM');
          await new Promise((r) => s.child.once('exit', r));
        }
      }
    });
  } else {
    it('are never exceeded by 36 concurrent approvals on the embedded database (in-process; set DATABASE_URL for two processes)', async () => {
      const { shots, pilots } = await scene();
      const hits = await Promise.all(
        shots.map(async (shot) => {
          const res = await ctx().api().post(shot.path).set(shot.auth);
          return { pilotId: shot.pilotId, status: res.status, code: (res.body as { code?: string }).code };
        }),
      );
      await verify(hits, pilots);
    });
  }
});
