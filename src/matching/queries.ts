/** Match rows: the select every match read starts from, the effective status, who sees a match, row readers. */
import type { Principal } from '../core/principal.js';
import type { Queryable } from '../db/client.js';
import type { Match, ScoreBreakdown } from '../generated/schema-types.js';
import { notFound } from '../core/errors.js';

export type MatchStatus = Match['status'];
export const LIVE: MatchStatus[] = ['requested', 'proposed', 'accepted'];

export interface MatchRow {
  id: string;
  pilot_id: string;
  slot_id: string;
  testbed_id: string;
  units: number;
  /** Effective status: a live match past expires_at reads as expired. */
  status: MatchStatus;
  origin: Match['origin'];
  allocation_run_id: string | null;
  score: number | null;
  breakdown: ScoreBreakdown | null;
  reasons: { ko: string[]; en: string[] } | null;
  created_at: Date;
  updated_at: Date;
  expires_at: Date | null;
  accepted_at: Date | null;
  decided_at: Date | null;
  start_at: Date;
  end_at: Date;
  booking_id: string | null;
  pilot_org: string;
  testbed_org: string;
  stage: string;
  group_id: string | null;
}

/** Live matches past their expiry read as expired everywhere, without a sweeper. */
export const EFFECTIVE_STATUS = `CASE WHEN m.status IN ('requested', 'proposed', 'accepted') AND m.expires_at <= now()
  THEN 'expired' ELSE m.status END`;

export const MATCH_SELECT = `SELECT m.id, m.pilot_id, m.slot_id, m.testbed_id, m.units, ${EFFECTIVE_STATUS} AS status,
    m.origin,
    m.allocation_run_id, m.score, m.breakdown, m.reasons, m.created_at, m.updated_at, m.expires_at, m.accepted_at,
    m.decided_at, m.stage, m.group_id, s.start_at, s.end_at, b.id AS booking_id, p.organization_id AS pilot_org,
    t.organization_id AS testbed_org
  FROM matches m
  JOIN slots s ON s.id = m.slot_id
  JOIN pilots p ON p.id = m.pilot_id
  JOIN testbeds t ON t.id = m.testbed_id
  LEFT JOIN bookings b ON b.match_id = m.id`;

/** Parties to a match or booking (pilot owner, testbed owner) and operators see it. */
export function partiesVisibility(
  principal: Principal,
  orgParam: number,
  pilotOrg = 'p.organization_id',
  testbedOrg = 't.organization_id',
): string {
  if (principal.orgKind === 'operator') return `$${orgParam}::uuid IS NOT NULL`;
  return `(${pilotOrg} = $${orgParam} OR ${testbedOrg} = $${orgParam})`;
}

/** The match if the principal is a party to it (or an operator), optionally locked; 404 otherwise. */
export async function getMatchRow(db: Queryable, principal: Principal, id: string, lock = false): Promise<MatchRow> {
  const { rows } = await db.query<MatchRow>(
    `${MATCH_SELECT} WHERE m.id = $1 AND ${partiesVisibility(principal, 2)}${lock ? ' FOR UPDATE OF m' : ''}`,
    [id, principal.organizationId],
  );
  const row = rows[0];
  if (!row) throw notFound('match');
  return row;
}

/** Unchecked read by id, for code that already decided the caller may see it. */
export async function getMatchById(db: Queryable, id: string): Promise<MatchRow> {
  const row = (await db.query<MatchRow>(`${MATCH_SELECT} WHERE m.id = $1`, [id])).rows[0];
  if (!row) throw notFound('match');
  return row;
}
