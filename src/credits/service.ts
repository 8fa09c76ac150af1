/**
 * Funded budgets. An operator sets a pilot's credits; approvals spend them (matching/service.ts bookMatch) and
 * cancellations before the start return them (pilots/lifecycle.ts cancelConfirmed). PostgreSQL keeps the rule:
 * the CHECK pilot_budgets_committed_check refuses committed > credits, whether an approval raises committed or an
 * operator lowers credits. Lock order as everywhere: the pilot row first, then its budget row.
 */
import type { Principal } from '../core/principal.js';
import type { Db } from '../db/client.js';
import { isDbError } from '../db/errors.js';
import type { PilotBudget, PilotBudgetPut } from '../generated/schema-types.js';
import { conflict, forbidden } from '../core/errors.js';
import { budgetOf, getVisiblePilot } from '../pilots/queries.js';
import { recordPilotEvent } from '../pilots/service.js';

export async function putBudget(
  db: Db,
  principal: Principal,
  pilotId: string,
  body: PilotBudgetPut,
): Promise<PilotBudget> {
  try {
    return await db.transaction(async (tx) => {
      await getVisiblePilot(tx, principal, pilotId, true);
      if (principal.orgKind !== 'operator') throw forbidden('Only programme operators fund pilots.');
      // A first budget starts out committed with what the pilot's confirmed, not yet refunded bookings cost.
      await tx.query(
        `INSERT INTO pilot_budgets (pilot_id, credits, committed, funding_line, note, updated_by)
         SELECT $1, $2, COALESCE((SELECT sum(b.credits) FROM bookings b WHERE b.pilot_id = $1 AND b.status = 'confirmed'), 0), $3, $4, $5
         ON CONFLICT (pilot_id) DO UPDATE
           SET credits = EXCLUDED.credits, funding_line = EXCLUDED.funding_line, note = EXCLUDED.note,
               updated_by = EXCLUDED.updated_by, updated_at = date_trunc('milliseconds', now())`,
        [pilotId, body.credits, body.fundingLine ?? null, body.note ?? null, principal.userId],
      );
      const pilot = await getVisiblePilot(tx, principal, pilotId);
      await recordPilotEvent(tx, 'pilot.updated', pilot);
      return budgetOf(pilot)!;
    });
  } catch (err) {
    if (isDbError(err, 'check_violation', 'pilot_budgets_committed_check')) {
      const { rows } = await db.query<{ committed: string | null }>(
        `SELECT COALESCE((SELECT committed FROM pilot_budgets WHERE pilot_id = $1),
                         (SELECT sum(credits) FROM bookings WHERE pilot_id = $1 AND status = 'confirmed'), 0) AS committed`,
        [pilotId],
      );
      const committed = Number(rows[0]?.committed ?? 0);
      throw conflict(
        'credits-below-committed',
        `The pilot's confirmed bookings already commit ${committed} credits; the budget cannot be lower.`,
        {
          committed,
        },
      );
    }
    throw err;
  }
}
