import type { Request, Response } from 'express';
import type { Db } from '../db/client.js';
import type { CreditReportQuery, PilotReportQuery, UtilizationQuery } from '../generated/schema-types.js';
import { forbidden } from '../core/errors.js';
import { schema, type ApiRouter } from '../http/route.js';
import type { Principal } from '../core/principal.js';
import { creditCsv, pilotCsv, utilizationCsv } from './csv.js';
import { creditReport, pilotReport, utilizationReport } from './service.js';

const wantsCsv = (req: Request) => req.accepts(['application/json', 'text/csv']) === 'text/csv';

function operatorOnly(principal: Principal): void {
  if (principal.orgKind !== 'operator') throw forbidden('Reports are for programme operators.');
}

function sendCsv(res: Response, name: string, body: string): void {
  // A BOM so that spreadsheet programs read the Korean labels as UTF-8.
  res
    .status(200)
    .type('text/csv; charset=utf-8')
    .vary('Accept')
    .set('Content-Disposition', `attachment; filename="${name}.csv"`)
    .send('\ufeff' + body);
}

/** Operator reports. */
export function reportRoutes(api: ApiRouter, db: Db): void {
  api.add(
    {
      method: 'get',
      path: '/v1/reports/utilization',
      operationId: 'getUtilizationReport',
      summary: 'Utilisation by domain or testbed over [from, to) (operators; JSON or CSV)',
      description:
        'Booked unit-hours (confirmed bookings) against offered unit-hours (slot capacity), counting only the parts inside ' +
        '[from, to), at most two years. A testbed serving several domains counts in each. `Accept: text/csv` answers CSV ' +
        '(the same page; a `Link: rel="next"` header names the next one).',
      tag: 'Reports',
      auth: 'reports:read',
      query: schema<UtilizationQuery & { limit: number }>('utilization-query.json'),
      success: {
        status: 200,
        description: 'The report.',
        schema: 'utilization-report.json',
        mediaType: 'text/csv',
        headers: ['Link'],
      },
    },
    async ({ principal, query, req, res }) => {
      operatorOnly(principal);
      const report = await utilizationReport(db, query);
      if (!wantsCsv(req)) return void res.vary('Accept').json(report);
      if (report.nextCursor) {
        const next = new URLSearchParams({
          from: query.from,
          to: query.to,
          groupBy: report.groupBy,
          limit: String(query.limit),
          cursor: report.nextCursor,
        });
        res.set('Link', `</v1/reports/utilization?${next.toString()}>; rel="next"`);
      }
      sendCsv(res, `utilization-${report.groupBy}`, utilizationCsv(report));
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/reports/pilots',
      operationId: 'getPilotReport',
      summary: 'Pilots by domain and status, and waiting time from submission to booking (operators; JSON or CSV)',
      description:
        "`from`/`to` keep pilots created in that range. Waiting is measured to a pilot's first booking; pilots still waiting are counted apart.",
      tag: 'Reports',
      auth: 'reports:read',
      query: schema<PilotReportQuery>('pilot-report-query.json'),
      success: { status: 200, description: 'The report.', schema: 'pilot-report.json', mediaType: 'text/csv' },
    },
    async ({ principal, query, req, res }) => {
      operatorOnly(principal);
      const report = await pilotReport(db, query);
      if (!wantsCsv(req)) return void res.vary('Accept').json(report);
      sendCsv(res, 'pilots', pilotCsv(report));
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/reports/credits',
      operationId: 'getCreditReport',
      summary: 'Credits by domain, funding line or organisation: budgets and booked credits (operators; JSON or CSV)',
      description:
        'Budgets as they stand now (credits, committed, remaining) of pilots with a budget, and the credits of confirmed bookings ' +
        'starting in [from, to) (all of them without a window). Pilots without a budget or funding line count under `none` ' +
        'when grouped by fundingLine.',
      tag: 'Reports',
      auth: 'reports:read',
      query: schema<CreditReportQuery>('credit-report-query.json'),
      success: { status: 200, description: 'The report.', schema: 'credit-report.json', mediaType: 'text/csv' },
    },
    async ({ principal, query, req, res }) => {
      operatorOnly(principal);
      const report = await creditReport(db, query);
      if (!wantsCsv(req)) return void res.vary('Accept').json(report);
      sendCsv(res, `credits-${report.groupBy}`, creditCsv(report));
    },
  );
}
