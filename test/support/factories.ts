/** Builders for test data, each with overrides, going through the public API like a client would. */
import { randomUUID } from 'node:crypto';
import { ensureOperator } from '../../src/auth/service.js';
import { businessNumberCheckDigit } from '../../src/auth/business-number.js';
import { ctx } from './context.js';

export interface Actor {
  token: string;
  orgId: string;
  userId: string;
  email: string;
  auth: { Authorization: string };
}

const PASSWORD = 'correct horse battery staple';

/** A random valid business registration number. */
export function businessNumber(): string {
  const nine = Array.from({ length: 9 }, () => Math.floor(Math.random() * 10)).join('');
  return nine + businessNumberCheckDigit(nine);
}

export async function signup(
  kind: 'startup' | 'partner' = 'startup',
  overrides: { name?: string; email?: string } = {},
): Promise<Actor> {
  const email = overrides.email ?? `${kind}-${randomUUID().slice(0, 8)}@example.kr`;
  const res = await ctx()
    .api()
    .post('/v1/auth/signup')
    .send({
      organization: {
        name: overrides.name ?? `${kind} ${randomUUID().slice(0, 6)}`,
        kind,
        businessNumber: businessNumber(),
      },
      user: { email, password: PASSWORD, name: 'Test User' },
    });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${JSON.stringify(res.body)}`);
  return actor(res.body.token, res.body.organization.id, res.body.user.id, email);
}

export async function operator(): Promise<Actor> {
  const email = `operator-${randomUUID().slice(0, 8)}@gwangju.go.kr`;
  const { userId, organizationId } = await ensureOperator(ctx().db, email, PASSWORD);
  const res = await ctx().api().post('/v1/auth/login').send({ email, password: PASSWORD });
  if (res.status !== 200) throw new Error(`operator login failed: ${res.status}`);
  return actor(res.body.token, organizationId, userId, email);
}

function actor(token: string, orgId: string, userId: string, email: string): Actor {
  return { token, orgId, userId, email, auth: { Authorization: `Bearer ${token}` } };
}

export const DAY = 86_400_000;

export function pilotBody(overrides: Record<string, unknown> = {}, requirements: Record<string, unknown> = {}) {
  const start = new Date(Date.now() + 7 * DAY);
  return {
    title: 'AI cockpit driver-attention study',
    summary: 'Measures driver attention with a space-aware AI cockpit on the large simulator.',
    domain: 'transport-safety',
    subdomain: 'ai-cockpit',
    ...overrides,
    requirements: {
      capabilities: ['driving-simulator'],
      units: 1,
      durationHours: 8,
      earliestStart: start.toISOString(),
      latestEnd: new Date(start.getTime() + 30 * DAY).toISOString(),
      ...requirements,
    },
  };
}

export async function createPilot(
  owner: Actor,
  overrides: Record<string, unknown> = {},
  requirements: Record<string, unknown> = {},
) {
  const res = await ctx().api().post('/v1/pilots').set(owner.auth).send(pilotBody(overrides, requirements));
  if (res.status !== 201) throw new Error(`createPilot failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; status: string; [k: string]: unknown };
}

export function testbedBody(overrides: Record<string, unknown> = {}) {
  return {
    name: 'Autonomous-driving simulator (demo)',
    description: 'Large driving simulator in the AI demonstration building, 첨단3지구.',
    domains: ['transport-safety'],
    capabilities: ['driving-simulator', 'cockpit-rig'],
    capacity: 2,
    location: { address: '광주광역시 북구 첨단벤처로 60', lat: 35.2293, lng: 126.8437 },
    ...overrides,
  };
}

export async function createTestbed(owner: Actor, overrides: Record<string, unknown> = {}) {
  const res = await ctx().api().post('/v1/testbeds').set(owner.auth).send(testbedBody(overrides));
  if (res.status !== 201) throw new Error(`createTestbed failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; organizationId: string; [k: string]: unknown };
}

export interface SlotDto {
  id: string;
  testbedId: string;
  seriesId: string | null;
  start: string;
  end: string;
  capacity: number;
  bookedUnits: number;
  availableUnits: number;
}

export async function createSlot(
  actor: Actor,
  testbedId: string,
  start: string,
  end: string,
  capacity = 1,
): Promise<SlotDto> {
  const res = await ctx().api().post(`/v1/testbeds/${testbedId}/slots`).set(actor.auth).send({ start, end, capacity });
  if (res.status !== 201) throw new Error(`createSlot failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as SlotDto;
}

/** Rows in a table, for "nothing was written" assertions. */
export async function countRows(table: string): Promise<number> {
  return (await ctx().db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${table}"`)).rows[0]!.n;
}

/** The ETag a GET of url returns to actor. */
export async function etagAt(actor: Actor, url: string): Promise<string> {
  const res = await ctx().api().get(url).set(actor.auth);
  if (res.status !== 200) throw new Error(`GET ${url} failed: ${res.status}`);
  return String(res.headers.etag);
}

export const pointers = (body: { errors?: { pointer: string }[] }) => (body.errors ?? []).map((e) => e.pointer);
