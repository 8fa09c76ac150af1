/** Forged pagination cursors: the right list name, values of the wrong type. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { decodeCursor, encodeCursor } from '../src/core/cursor.js';
import { ctx } from './support/context.js';
import { createPilot, createTestbed, operator, signup, type Actor } from './support/factories.js';

const api = () => ctx().api();

const ID = randomUUID();
const TIME = '2026-01-02T03:04:05.678Z';
/** Each is well-formed base64url JSON naming the list; only the types of the key's values are wrong. */
const forgedKeys: unknown[][] = [
  [1e20, ID],
  [-1, ID],
  [0, ID],
  [TIME, 42],
  ['2026-13-45T99:99:99.999Z', ID],
  ['yesterday', ID],
  [TIME, 'not-a-uuid'],
  [null, ID],
  [{ a: 1 }, ID],
  [TIME],
];

describe('tampered pagination cursors', () => {
  it('every list answers 400 invalid-cursor, never a 5xx, when a cursor holds values of the wrong type', async () => {
    const s = await signup();
    const partner = await signup('partner');
    const op = await operator();
    const pilot = await createPilot(s);
    const testbed = await createTestbed(partner);
    const lists: [string, string, Actor][] = [
      ['pilots', '/v1/pilots', s],
      ['testbeds', '/v1/testbeds', s],
      ['api-keys', '/v1/api-keys', s],
      ['bookings', '/v1/bookings', s],
      ['matches', '/v1/matches', s],
      ['webhook-endpoints', '/v1/webhook-endpoints', s],
      ['datasets', `/v1/pilots/${pilot.id}/datasets`, s],
      [`slots:${testbed.id}`, `/v1/testbeds/${testbed.id}/slots`, partner],
      ['events', '/v1/events', op],
    ];
    for (const [list, path, actor] of lists) {
      for (const key of forgedKeys) {
        const cursor = encodeCursor(list, key as (string | number)[]);
        const res = await api().get(`${path}?cursor=${cursor}`).set(actor.auth);
        assert.equal(res.status, 400, `${path} ${JSON.stringify(key)}: ${res.status} ${JSON.stringify(res.body)}`);
        assert.equal(res.body.code, 'invalid-cursor', `${path} ${JSON.stringify(key)}`);
      }
    }
  });

  it('checks each position by kind: time, uuid, int, text', () => {
    assert.deepEqual(decodeCursor('x', encodeCursor('x', [TIME, ID]), ['time', 'uuid']), [TIME, ID]);
    assert.deepEqual(decodeCursor('x', encodeCursor('x', [3]), ['int']), [3]);
    assert.throws(() => decodeCursor('x', encodeCursor('x', [3.5]), ['int']), /cursor/);
    assert.throws(() => decodeCursor('x', encodeCursor('x', ['3']), ['int']), /cursor/);
    assert.throws(() => decodeCursor('x', encodeCursor('x', [ID, TIME]), ['time', 'uuid']), /cursor/);
    assert.throws(
      () => decodeCursor('x', encodeCursor('x', ['2026-02-30T00:00:00.000Z', ID]), ['time', 'uuid']),
      /cursor/,
    );
  });
});
