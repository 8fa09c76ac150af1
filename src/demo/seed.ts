/**
 * Loads the demo catalogue (src/demo/data.ts) in one transaction. Idempotent: every row has a fixed id and is
 * inserted with ON CONFLICT DO NOTHING, so a second load inserts nothing and never overwrites what users have
 * changed since. Slots are generated from the start of the current week (Asia/Seoul); a load on a later day
 * adds the slots that are new at the end of the horizon and skips every slot that would overlap an existing
 * one (ON CONFLICT DO NOTHING also covers the exclusion constraint slots_no_overlap).
 */
import { OPERATOR_LOCK, OPERATOR_ORG_NAME } from '../auth/service.js';
import { hashPassword } from '../auth/passwords.js';
import type { Db, Queryable } from '../db/client.js';
import {
  DEMO_OPERATOR,
  DEMO_OPERATOR_ORG_ID,
  DEMO_ORGANIZATIONS,
  DEMO_PASSWORD,
  DEMO_PILOTS,
  DEMO_TESTBEDS,
  DEMO_TIME_ZONE,
  DEMO_USERS,
  DEMO_WEEKS,
  OPERATOR,
  type DemoUser,
} from './data.js';
import { planSlots, weekStart } from './schedule.js';
import { envelopeOf, normaliseStages } from '../pilots/stages.js';
import type { CapabilityCode } from '../generated/schema-types.js';

/** The advisory lock ensureOperator takes: demo loading and operator creation never interleave. */

export interface DemoLoadOptions {
  /** The moment the calendar is built around (tests move it); defaults to now. */
  now?: Date;
}

interface DemoCounts {
  organizations: number;
  users: number;
  testbeds: number;
  slots: number;
  pilots: number;
}

async function ids(tx: Queryable, table: 'organizations' | 'users', wanted: string[]): Promise<Set<string>> {
  const { rows } = await tx.query<{ id: string }>(`SELECT id FROM ${table} WHERE id = ANY($1::uuid[])`, [wanted]);
  return new Set(rows.map((r) => r.id));
}

/** The operator organisation, created (with the name ensureOperator would give it) only when none exists. */
async function operatorOrganization(tx: Queryable, counts: DemoCounts): Promise<string> {
  const existing = (
    await tx.query<{ id: string }>(`SELECT id FROM organizations WHERE kind = 'operator' ORDER BY created_at LIMIT 1`)
  ).rows[0];
  if (existing) return existing.id;
  // Not marked demo: it is the real programme office, which ensureOperator reuses for real operators later.
  await tx.query(`INSERT INTO organizations (id, name, kind) VALUES ($1, $2, 'operator')`, [
    DEMO_OPERATOR_ORG_ID,
    OPERATOR_ORG_NAME,
  ]);
  counts.organizations++;
  return DEMO_OPERATOR_ORG_ID;
}

async function insertUsers(tx: Queryable, users: DemoUser[], counts: DemoCounts): Promise<void> {
  const present = await tx.query<{ id: string; email: string }>(
    'SELECT id, email FROM users WHERE id = ANY($1::uuid[]) OR email = ANY($2::text[])',
    [users.map((u) => u.id), users.map((u) => u.email)],
  );
  const taken = new Set(present.rows.flatMap((r) => [r.id, r.email]));
  const missing = users.filter((u) => !taken.has(u.id) && !taken.has(u.email));
  // Hash only for accounts that will be inserted: argon2id is deliberately slow, and start-up reloads often.
  const hashes = await Promise.all(missing.map(() => hashPassword(DEMO_PASSWORD)));
  for (const [i, u] of missing.entries()) {
    const { rows } = await tx.query(
      `INSERT INTO users (id, organization_id, email, name, password_hash) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT DO NOTHING RETURNING id`,
      [u.id, u.organizationId, u.email, u.name, hashes[i]],
    );
    counts.users += rows.length;
  }
}

export async function loadDemoData(db: Db, options: DemoLoadOptions = {}): Promise<Record<string, number>> {
  const from = weekStart(options.now ?? new Date(), DEMO_TIME_ZONE);
  const counts: DemoCounts = { organizations: 0, users: 0, testbeds: 0, slots: 0, pilots: 0 };

  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [OPERATOR_LOCK]);
    const operatorOrgId = await operatorOrganization(tx, counts);

    for (const o of DEMO_ORGANIZATIONS) {
      const { rows } = await tx.query(
        `INSERT INTO organizations (id, name, kind, business_number, demo) VALUES ($1, $2, $3, $4, true)
         ON CONFLICT DO NOTHING RETURNING id`,
        [o.id, o.name, o.kind, o.businessNumber],
      );
      counts.organizations += rows.length;
    }
    // Rows of an organisation that could not be inserted (or was deleted by hand since) are skipped, not failed.
    const orgs = await ids(
      tx,
      'organizations',
      DEMO_ORGANIZATIONS.map((o) => o.id),
    );
    orgs.add(operatorOrgId);
    const ownerOf = (id: string) => (id === OPERATOR ? operatorOrgId : id);

    const operatorUsers = await tx.query(
      `SELECT 1 FROM users u JOIN organizations o ON o.id = u.organization_id WHERE o.kind = 'operator' LIMIT 1`,
    );
    const users = DEMO_USERS.filter((u) => orgs.has(u.organizationId));
    if (operatorUsers.rows.length === 0) users.unshift({ ...DEMO_OPERATOR, organizationId: operatorOrgId });
    await insertUsers(tx, users, counts);

    for (const t of DEMO_TESTBEDS) {
      const owner = ownerOf(t.organizationId);
      if (!orgs.has(owner)) continue;
      const { rows } = await tx.query(
        `INSERT INTO testbeds (id, organization_id, name, description, domains, capabilities, capacity, address, lat, lng, demo)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, true)
         ON CONFLICT DO NOTHING RETURNING id`,
        [t.id, owner, t.name, t.description, t.domains, t.capabilities, t.capacity, t.address, t.lat, t.lng],
      );
      counts.testbeds += rows.length;
    }

    const slots = DEMO_TESTBEDS.flatMap((t) => planSlots(t.id, t.schedule, from, DEMO_WEEKS));
    // Only on active testbeds, never above the testbed's (possibly since lowered) capacity; a slot that exists
    // already or overlaps any slot of its testbed is skipped by ON CONFLICT DO NOTHING.
    const inserted = await tx.query(
      `INSERT INTO slots (id, testbed_id, start_at, end_at, capacity)
       SELECT s.id, s.testbed_id, s.start_at, s.end_at, LEAST(s.capacity, t.capacity)
         FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::timestamptz[], $5::int[])
                AS s (id, testbed_id, start_at, end_at, capacity)
         JOIN testbeds t ON t.id = s.testbed_id AND t.status = 'active'
        ORDER BY s.testbed_id, s.start_at
       ON CONFLICT DO NOTHING RETURNING id`,
      [
        slots.map((s) => s.id),
        slots.map((s) => s.testbedId),
        slots.map((s) => s.start.toISOString()),
        slots.map((s) => s.end.toISOString()),
        slots.map((s) => s.capacity),
      ],
    );
    counts.slots += inserted.rows.length;

    for (const p of DEMO_PILOTS) {
      if (!orgs.has(p.organizationId)) continue;
      const day = (d: number) => from.plus({ days: d }).toJSDate().toISOString();
      const stages = p.stages
        ? normaliseStages(
            p.stages.map(({ window, ...s }) => ({
              ...s,
              capabilities: s.capabilities as CapabilityCode[],
              earliestStart: day(window.fromDay),
              latestEnd: day(window.toDay),
              ...(p.location ? { location: p.location } : {}),
            })),
          )
        : null;
      const env = stages
        ? envelopeOf(stages)
        : {
            capabilities: p.capabilities,
            units: p.units,
            durationHours: p.durationHours,
            earliestStart: day(p.window.fromDay),
            latestEnd: day(p.window.toDay),
          };
      const { rows } = await tx.query(
        `INSERT INTO pilots (id, organization_id, title, summary, domain, subdomain, capabilities, units, duration_hours,
                             earliest_start, latest_end, location_address, location_lat, location_lng, status, demo,
                             submitted_at, withdrawn_at, stages)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, true,
                 CASE WHEN $15 IN ('submitted', 'withdrawn') THEN now() END,
                 CASE WHEN $15 = 'withdrawn' THEN now() END, $16)
         ON CONFLICT DO NOTHING RETURNING id`,
        [
          p.id,
          p.organizationId,
          p.title,
          p.summary,
          p.domain,
          p.subdomain,
          env.capabilities,
          env.units,
          env.durationHours,
          env.earliestStart,
          env.latestEnd,
          p.location?.address ?? null,
          p.location?.lat ?? null,
          p.location?.lng ?? null,
          p.status,
          stages ? JSON.stringify(stages) : null,
        ],
      );
      counts.pilots += rows.length;
      if (rows.length && p.budget) {
        await tx.query(
          `INSERT INTO pilot_budgets (pilot_id, credits, funding_line, note) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
          [p.id, p.budget.credits, p.budget.fundingLine, p.budget.note],
        );
      }
    }
  });
  return { ...counts };
}
