/**
 * A pilot's requirements as stages. The first-release shape (one session on one testbed) is one stage `main`
 * whose sessions are at least durationHours long, so with the no-spare-slot rule it is met by exactly one slot,
 * as before. Pure: create, patch, candidates and plans share it, and unit tests call it directly.
 */
import type { FieldError } from '../core/errors.js';
import type { PilotRequirementsInput, PilotStage } from '../generated/schema-types.js';

const HOUR_MS = 3_600_000;
const MAIN_STAGE = 'main';

const FIRST_RELEASE_FIELDS = ['capabilities', 'units', 'durationHours', 'earliestStart', 'latestEnd'] as const;

/** The first-release columns a multi-stage pilot keeps as an envelope of its stages. */
export interface Envelope {
  capabilities: PilotStage['capabilities'];
  units: number;
  durationHours: number;
  earliestStart: string;
  latestEnd: string;
  location?: PilotStage['location'];
}

/** The stage a first-release requirement stands for. */
export function mainStage(r: Envelope): PilotStage {
  return {
    key: MAIN_STAGE,
    capabilities: r.capabilities,
    units: r.units,
    hours: r.durationHours,
    earliestStart: r.earliestStart,
    latestEnd: r.latestEnd,
    ...(r.location ? { location: r.location } : {}),
    sessionHours: { min: r.durationHours },
  };
}

/** Union of capabilities, largest units, summed hours, earliest start, latest end, the first stage's location. */
export function envelopeOf(stages: readonly PilotStage[]): Envelope {
  const caps = [...new Set(stages.flatMap((s) => s.capabilities))];
  const starts = stages.map((s) => Date.parse(s.earliestStart));
  const ends = stages.map((s) => Date.parse(s.latestEnd));
  const location = stages.find((s) => s.location)?.location;
  return {
    capabilities: caps,
    units: Math.max(...stages.map((s) => s.units)),
    durationHours: stages.reduce((a, s) => a + s.hours, 0),
    earliestStart: new Date(Math.min(...starts)).toISOString(),
    latestEnd: new Date(Math.max(...ends)).toISOString(),
    ...(location ? { location } : {}),
  };
}

/** Stages written as the API shows them: instants in UTC milliseconds, defaults filled in. */
export function normaliseStages(stages: readonly PilotStage[]): PilotStage[] {
  return stages.map((s) => ({
    ...s,
    earliestStart: new Date(s.earliestStart).toISOString(),
    latestEnd: new Date(s.latestEnd).toISOString(),
    ...(s.after ? { after: { ...s.after, minGapHours: s.after.minGapHours ?? 0 } } : {}),
  }));
}

/**
 * Checks that JSON Schema cannot express, with pointers under `base` (e.g. /body/requirements): either the
 * first-release fields or stages, never both; unique keys; `after` naming an earlier stage; windows that hold
 * the hours; session bounds in order and inside the window; gaps in order.
 */
export function requirementErrors(r: PilotRequirementsInput, base: string): FieldError[] {
  const errors: FieldError[] = [];
  if (r.stages) {
    for (const f of [...FIRST_RELEASE_FIELDS, 'location'] as const) {
      if (r[f] !== undefined) errors.push({ pointer: `${base}/${f}`, message: 'is not allowed together with stages' });
    }
    errors.push(...stageErrors(r.stages, `${base}/stages`));
    return errors;
  }
  for (const f of FIRST_RELEASE_FIELDS) {
    if (r[f] === undefined) errors.push({ pointer: `${base}/${f}`, message: 'is required (or give stages instead)' });
  }
  if (errors.length) return errors;
  const start = Date.parse(r.earliestStart!);
  const end = Date.parse(r.latestEnd!);
  if (!(start < end)) {
    errors.push({ pointer: `${base}/latestEnd`, message: 'must be later than earliestStart' });
  } else if (r.durationHours! * HOUR_MS > end - start) {
    errors.push({ pointer: `${base}/durationHours`, message: 'does not fit between earliestStart and latestEnd' });
  }
  return errors;
}

export function stageErrors(stages: readonly PilotStage[], base: string): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Map<string, number>();
  stages.forEach((s, i) => {
    const at = `${base}/${i}`;
    const first = seen.get(s.key);
    if (first !== undefined) errors.push({ pointer: `${at}/key`, message: `repeats the key of stage ${first}` });
    else seen.set(s.key, i);
    const start = Date.parse(s.earliestStart);
    const end = Date.parse(s.latestEnd);
    const windowHours = (end - start) / HOUR_MS;
    if (!(start < end)) errors.push({ pointer: `${at}/latestEnd`, message: 'must be later than earliestStart' });
    else if (s.hours > windowHours)
      errors.push({ pointer: `${at}/hours`, message: 'does not fit between earliestStart and latestEnd' });
    const min = s.sessionHours?.min;
    const max = s.sessionHours?.max;
    if (min !== undefined && max !== undefined && min > max) {
      errors.push({ pointer: `${at}/sessionHours/min`, message: 'must not exceed sessionHours.max' });
    } else if (min !== undefined && start < end && min > windowHours) {
      errors.push({ pointer: `${at}/sessionHours/min`, message: 'is longer than the window' });
    }
    if (s.after) {
      const target = seen.get(s.after.stage);
      if (s.after.stage === s.key) {
        errors.push({ pointer: `${at}/after/stage`, message: 'must name another stage, listed earlier' });
      } else if (target === undefined || target >= i) {
        const later = stages.some((o, j) => j > i && o.key === s.after!.stage);
        errors.push({
          pointer: `${at}/after/stage`,
          message: later ? 'must name a stage listed earlier' : `names no stage ("${s.after.stage}")`,
        });
      }
      const { minGapHours: lo, maxGapHours: hi } = s.after;
      if (lo !== undefined && hi !== undefined && lo > hi) {
        errors.push({ pointer: `${at}/after/minGapHours`, message: 'must not exceed maxGapHours' });
      }
    }
  });
  // The pilot is never in two places at once, so all its hours must fit in the span of its windows.
  if (!errors.length) {
    const env = envelopeOf(stages);
    if (env.durationHours * HOUR_MS > Date.parse(env.latestEnd) - Date.parse(env.earliestStart)) {
      errors.push({
        pointer: base,
        message: 'the hours of all stages do not fit between the earliest start and the latest end',
      });
    }
  }
  return errors;
}
