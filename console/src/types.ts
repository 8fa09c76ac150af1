/**
 * The shapes the console reads, taken from the types `npm run gen:types` generates from schemas/*.json (the same
 * file the server's routes are typed with), never copied by hand: a field renamed or added in a schema reaches
 * the console's type check. Types only: `import type` is erased, so nothing of src/ enters the console bundle.
 */
import type { AllocationRun, CreditReport } from '../../src/generated/schema-types.js';

export type {
  AllocationRun,
  Blackout,
  BlackoutCreate,
  Booking,
  CandidateList,
  Capability,
  CapabilityList,
  CreditReport,
  Domain,
  DomainList,
  LoginResponse,
  Match,
  Me,
  Pilot,
  PilotBudget,
  PilotStage,
  Problem,
  ScoreBreakdown,
  Slot,
  Testbed,
  UnmetStage,
  UtilizationReport,
  WaitlistEntry,
  WebhookDelivery,
  WebhookEndpoint,
} from '../../src/generated/schema-types.js';

/** Parts of generated shapes the console names on their own. */
export type RunSummary = AllocationRun['summary'];
export type CreditRow = CreditReport['data'][number];
export type CreditGroupBy = CreditReport['groupBy'];
