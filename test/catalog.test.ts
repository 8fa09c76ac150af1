import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ALL_SCOPES } from '../src/core/scopes.js';
import { CAPABILITIES, DOMAINS } from '../src/domains/catalog.js';
import { ctx } from './support/context.js';

const schemaEnum = (file: string) => (JSON.parse(readFileSync(`schemas/${file}`, 'utf8')) as { enum: string[] }).enum;

describe('GET /v1/domains and /v1/capabilities', () => {
  it('lists the five domains with Korean and English labels, without a token', async () => {
    const res = await ctx().api().get('/v1/domains');
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.data.map((d: { code: string }) => d.code),
      ['transport-safety', 'health', 'public-admin', 'living-environment', 'culture'],
    );
    const transport = res.body.data[0];
    assert.deepEqual(transport.label, { ko: '교통·안전', en: 'Transport & safety' });
    assert.ok(transport.subdomains.some((s: { code: string }) => s.code === 'autonomous-driving'));
  });

  it('lists the capability vocabulary', async () => {
    const res = await ctx().api().get('/v1/capabilities');
    assert.equal(res.status, 200);
    assert.ok(res.body.data.some((c: { code: string; scarce: boolean }) => c.code === 'driving-simulator' && c.scarce));
  });

  it('keeps the schema enums and the catalogue in step', () => {
    assert.deepEqual(
      schemaEnum('domain-code.json'),
      DOMAINS.map((d) => d.code),
    );
    assert.deepEqual(
      schemaEnum('capability-code.json'),
      CAPABILITIES.map((c) => c.code),
    );
    assert.deepEqual(schemaEnum('scope.json'), ALL_SCOPES);
  });
});
