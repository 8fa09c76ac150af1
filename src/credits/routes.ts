import type { Db } from '../db/client.js';
import type { PilotBudgetPut } from '../generated/schema-types.js';
import { schema, type ApiRouter } from '../http/route.js';
import { putBudget } from './service.js';

/** Budgets of pilots (the credits report lives with the other reports). */
export function creditRoutes(api: ApiRouter, db: Db): void {
  api.add(
    {
      method: 'put',
      path: '/v1/pilots/{id}/budget',
      operationId: 'putPilotBudget',
      summary: "Set a pilot's funded credit budget (operators)",
      description:
        'Replaces credits, fundingLine and note. `committed` counts the credits of confirmed bookings (fixed at confirmation: ' +
        "units × hours × the testbed's creditRate, rounded up); a first budget starts with what the pilot's confirmed bookings " +
        'already cost. Lowering credits below committed is 409 `credits-below-committed`. A pilot without a budget is not limited.',
      tag: 'Pilots',
      auth: 'pilots:write',
      body: schema<PilotBudgetPut>('pilot-budget-put.json'),
      success: { status: 200, description: "The pilot's budget.", schema: 'pilot-budget.json' },
      errors: [409],
    },
    async ({ principal, params, body, res }) => {
      res.json(await putBudget(db, principal, params.id, body));
    },
  );
}
