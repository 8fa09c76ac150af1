/**
 * A page of a pilot's ranked candidates, as GET /v1/pilots/:id/candidates answers it, and who may see one. Only
 * the pilot's organisation and operators rank a pilot's slots (other parties that see the pilot get 403).
 */
import type { Db } from '../db/client.js';
import { forbidden, validationFailed } from '../core/errors.js';
import { decodeCursor, encodeCursor, invalidCursor } from '../core/cursor.js';
import type { Principal } from '../core/principal.js';
import { getVisiblePilot, type PilotRow } from '../pilots/queries.js';
import { ownsPilot } from '../pilots/visibility.js';
import type { PilotStage } from '../generated/schema-types.js';
import { rankedCandidates, stageOf, visiblePilotWithOffers, type StagedScored } from './candidates.js';

/** Candidates are for choosing, not for crawling: ten thousand places deep is plenty. */
const MAX_CANDIDATE_OFFSET = 10_000;

type Ranking = 'candidates' | 'plans';

/** A pilot whose candidates or plans only its own organisation and operators see (other parties 403, others 404). */
export async function ownPilot(db: Db, principal: Principal, id: string, what: Ranking): Promise<PilotRow> {
  const pilot = await getVisiblePilot(db, principal, id);
  mayRank(principal, pilot, what);
  return pilot;
}

function mayRank(principal: Principal, pilot: PilotRow, what: Ranking): void {
  if (principal.orgKind !== 'operator' && !ownsPilot(principal, pilot)) {
    throw forbidden(`Only the pilot's organisation and operators see its ${what}.`);
  }
}

export interface CandidatePage {
  pilot: PilotRow;
  stage: PilotStage | undefined;
  offset: number;
  /** At most `limit` candidates, best first. */
  ranked: StagedScored[];
  nextCursor: string | null;
}

/**
 * One page `limit` long after the cursor's offset, of one stage (`stage`) or of all. When the cursor decodes
 * against the id as given, the pilot and (for a first-release pilot) its suitable offers that deep are read in
 * one statement; otherwise the pilot is read first and the cursor judged against its own id. Either way 404 and
 * 403 come before a bad stage or cursor (400), as they always did.
 */
export async function candidatePage(
  db: Db,
  principal: Principal,
  id: string,
  query: { stage?: string | undefined; cursor?: string | undefined; limit: number },
): Promise<CandidatePage> {
  const list = (pilotId: string) => (query.stage ? `candidates:${pilotId}:${query.stage}` : `candidates:${pilotId}`);
  const early = attempt(() => candidateOffset(list(id), query.cursor));
  const { pilot, groups } =
    early === undefined
      ? { pilot: await getVisiblePilot(db, principal, id), groups: undefined }
      : await visiblePilotWithOffers(db, principal, id, early + query.limit + 1);
  mayRank(principal, pilot, 'candidates');
  const stage = query.stage === undefined ? undefined : stageOf(pilot, query.stage);
  if (query.stage !== undefined && !stage)
    throw validationFailed([{ pointer: '/query/stage', message: 'names no stage of the pilot' }]);
  const offset = candidateOffset(list(pilot.id), query.cursor);
  const ranked = await rankedCandidates(db, pilot, offset, query.limit, {
    ...(stage ? { stage } : {}),
    ...(offset === early ? { groups } : {}),
  });
  const more = ranked.length > query.limit;
  return {
    pilot,
    stage,
    offset,
    ranked: ranked.slice(0, query.limit),
    nextCursor: more ? encodeCursor(list(pilot.id), [offset + query.limit]) : null,
  };
}

/** The rank offset a candidates cursor carries; a forged one must not reach SQL as a negative or absurd LIMIT. */
function candidateOffset(list: string, cursor: string | undefined): number {
  const offset = decodeCursor(list, cursor, ['int'])?.[0] ?? 0;
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset > MAX_CANDIDATE_OFFSET) {
    throw invalidCursor();
  }
  return offset;
}

/** The value, or undefined when computing it throws. */
function attempt<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
