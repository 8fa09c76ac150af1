/** Rows as the database returns them, and the whitelists of what leaves the process. */
import { presentRow, timestamp, type Shape } from '../db/json-shape.js';
import type { CapabilityCode, DomainCode, Slot, Testbed, TestbedStatus } from '../generated/schema-types.js';

export interface TestbedRow {
  id: string;
  organization_id: string;
  name: string;
  description: string;
  domains: DomainCode[];
  capabilities: CapabilityCode[];
  capacity: number;
  address: string;
  lat: number;
  lng: number;
  status: TestbedStatus;
  version: number;
  demo: boolean;
  created_at: Date;
  updated_at: Date;
  credit_rate: number;
}

export const TESTBED_COLUMNS = `id, organization_id, name, description, domains, capabilities, capacity, address, lat, lng, status,
  version, demo, created_at, updated_at, credit_rate`;

/** What a testbed looks like on the wire; presentRow and jsonObjectSql both follow it. */
export const TESTBED_SHAPE: Shape = {
  id: 'id',
  organizationId: 'organization_id',
  name: 'name',
  description: 'description',
  domains: 'domains',
  capabilities: 'capabilities',
  capacity: 'capacity',
  location: { address: 'address', lat: 'lat', lng: 'lng' },
  status: 'status',
  createdAt: timestamp('created_at'),
  updatedAt: timestamp('updated_at'),
  demo: 'demo',
  creditRate: 'credit_rate',
};

export const toTestbedDto = (row: TestbedRow): Testbed =>
  presentRow<Testbed>(TESTBED_SHAPE, row as unknown as Record<string, unknown>);

export interface SlotRow {
  id: string;
  testbed_id: string;
  series_id: string | null;
  start_at: Date;
  end_at: Date;
  capacity: number;
  booked_units: number;
  held_units: number;
  /** The blackout covering the slot, when the query asked for it (blockedBySql). */
  blocked_by?: { blackoutId: string; reason: string } | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export const SLOT_COLUMNS =
  'id, testbed_id, series_id, start_at, end_at, capacity, booked_units, held_units, version, created_at, updated_at';

/** SLOT_COLUMNS qualified with a table alias, for joins. */
export const slotColumns = (alias: string) =>
  SLOT_COLUMNS.split(', ')
    .map((c) => `${alias}.${c}`)
    .join(', ');

export const toSlotDto = (row: SlotRow): Slot => ({
  id: row.id,
  testbedId: row.testbed_id,
  seriesId: row.series_id,
  start: row.start_at.toISOString(),
  end: row.end_at.toISOString(),
  capacity: row.capacity,
  bookedUnits: row.booked_units,
  heldUnits: row.held_units,
  availableUnits: Math.max(0, row.capacity - row.booked_units - row.held_units),
  blockedBy: row.blocked_by ?? null,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});
