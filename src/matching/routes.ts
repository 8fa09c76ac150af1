import type { Db } from '../db/client.js';
import type {
  AllocationRunCreate,
  CandidateListQuery,
  MatchRequest,
  PlanListQuery,
} from '../generated/schema-types.js';
import { AppError } from '../core/errors.js';
import { schema, type ApiRouter } from '../http/route.js';
import { getRun, runAllocation, toRunDto } from './allocation-service.js';
import { plansFor, unmetFor } from './plan-service.js';
import { toCandidateDto } from './candidates.js';
import { candidatePage, ownPilot } from './candidate-page.js';
import type { RunGate } from './run-gate.js';
import { languageOf } from './language.js';
import { toMatchDto } from './presenter.js';
import {
  acceptMatch,
  approveMatch,
  getMatchRow,
  listMatches,
  matchPage,
  rejectMatch,
  requestGroup,
  requestMatch,
  type MatchListQuery,
} from './service.js';

const ONE_MATCH = { status: 200, description: 'The match.', schema: 'match.json' };

/** Candidates, matches and allocation runs. */
export function matchingRoutes(api: ApiRouter, db: Db, runs: RunGate): void {
  api.add(
    {
      method: 'get',
      path: '/v1/pilots/{id}/candidates',
      operationId: 'listCandidates',
      summary: 'Rank the slots that meet every requirement of a pilot, best first, with reasons',
      description:
        'Hard filters, per stage (`?stage=` keeps one; by default every stage, merged by score): an active testbed serving ' +
        "the pilot's domain with every capability of the stage; a slot inside [earliestStart, latestEnd], its length within " +
        'sessionHours (a first-release pilot: at least durationHours), with enough units left, not overlapping a booking the ' +
        'pilot holds. Score in [0, 1]: capability fit 0.35, time fit 0.30, location 0.15 (when the pilot gives one), load ' +
        'balance 0.20; ties by earlier start, then testbed id, then slot id. `reasons` follow Accept-Language (ko or en). ' +
        'The pilot owner and operators.',
      tag: 'Matching',
      auth: 'matching:read',
      query: schema<CandidateListQuery & { limit: number }>('candidate-list-query.json'),
      success: {
        status: 200,
        description: 'A page of ranked candidates.',
        schema: 'candidate-list.json',
        headers: ['Content-Language'],
      },
    },
    async ({ principal, params, query, req, res }) => {
      const page = await candidatePage(db, principal, params.id, query);
      const lang = languageOf(req, res);
      res.json({
        data: page.ranked.map((s) => toCandidateDto(s, lang)),
        nextCursor: page.nextCursor,
        // An empty first page says why, per stage (the order filter needs a plan search, so it counts nothing here).
        ...(page.ranked.length === 0 && page.offset === 0
          ? { unmet: (await unmetFor(db, page.pilot, lang)).filter((u) => !page.stage || u.stage === page.stage.key) }
          : {}),
      });
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/pilots/{id}/plans',
      operationId: 'listPlans',
      summary: 'Rank complete feasible plans for a pilot: whole slots for every stage, in order, within the budget',
      description:
        'Each stage is met by whole slots that pass its candidate filters, whose lengths sum to at least its hours but less ' +
        'than hours plus the shortest chosen slot; stages with `after` start every session no earlier than the end of that ' +
        'stage plus minGapHours, the first no later than that end plus maxGapHours; no two sessions overlap; the credits ' +
        "(at today's rates) fit in what remains of the budget. Score: the sessions' candidate scores weighted by hours. " +
        'When no plan exists, `unmet` says per stage how many slots each hard filter removed. The pilot owner and operators.',
      tag: 'Matching',
      auth: 'matching:read',
      query: schema<PlanListQuery & { limit: number }>('plan-list-query.json'),
      success: {
        status: 200,
        description: 'Plans, best first, or why there is none.',
        schema: 'plan-list.json',
        headers: ['Content-Language'],
      },
    },
    async ({ principal, params, query, req, res }) => {
      const pilot = await ownPilot(db, principal, params.id, 'plans');
      res.json(await plansFor(db, pilot, query.limit, languageOf(req, res)));
    },
  );

  api.add(
    {
      method: 'post',
      path: '/v1/pilots/{id}/matches',
      operationId: 'requestMatch',
      summary: 'Ask for a slot, or a group of sessions, for a pilot (the startup)',
      description:
        'Creates a `requested` match for the testbed owner or an operator to approve; nothing is booked yet, but ' +
        'the match holds its units until approved, rejected or expired (HOLD_TTL_SECONDS). A slot without enough ' +
        'available units (`slot-full`; join its waitlist) or not meeting the requirements (`slot-unsuitable`) is ' +
        'a 409 carrying `reasons` and up to three `alternatives` (candidates); a slot under a blackout is 409 ' +
        '`slot-blocked`. `{sessions: [{slotId, stage}]}` asks for a group: one match per session sharing a ' +
        '`groupId`, all created or none, answered as `{groupId, data}`; accept, approve and reject on any match ' +
        'of the group act on the whole group.',
      tag: 'Matching',
      auth: 'matching:write',
      body: schema<MatchRequest>('match-request.json'),
      idempotent: true,
      success: {
        status: 201,
        description: 'The requested match, or the group.',
        schema: 'match-request-result.json',
        headers: ['Location'],
      },
      errors: [409],
    },
    async ({ principal, params, body, req, res }) => {
      const lang = languageOf(req, res);
      if (body.sessions) {
        const group = await requestGroup(db, principal, params.id, body, lang);
        res
          .status(201)
          .location(`/v1/matches?pilotId=${params.id}`)
          .json({ groupId: group.groupId, data: group.data.map((m) => toMatchDto(m, lang)) });
        return;
      }
      const row = await requestMatch(db, principal, params.id, body, lang);
      res.status(201).location(`/v1/matches/${row.id}`).json(toMatchDto(row, lang));
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/matches',
      operationId: 'listMatches',
      summary: 'List the matches you are a party to, newest first',
      description:
        'The pilot owner and the testbed owner see a match; operators see all. A live match past its expiry reads as `expired`.',
      tag: 'Matching',
      auth: 'matching:read',
      query: schema<MatchListQuery>('match-list-query.json'),
      success: { status: 200, description: 'A page of matches.', schema: 'match-list.json' },
    },
    async ({ principal, query, req, res }) => {
      const lang = languageOf(req, res);
      res.json(matchPage(await listMatches(db, principal, query), query.limit, lang));
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/matches/{id}',
      operationId: 'getMatch',
      summary: 'Read a match',
      tag: 'Matching',
      auth: 'matching:read',
      success: ONE_MATCH,
    },
    async ({ principal, params, req, res }) => {
      res.json(toMatchDto(await getMatchRow(db, principal, params.id), languageOf(req, res)));
    },
  );

  api.add(
    {
      method: 'post',
      path: '/v1/matches/{id}/accept',
      operationId: 'acceptMatch',
      summary: 'Accept a proposal (the startup that owns the pilot)',
      description:
        'Only `proposed` matches; 409 otherwise (`match-expired` past expiry). Accepting holds the units until ' +
        'approval, rejection or expiry after HOLD_TTL_SECONDS: 409 `slot-full` with `alternatives` when they are ' +
        'no longer free, `slot-blocked` under a blackout. A match of a group accepts the whole group.',
      tag: 'Matching',
      auth: 'matching:write',
      success: ONE_MATCH,
      errors: [409],
    },
    async ({ principal, params, req, res }) => {
      const lang = languageOf(req, res);
      const row = await acceptMatch(db, principal, params.id, lang);
      res.json(toMatchDto(row, lang));
    },
  );

  api.add(
    {
      method: 'post',
      path: '/v1/matches/{id}/approve',
      operationId: 'approveMatch',
      summary: 'Approve a requested or accepted match, booking the slot (testbed owner or operator)',
      description:
        'Books the slot in the same transaction. A full or no longer suitable slot is a 409 with `alternatives`; a booking ' +
        'overlapping another of the pilot is 409 `booking-overlap`; approving twice, or a rejected or expired match, is 409. ' +
        "Credits (units × hours × creditRate) are spent from the pilot's budget: 409 `budget-exceeded` when they do not fit. " +
        'A match of a group approves the whole group in one transaction, all bookings or none; a failure names `failedSession`.',
      tag: 'Matching',
      auth: 'matching:write',
      success: ONE_MATCH,
      errors: [409],
    },
    async ({ principal, params, req, res }) => {
      const lang = languageOf(req, res);
      const row = (await approveMatch(db, principal, params.id, lang)).match;
      res.json(toMatchDto(row, lang));
    },
  );

  api.add(
    {
      method: 'post',
      path: '/v1/matches/{id}/reject',
      operationId: 'rejectMatch',
      summary: 'Reject or decline a live match (either party, or an operator)',
      description:
        'The pilot returns to `submitted` when nothing else is live. A match of a group rejects the whole group.',
      tag: 'Matching',
      auth: 'matching:write',
      success: ONE_MATCH,
      errors: [409],
    },
    async ({ principal, params, req, res }) => {
      const lang = languageOf(req, res);
      const row = await rejectMatch(db, principal, params.id);
      res.json(toMatchDto(row, lang));
    },
  );

  api.add(
    {
      method: 'post',
      path: '/v1/allocation-runs',
      operationId: 'createAllocationRun',
      summary: 'Run the allocation over the submitted pilots in scope (operators)',
      description:
        "Chooses at most one slot per pilot, never exceeding a slot's free units, maximising the total score: a mixed-integer " +
        'programme solved by HiGHS within `timeLimitSeconds`, with the greedy first-come/best-score baseline and the LP-relaxation ' +
        "bound in `summary`. `minShare` asks for at least that fraction of each domain's pilots to be matched when feasible. " +
        'Writes `proposed` matches only; nothing is booked until accepted and approved. An empty scope is 422 `empty-scope`. ' +
        'Concurrent runs skip pilots another run proposed for meanwhile; past ALLOCATION_MAX_RUNS runs in flight in one ' +
        'process a run is refused with 429 `allocation-runs-busy` and Retry-After.',
      tag: 'Matching',
      auth: 'matching:write',
      body: schema<AllocationRunCreate>('allocation-run-create.json'),
      idempotent: true,
      success: {
        status: 201,
        description: 'The run with its proposals and summary.',
        schema: 'allocation-run.json',
        headers: ['Location'],
      },
      errors: [422, 429],
    },
    async ({ principal, body, req, res }) => {
      const lang = languageOf(req, res);
      const run = await runs
        .run(() => runAllocation(db, principal, body))
        .catch((err: unknown) => {
          if (err instanceof AppError && err.code === 'allocation-runs-busy') res.setHeader('Retry-After', '5');
          throw err;
        });
      res
        .status(201)
        .location(`/v1/allocation-runs/${run.id}`)
        .json(await toRunDto(db, run, lang));
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/allocation-runs/{id}',
      operationId: 'getAllocationRun',
      summary: 'Read an allocation run with its proposals (operators)',
      tag: 'Matching',
      auth: 'matching:read',
      success: { status: 200, description: 'The run.', schema: 'allocation-run.json' },
    },
    async ({ principal, params, req, res }) => {
      const lang = languageOf(req, res);
      res.json(await toRunDto(db, await getRun(db, principal, params.id), lang));
    },
  );
}
