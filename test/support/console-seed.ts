/** Data for the console's end-to-end test, created through the public API like a client would. */
import supertest from 'supertest';
import { ctx } from './context.js';
import { createPilot, createSlot, createTestbed, operator, signup, DAY, type Actor } from './factories.js';

export const PASSWORD = 'correct horse battery staple';
const HOUR = 3_600_000;
const KST = 9 * HOUR;

/** Monday 00:00 KST of the week after the current one: always in the future, always one "next" click away. */
export function nextKstWeekStart(now = Date.now()): Date {
  const dayStart = Math.floor((now + KST) / DAY) * DAY - KST;
  const weekday = new Date(dayStart + KST).getUTCDay();
  return new Date(dayStart - ((weekday + 6) % 7) * DAY + 7 * DAY);
}

export interface ConsoleSeed {
  op: Actor;
  startup: Actor;
  testbed: { id: string; name: string };
  pilot: { id: string; title: string };
  otherPilot: { id: string; title: string };
  slotStart: Date;
}

export async function seedConsole(): Promise<ConsoleSeed> {
  const op = await operator();
  const startup = await signup('startup', { name: '빛고을 모빌리티 (E2E)' });
  const created = await createTestbed(op, { name: '대형 자율주행 시뮬레이터 (E2E)', capacity: 2 });
  const testbed = { id: created.id, name: String(created.name) };
  const other = await createTestbed(op, {
    name: '시니어 돌봄 리빙랩 (E2E)',
    domains: ['health'],
    capabilities: ['care-facility'],
    capacity: 3,
    location: { address: '광주광역시 남구 봉선동', lat: 35.13, lng: 126.91 },
  });

  const monday = nextKstWeekStart();
  // Mon–Fri 10:00–18:00 KST next week on the simulator; the pilot needs one of them.
  for (let d = 0; d < 5; d++) {
    const start = new Date(monday.getTime() + d * DAY + 10 * HOUR);
    await createSlot(op, testbed.id, start.toISOString(), new Date(start.getTime() + 8 * HOUR).toISOString(), 2);
  }
  for (let d = 0; d < 3; d++) {
    const start = new Date(monday.getTime() + d * DAY + 9 * HOUR);
    await createSlot(op, other.id, start.toISOString(), new Date(start.getTime() + 4 * HOUR).toISOString(), 3);
  }

  const window = {
    earliestStart: new Date(Date.now() + HOUR).toISOString(),
    latestEnd: new Date(Date.now() + 30 * DAY).toISOString(),
  };
  const pilot = await createPilot(
    startup,
    { title: 'AI 콕핏 운전자 주의 연구 (E2E)' },
    { ...window, durationHours: 8 },
  );
  const otherPilot = await createPilot(
    startup,
    {
      title: '시니어 마음돌봄 영상 실증 (E2E)',
      summary: 'Multimodal senior mind-care video generation at a care centre.',
      domain: 'health',
      subdomain: 'senior-care',
    },
    { ...window, capabilities: ['care-facility'], durationHours: 4 },
  );
  await createPilot(startup, { title: '작성 중인 파일럿 (E2E)' }, window); // a draft: not in the queue of submitted pilots
  for (const p of [pilot, otherPilot]) {
    const res = await supertest(ctx().app).post(`/v1/pilots/${p.id}/submit`).set(startup.auth);
    if (res.status !== 200) throw new Error(`submit failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return {
    op,
    startup,
    testbed,
    pilot: { id: pilot.id, title: String(pilot.title) },
    otherPilot: { id: otherPilot.id, title: String(otherPilot.title) },
    slotStart: new Date(monday.getTime() + 10 * HOUR),
  };
}
