/**
 * The shapes the console reads, taken from the types `npm run gen:types` generates from schemas/*.json (the same
 * file the server's routes are typed with), never copied by hand: a field renamed or added in a schema reaches
 * the console's type check. Types only: `import type` is erased, so nothing of src/ enters the console bundle.
 */
import type {
  AllocationRun,
  CreditReport,
  Me,
  PilotRequirements,
  UtilizationReport,
} from '../../src/generated/schema-types.js';

export type {
  AllocationRun,
  Blackout,
  BlackoutCreate,
  Booking,
  Candidate,
  CandidateList,
  Capability,
  CapabilityList,
  CreditReport,
  Domain,
  DomainList,
  Label,
  LoginResponse,
  Match,
  MatchList,
  MatchStatus,
  Me,
  Pilot,
  PilotBudget,
  PilotStage,
  PilotStatus,
  Problem,
  ScoreBreakdown,
  Slot,
  Testbed,
  UnmetStage,
  UtilizationReport,
  WaitlistEntry,
  WebhookAttempt,
  WebhookDelivery,
  WebhookEndpoint,
} from '../../src/generated/schema-types.js';

/** Parts of generated shapes the console names on their own. */
export type Role = Me['role'];
export type RunSummary = AllocationRun['summary'];
export type UtilizationRow = UtilizationReport['data'][number];
export type CreditRow = CreditReport['data'][number];
export type CreditGroupBy = CreditReport['groupBy'];
export type Stages = PilotRequirements['stages'];
