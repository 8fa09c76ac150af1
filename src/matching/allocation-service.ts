/**
 * Allocation runs (operators). Reads the scope, searches plans and solves outside any transaction (CPU work, in a
 * worker thread), then writes the run and its proposals in one transaction, re-checking under row locks that each
 * pilot is still free to be proposed and can still pay for its plan. Each pilot gets a whole plan or nothing: a
 * pilot with stages gets one proposal per session, all sharing a groupId. A run only proposes: nothing is booked
 * until a proposal is accepted and approved.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../core/principal.js';
import type { Db, Queryable } from '../db/client.js';
import { recordEvent } from '../events/outbox.js';
import type { AllocationRun, AllocationRunCreate } from '../generated/schema-types.js';
import { forbidden, notFound, unprocessable, validationFailed } from '../core/errors.js';
import { budgetOf, PILOT_COLUMNS, stagesOf, type PilotRow } from '../pilots/queries.js';

import { notBlockedSql } from './holds.js';
import { transitionPilot } from '../pilots/lifecycle.js';
import type { AllocationSummary } from './allocation.js';
import { allocatePlansOffThread } from './allocate-off-thread.js';
import type { PlanScene } from './allocation-instance.js';
import { needsOf, SCARCE, stageOf, toOffer } from './candidates.js';
import { creditRates } from './plan-service.js';
import { recordPartiesEvent } from './events.js';
import { toMatchDto } from './presenter.js';
import { MATCH_SELECT, type MatchRow } from './queries.js';
import { reasonsFor, scoreOffer, type Lang } from './scoring.js';

const DAY = 86_400_000;
const MAX_WINDOW_DAYS = 731;
/** A proposal waits for the startup and the approver at most this long (and never past the slot's start). */
const PROPOSAL_TTL_MS = 7 * DAY;
const MAX_PILOTS = 10_000;
const MAX_SLOTS = 50_000;

interface RunRow {
  id: string;
  method: 'optimal' | 'greedy';
  params: AllocationRunCreate;
  summary: AllocationSummary & { proposed: number; skipped: number };
  created_at: Date;
}

/** Pilots a run may propose for: submitted, or matched with nothing live left (every match expired). */
const FREE_PILOT = `(p.status = 'submitted' OR (p.status = 'matched'
    AND NOT EXISTS (SELECT 1 FROM matches fm WHERE fm.pilot_id = p.id AND fm.status IN ('requested', 'proposed', 'accepted')
                      AND (fm.expires_at IS NULL OR fm.expires_at > now()))
    AND NOT EXISTS (SELECT 1 FROM bookings fb WHERE fb.pilot_id = p.id AND fb.status = 'confirmed')))`;

function windowOf(body: AllocationRunCreate): { from: Date; to: Date } {
  const from = body.from ? new Date(body.from) : new Date();
  const to = body.to ? new Date(body.to) : new Date(from.getTime() + 365 * DAY);
  if (to.getTime() <= from.getTime()) {
    throw validationFailed(
      [{ pointer: body.to ? '/body/to' : '/body/from', message: 'must leave a non-empty window (to later than from)' }],
      'The window is empty.',
    );
  }
  if (to.getTime() - from.getTime() > MAX_WINDOW_DAYS * DAY) {
    throw validationFailed(
      [{ pointer: '/body/to', message: 'must be at most two years after from' }],
      'The window is too long.',
    );
  }
  return { from, to };
}

export async function runAllocation(db: Db, principal: Principal, body: AllocationRunCreate) {
  if (principal.orgKind !== 'operator') throw forbidden('Only programme operators run the allocation.');
  const method = body.method ?? 'optimal';
  const timeLimitSeconds = body.timeLimitSeconds ?? 10;
  const { from, to } = windowOf(body);
  const domain = body.domain ?? null;

  const pilots = (
    await db.query<PilotRow>(
      `SELECT ${PILOT_COLUMNS} FROM pilots p
        WHERE ${FREE_PILOT} AND ($1::text IS NULL OR p.domain = $1) AND p.latest_end > $2 AND p.earliest_start < $3
        ORDER BY p.submitted_at NULLS LAST, p.id LIMIT ${MAX_PILOTS}`,
      [domain, from.toISOString(), to.toISOString()],
    )
  ).rows;
  const offers = (
    await db.query<Parameters<typeof toOffer>[0]>(
      `WITH tb AS (
         SELECT t.id, t.name, t.status, t.domains, t.capabilities, t.lat, t.lng,
                (SELECT COALESCE(sum(x.booked_units * extract(epoch FROM x.end_at - x.start_at))
                        / NULLIF(sum(x.capacity * extract(epoch FROM x.end_at - x.start_at)), 0), 0)::float8
                   FROM slots x WHERE x.testbed_id = t.id AND x.start_at >= $2 AND x.start_at < $3) AS utilization
           FROM testbeds t WHERE t.status = 'active' AND ($1::text IS NULL OR t.domains @> ARRAY[$1::text])
       )
       SELECT s.id AS slot_id, tb.id AS testbed_id, tb.name AS testbed_name, s.start_at, s.end_at, s.capacity,
              s.booked_units + s.held_units AS booked_units, tb.status, tb.domains, tb.capabilities, tb.lat, tb.lng,
              tb.utilization
         FROM tb JOIN slots s ON s.testbed_id = tb.id
        WHERE s.start_at >= $2 AND s.end_at <= $3 AND s.booked_units + s.held_units < s.capacity
          AND ${notBlockedSql('s')}
        ORDER BY s.start_at, s.id LIMIT ${MAX_SLOTS}`,
      [domain, from.toISOString(), to.toISOString()],
    )
  ).rows.map(toOffer);
  if (!pilots.length || !offers.length) {
    throw unprocessable(
      'empty-scope',
      `The scope holds ${pilots.length} pilot(s) free to be matched and ${offers.length} open slot(s); a run needs at least one of each. Nothing was proposed.`,
      { pilots: pilots.length, slots: offers.length },
    );
  }

  const rates = await creditRates(db, [...new Set(offers.map((o) => o.testbedId))]);
  const scene: PlanScene = {
    pilots: pilots.map((p, i) => ({
      id: p.id,
      domain: p.domain,
      order: i,
      single: p.stages === null,
      stages: stagesOf(p).map((s) => ({
        key: s.key,
        hours: s.hours,
        after: s.after,
        units: s.units,
        needs: needsOf(p, s),
      })),
      remaining: budgetOf(p)?.remaining ?? null,
    })),
    offers,
    rates: Object.fromEntries(rates),
    ...(body.minShare
      ? {
          minShare: Object.fromEntries(
            Object.entries(body.minShare).filter((e): e is [string, number] => e[1] !== undefined),
          ),
        }
      : {}),
  };
  const result = await allocatePlansOffThread(scene, { method, timeLimitSeconds });

  const params: AllocationRunCreate = {
    ...body,
    method,
    timeLimitSeconds,
    from: from.toISOString(),
    to: to.toISOString(),
  };
  return db.transaction(async (tx) => {
    const chosen = result.assignments.map((a) => ({ pilot: pilots[a.pilot]!, plan: a.plan }));
    // Lock the chosen pilots in id order and keep those still free, and still able to pay for the whole plan: a
    // request, an approval or a new budget may have come in meanwhile.
    // The check is a second statement, after the locks, so that it sees what committed while we waited for them;
    // in one `FOR UPDATE` statement PostgreSQL re-checks a changed pilot row but not the EXISTS over matches,
    // and two concurrent runs each proposed for the same pilot (or hit matches_live_pair_key, a 500).
    const ids = chosen.map((c) => c.pilot.id).sort();
    await tx.query('SELECT p.id FROM pilots p WHERE p.id = ANY($1::uuid[]) ORDER BY p.id FOR UPDATE', [ids]);
    const free = new Map(
      (
        await tx.query<PilotRow>(
          `SELECT ${PILOT_COLUMNS} FROM pilots p WHERE p.id = ANY($1::uuid[]) AND ${FREE_PILOT}`,
          [ids],
        )
      ).rows.map((p) => [p.id, p]),
    );
    const kept = chosen.filter((c) => {
      const p = free.get(c.pilot.id);
      const budget = p ? budgetOf(p) : null;
      return p !== undefined && (budget === null || c.plan.credits <= budget.remaining);
    });
    const summary = { ...result.summary, proposed: kept.length, skipped: chosen.length - kept.length };
    const run = (
      await tx.query<RunRow>(
        `INSERT INTO allocation_runs (organization_id, created_by, method, params, summary) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, method, params, summary, created_at`,
        [principal.organizationId, principal.userId, method, JSON.stringify(params), JSON.stringify(summary)],
      )
    ).rows[0]!;
    if (kept.length) {
      const now = Date.now();
      // One row per session. A staged pilot's sessions share a groupId (accepted and approved as one) and one expiry,
      // the earlier of the first session's start and the proposal TTL; a first-release pilot's one proposal has none.
      const rows = kept.flatMap((c) => {
        const sessions = c.plan.sessions.map((x) => ({ x, offer: offers[x.slot]! }));
        const groupId = c.pilot.stages === null ? null : randomUUID();
        const expires = new Date(
          Math.min(...sessions.map((s) => s.offer.start.getTime()), now + PROPOSAL_TTL_MS),
        ).toISOString();
        return sessions.map(({ x, offer }) => {
          const stage = stageOf(c.pilot, x.stage) ?? stagesOf(c.pilot)[0]!;
          return {
            pilot: c.pilot,
            offer,
            units: x.units,
            stage: stage.key,
            groupId,
            expires,
            scored: scoreOffer(needsOf(c.pilot, stage), offer, SCARCE),
          };
        });
      });
      await tx.query(
        `INSERT INTO matches (pilot_id, slot_id, testbed_id, units, status, origin, allocation_run_id, score, breakdown, reasons, expires_at, stage, group_id)
         SELECT x.pilot_id, x.slot_id, x.testbed_id, x.units, 'proposed', 'allocation', $1, x.score, x.breakdown, x.reasons, x.expires_at, x.stage, x.group_id
           FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::int[], $6::float8[], $7::jsonb[], $8::jsonb[], $9::timestamptz[], $10::text[], $11::uuid[])
                AS x(pilot_id, slot_id, testbed_id, units, score, breakdown, reasons, expires_at, stage, group_id)`,
        [
          run.id,
          rows.map((r) => r.pilot.id),
          rows.map((r) => r.offer.slotId),
          rows.map((r) => r.offer.testbedId),
          rows.map((r) => r.units),
          rows.map((r) => r.scored.score),
          rows.map((r) => JSON.stringify(r.scored.breakdown)),
          rows.map((r) => JSON.stringify({ ko: reasonsFor(r.scored, 'ko'), en: reasonsFor(r.scored, 'en') })),
          rows.map((r) => r.expires),
          rows.map((r) => r.stage),
          rows.map((r) => r.groupId),
        ],
      );
      for (const c of kept) {
        const p = free.get(c.pilot.id)!;
        if (p.status === 'submitted') await transitionPilot(tx, p, 'match');
      }
      for (const m of await proposalsOf(tx, run.id)) {
        await recordPartiesEvent(tx, 'match.proposed', toMatchDto(m), m.pilot_id, m.testbed_id, m.pilot_org);
      }
    }
    await recordEvent(tx, {
      type: 'allocation_run.completed',
      data: { id: run.id, method, params, summary },
      visibility: 'organization',
      organizationId: principal.organizationId,
    });
    return run;
  });
}

async function proposalsOf(db: Queryable, runId: string): Promise<MatchRow[]> {
  return (
    await db.query<MatchRow>(`${MATCH_SELECT} WHERE m.allocation_run_id = $1 ORDER BY m.created_at, m.id`, [runId])
  ).rows;
}

export async function getRun(db: Db, principal: Principal, id: string): Promise<RunRow> {
  // Runs are operators' working documents: other organisations are told nothing about them.
  if (principal.orgKind !== 'operator') throw notFound('allocation run');
  const { rows } = await db.query<RunRow>(
    'SELECT id, method, params, summary, created_at FROM allocation_runs WHERE id = $1',
    [id],
  );
  if (!rows[0]) throw notFound('allocation run');
  return rows[0];
}

export async function toRunDto(db: Queryable, run: RunRow, lang: Lang): Promise<AllocationRun> {
  const proposals = await proposalsOf(db, run.id);
  return {
    id: run.id,
    method: run.method,
    params: run.params,
    summary: run.summary,
    proposals: proposals.map((m) => toMatchDto(m, lang)),
    createdAt: run.created_at.toISOString(),
  };
}
