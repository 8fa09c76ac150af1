/** Every event type the registry emits. Payload schemas live in schemas/event-<type>.json. */
export const EVENT_TYPES = [
  'pilot.created',
  'pilot.updated',
  'pilot.submitted',
  'pilot.withdrawn',
  'pilot.deleted',
  'testbed.created',
  'testbed.updated',
  'slot.created',
  'dataset.uploaded',
  'dataset.deleted',
  'match.proposed',
  'match.requested',
  'match.accepted',
  'match.rejected',
  'match.expired',
  'booking.confirmed',
  'booking.cancelled',
  'blackout.created',
  'blackout.deleted',
  'allocation_run.completed',
  'webhook_endpoint.disabled',
  'webhook.test',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export type EventVisibility = 'public' | 'pilot' | 'parties' | 'dataset' | 'organization';
