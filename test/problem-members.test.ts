import assert from 'node:assert/strict';
import express from 'express';
import supertest from 'supertest';
import {
  AppError,
  RESERVED_PROBLEM_MEMBERS,
  isProblemCode,
  problemCodes,
  type ProblemExtensions,
} from '../src/core/errors.js';
import { sendProblem } from '../src/http/errors.js';
import { ctx } from './support/context.js';
import { createPilot, signup } from './support/factories.js';

const api = () => ctx().api();

describe('problem members defined by RFC 9457 are never shadowed', () => {
  it('refuses, for every problem code, an extension member named type, title, status, detail, instance or code', () => {
    for (const code of problemCodes) {
      for (const member of RESERVED_PROBLEM_MEMBERS) {
        const extra = { [member]: 'shadow' } as unknown as ProblemExtensions;
        assert.throws(() => new AppError(409, code, 'Conflict', 'x', extra), TypeError, `${code}/${member}`);
      }
    }
  });

  it('sends, for every problem code, the status, type, title, detail and code it was built with', async () => {
    const app = express();
    app.get('/:code', (req, res) => {
      const { code } = req.params;
      if (!isProblemCode(code)) throw new Error(`${code} is not in the catalogue`);
      const err = new AppError(409, code, 'Conflict', 'detail text', { currentStatus: 'submitted' });
      // Even an extension slipped in after construction cannot overwrite the defined members.
      (err.extra as Record<string, unknown>).status = 'submitted';
      sendProblem(res, err, 'urn:request:1');
    });
    for (const code of problemCodes) {
      const res = await supertest(app).get(`/${code}`);
      assert.equal(res.status, 409);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.deepEqual(
        {
          type: res.body.type,
          title: res.body.title,
          status: res.body.status,
          detail: res.body.detail,
          code: res.body.code,
        },
        { type: `/problems/${code}`, title: 'Conflict', status: 409, detail: 'detail text', code },
      );
      assert.equal(res.body.instance, 'urn:request:1');
      assert.equal(res.body.currentStatus, 'submitted');
    }
  });

  it('a 409 invalid-transition keeps status 409 and names the state in currentStatus', async () => {
    const s = await signup();
    const p = await createPilot(s);
    await api().post(`/v1/pilots/${p.id}/submit`).set(s.auth);
    const twice = await api().post(`/v1/pilots/${p.id}/submit`).set(s.auth);
    assert.equal(twice.status, 409);
    assert.equal(twice.body.code, 'invalid-transition');
    assert.equal(twice.body.status, 409);
    assert.equal(twice.body.currentStatus, 'submitted');
    const del = await api().delete(`/v1/pilots/${p.id}`).set(s.auth);
    assert.equal(del.status, 409);
    assert.equal(del.body.status, 409);
    assert.equal(del.body.currentStatus, 'submitted');
  });
});
