/** Builders for dataset tests: multipart uploads through the API, bookings by direct SQL, storage inspection. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type supertest from 'supertest';
import { ctx, testS3 } from './context.js';
import { clearBucket, s3Objects, s3PendingUploads } from './s3-server.js';
import { createSlot, createTestbed, DAY, type Actor } from './factories.js';

export const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

export interface UploadOptions {
  content?: Buffer | string;
  fileName?: string;
  contentType?: string;
  fields?: Record<string, string>;
  /** Send the text fields after the file part instead of before it. */
  fieldsAfter?: boolean;
  agent?: supertest.Agent;
}

export const csv = (rows = 3) =>
  [
    'station,count,recorded_at',
    ...Array.from({ length: rows }, (_, i) => `S${i},${i * 7},2026-03-0${(i % 9) + 1}`),
  ].join('\n') + '\n';

export function uploadRequest(actor: Actor, pilotId: string, o: UploadOptions = {}) {
  const content = o.content ?? csv();
  const fields = { name: 'traffic-counts', sensitivity: 'internal', ...o.fields };
  let req = (o.agent ?? ctx().api()).post(`/v1/pilots/${pilotId}/datasets`).set(actor.auth);
  const addFields = () => {
    for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
  };
  if (!o.fieldsAfter) addFields();
  req = req.attach('file', Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'), {
    filename: o.fileName ?? 'counts.csv',
    contentType: o.contentType ?? 'text/csv',
  });
  if (o.fieldsAfter) addFields();
  return req;
}

export async function uploadDataset(actor: Actor, pilotId: string, o: UploadOptions = {}) {
  const res = await uploadRequest(actor, pilotId, o);
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; sha256: string; version: number; [k: string]: unknown };
}

/** Binary download as a Buffer. */
export function download(actor: Actor, id: string, headers: Record<string, string> = {}) {
  return ctx()
    .api()
    .get(`/v1/datasets/${id}/content`)
    .set(actor.auth)
    .set(headers)
    .buffer(true)
    .parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    });
}

/**
 * A confirmed booking of the pilot on a testbed the partner owns, written straight into the matching tables
 * (a match row, a booking row, the slot's booked_units) so these tests do not depend on the booking routes.
 */
export async function bookPilotOnPartnerTestbed(
  partner: Actor,
  pilotId: string,
  status: 'confirmed' | 'cancelled' = 'confirmed',
) {
  const testbed = await createTestbed(partner);
  const start = new Date(Date.now() + 10 * DAY);
  start.setUTCHours(0, 0, 0, 0);
  const end = new Date(start.getTime() + 8 * 3600_000);
  const slot = await createSlot(partner, testbed.id, start.toISOString(), end.toISOString(), 2);
  const { db } = ctx();
  const match = await db.query<{ id: string }>(
    `INSERT INTO matches (pilot_id, slot_id, testbed_id, units, status, origin) VALUES ($1, $2, $3, 1, 'approved', 'request') RETURNING id`,
    [pilotId, slot.id, testbed.id],
  );
  await db.query(
    `INSERT INTO bookings (match_id, pilot_id, slot_id, testbed_id, units, start_at, end_at, status) VALUES ($1, $2, $3, $4, 1, $5, $6, $7)`,
    [match.rows[0]!.id, pilotId, slot.id, testbed.id, start, end, status],
  );
  if (status === 'confirmed')
    await db.query('UPDATE slots SET booked_units = booked_units + 1 WHERE id = $1', [slot.id]);
  return { testbedId: testbed.id, slotId: slot.id };
}

/** Files below a directory, recursively (relative paths). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string, prefix: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p, `${prefix}${name}/`);
      else out.push(prefix + name);
    }
  };
  walk(dir, '');
  return out;
}

/** Temporaries: files in <uploads>/tmp, or on S3 the multipart uploads in progress (one bucket per run). */
export function tempFiles(uploadsDir = ctx().config.uploadsDir): string[] {
  const s3 = testS3();
  return s3 ? s3PendingUploads(s3) : filesUnder(join(uploadsDir, 'tmp'));
}
/** Stored objects: files in <uploads>/objects, or on S3 the objects under objects/ (one bucket per run). */
export function objectFiles(uploadsDir = ctx().config.uploadsDir): string[] {
  const s3 = testS3();
  return s3 ? s3Objects(s3) : filesUnder(join(uploadsDir, 'objects'));
}

/** Empties the shared uploads directory (the database is emptied by the root hook). */
export function clearUploads(dir = ctx().config.uploadsDir): void {
  const s3 = testS3();
  if (s3) return clearBucket(s3);
  for (const sub of ['tmp', 'objects']) {
    for (const name of readdirSync(join(dir, sub))) rmSync(join(dir, sub, name), { recursive: true, force: true });
  }
}
