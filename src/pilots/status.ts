/**
 * The pilot lifecycle: draft → submitted → matched → booked → active → completed, and withdrawn from any state
 * before completed. Pure data: services check a move against it and apply the move in one UPDATE.
 */
export const PILOT_STATUSES = ['draft', 'submitted', 'matched', 'booked', 'active', 'completed', 'withdrawn'] as const;
export type PilotStatus = (typeof PILOT_STATUSES)[number];

export type PilotAction = 'submit' | 'match' | 'book' | 'activate' | 'complete' | 'withdraw';

export const TRANSITIONS: Record<PilotAction, { from: readonly PilotStatus[]; to: PilotStatus }> = {
  submit: { from: ['draft'], to: 'submitted' },
  match: { from: ['submitted'], to: 'matched' },
  book: { from: ['submitted', 'matched'], to: 'booked' },
  activate: { from: ['booked'], to: 'active' },
  complete: { from: ['active'], to: 'completed' },
  withdraw: { from: ['draft', 'submitted', 'matched', 'booked', 'active'], to: 'withdrawn' },
};

export const isEditable = (status: PilotStatus) => status === 'draft';
