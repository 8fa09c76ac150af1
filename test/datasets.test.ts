import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { parse as parseDisposition } from 'content-disposition';
import iconv from 'iconv-lite';
import { ctx, testS3 } from './support/context.js';
import { countRows, createPilot, operator, signup, type Actor } from './support/factories.js';
import {
  bookPilotOnPartnerTestbed,
  clearUploads,
  csv,
  download,
  objectFiles,
  sha256,
  tempFiles,
  uploadDataset,
  uploadRequest,
} from './support/dataset-factories.js';

const api = () => ctx().api();

async function assertNothingKept(): Promise<void> {
  assert.equal(await countRows('datasets'), 0, 'no dataset row');
  assert.equal(await countRows('dataset_blobs'), 0, 'no blob row');
  assert.deepEqual(tempFiles(), [], 'no temporary file');
  assert.deepEqual(objectFiles(), [], 'no stored object');
}

function assertProblem(
  res: { status: number; headers: Record<string, string>; body: { code?: string; status?: number } },
  status: number,
  code?: string,
) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  assert.equal(res.body.status, status);
  if (code) assert.equal(res.body.code, code);
}

describe('datasets', () => {
  let owner: Actor;
  let pilotId: string;

  beforeEach(async () => {
    clearUploads();
    owner = await signup('startup');
    pilotId = (await createPilot(owner)).id;
  });

  describe('POST /v1/pilots/:id/datasets', () => {
    it('stores the file whole: the sha256 of what comes back equals what went in', async () => {
      const content = csv(200);
      const res = await uploadRequest(owner, pilotId, {
        content,
        fields: { name: 'traffic-counts', description: '교통량 집계', sensitivity: 'internal' },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.headers.location, `/v1/datasets/${res.body.id}`);
      assert.match(String(res.headers.etag), /^"[^"]+"$/);
      assert.equal(res.body.sha256, sha256(content));
      assert.equal(res.body.sizeBytes, Buffer.byteLength(content));
      assert.equal(res.body.mediaType, 'text/csv');
      assert.equal(res.body.version, 1);
      assert.equal(res.body.description, '교통량 집계');
      assert.equal(res.body.claimedMediaType, 'text/csv');
      assert.equal(res.body.claimedExtension, 'csv');
      assert.ok(ctx().app.openapi && true);
      assert.ok(ctx().config && true);
      const got = await download(owner, res.body.id);
      assert.equal(got.status, 200);
      assert.equal(sha256(got.body as Buffer), sha256(content));
      assert.equal(got.headers.etag, `"${sha256(content)}"`);
      assert.equal(got.headers['accept-ranges'], 'bytes');
      assert.match(String(got.headers['content-type']), /^text\/csv; charset=utf-8/);
      assert.equal(got.headers['repr-digest'], `sha-256=:${Buffer.from(sha256(content), 'hex').toString('base64')}:`);
      assert.deepEqual(tempFiles(), []);
      assert.equal(objectFiles().length, 1);
    });

    it('records dataset.uploaded in the same transaction, with dataset, pilot and organisation', async () => {
      const ds = await uploadDataset(owner, pilotId);
      const { rows } = await ctx().db.query<{
        type: string;
        visibility: string;
        dataset_id: string;
        pilot_id: string;
        organization_id: string;
      }>(`SELECT type, visibility, dataset_id, pilot_id, organization_id FROM events WHERE type LIKE 'dataset.%'`);
      assert.deepEqual(rows, [
        {
          type: 'dataset.uploaded',
          visibility: 'dataset',
          dataset_id: ds.id,
          pilot_id: pilotId,
          organization_id: owner.orgId,
        },
      ]);
    });

    it('keeps the file when the client sha256 matches (any letter case)', async () => {
      const content = csv(5);
      const res = await uploadRequest(owner, pilotId, { content, fields: { sha256: sha256(content).toUpperCase() } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    });

    it('refuses a digest mismatch with 422 and keeps nothing', async () => {
      const res = await uploadRequest(owner, pilotId, {
        content: csv(5),
        fields: { sha256: sha256('something else') },
      });
      assertProblem(res, 422, 'digest-mismatch');
      await assertNothingKept();
      assert.equal(await countRows('events'), 1); // pilot.created only
    });

    it('accepts the text fields after the file as well as before it', async () => {
      const res = await uploadRequest(owner, pilotId, {
        fieldsAfter: true,
        fields: { name: 'after', sensitivity: 'public' },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.name, 'after');
      assert.equal(res.body.sensitivity, 'public');
    });

    const badFields: [string, Record<string, string>, string][] = [
      ['no name', { name: '' }, '/body/name'],
      ['an unknown sensitivity', { sensitivity: 'secret' }, '/body/sensitivity'],
      ['personal data without a legal basis', { sensitivity: 'personal' }, '/body/legalBasis'],
      ['sensitive data without a legal basis', { sensitivity: 'sensitive' }, '/body/legalBasis'],
      ['an unknown field', { colour: 'blue' }, '/body/colour'],
      ['a sha256 that is not hex', { sha256: 'xyz' }, '/body/sha256'],
      ['a name with a control character', { name: 'a\u0007b' }, '/body/name'],
    ];
    for (const [what, fields, pointer] of badFields) {
      it(`answers 400 with ${pointer} for ${what}, keeping nothing`, async () => {
        const res = await uploadRequest(owner, pilotId, { fields });
        assertProblem(res, 400, 'validation-failed');
        assert.ok(
          res.body.errors.some((e: { pointer: string }) => e.pointer === pointer),
          JSON.stringify(res.body.errors),
        );
        await assertNothingKept();
      });
    }

    it('accepts personal data with a legal basis', async () => {
      const res = await uploadRequest(owner, pilotId, {
        fields: { sensitivity: 'personal', legalBasis: '개인정보 보호법 제15조 제1항 제1호 (동의)' },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.legalBasis, '개인정보 보호법 제15조 제1항 제1호 (동의)');
    });

    it('refuses a repeated text field (wrong type) with 400', async () => {
      const res = await api()
        .post(`/v1/pilots/${pilotId}/datasets`)
        .set(owner.auth)
        .field('name', 'a')
        .field('name', 'b')
        .field('sensitivity', 'public')
        .attach('file', Buffer.from(csv()), 'a.csv');
      assertProblem(res, 400, 'validation-failed');
      await assertNothingKept();
    });

    it('refuses a request without a file', async () => {
      const res = await api()
        .post(`/v1/pilots/${pilotId}/datasets`)
        .set(owner.auth)
        .field('name', 'x')
        .field('sensitivity', 'public');
      assertProblem(res, 400, 'validation-failed');
      assert.equal(res.body.errors[0].pointer, '/body/file');
      await assertNothingKept();
    });

    it('refuses an empty file', async () => {
      const res = await uploadRequest(owner, pilotId, { content: Buffer.alloc(0) });
      assertProblem(res, 400, 'validation-failed');
      await assertNothingKept();
    });

    it('refuses two files, and a file under another field name', async () => {
      const two = await api()
        .post(`/v1/pilots/${pilotId}/datasets`)
        .set(owner.auth)
        .field('name', 'x')
        .field('sensitivity', 'public')
        .attach('file', Buffer.from(csv()), 'a.csv')
        .attach('file', Buffer.from(csv(4)), 'b.csv');
      assertProblem(two, 400, 'validation-failed');
      const other = await api()
        .post(`/v1/pilots/${pilotId}/datasets`)
        .set(owner.auth)
        .field('name', 'x')
        .field('sensitivity', 'public')
        .attach('attachment', Buffer.from(csv()), 'a.csv');
      assertProblem(other, 400, 'validation-failed');
      await assertNothingKept();
    });

    it('refuses JSON and other media types with 415', async () => {
      const res = await api()
        .post(`/v1/pilots/${pilotId}/datasets`)
        .set(owner.auth)
        .send({ name: 'x', sensitivity: 'public' });
      assertProblem(res, 415, 'unsupported-media-type');
      await assertNothingKept();
    });

    it('refuses a truncated multipart body with 400', async () => {
      const boundary = 'xyzBOUNDARY';
      const body = `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--${boundary}\r\nContent-Disposition: form-data; name="sensitivity"\r\n\r\npublic\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\na,b\n1,2\n`;
      const res = await api()
        .post(`/v1/pilots/${pilotId}/datasets`)
        .set(owner.auth)
        .set('Content-Type', `multipart/form-data; boundary=${boundary}`)
        .send(body);
      assertProblem(res, 400, 'malformed-multipart');
      await assertNothingKept();
    });

    it('decides the type by content: an executable named .csv is refused with 415', async () => {
      const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(4000, 1)]);
      const pe = Buffer.concat([
        Buffer.from('MZ'),
        Buffer.alloc(58),
        Buffer.from([0x80, 0, 0, 0]),
        Buffer.alloc(64),
        Buffer.from('PE\0\0'),
        Buffer.alloc(4000),
      ]);
      for (const content of [elf, pe]) {
        const res = await uploadRequest(owner, pilotId, { content, fileName: 'counts.csv', contentType: 'text/csv' });
        assertProblem(res, 415, 'unsupported-dataset-type');
      }
      const script = await uploadRequest(owner, pilotId, { content: '#!/bin/sh\nrm -rf /\n', fileName: 'data.csv' });
      assertProblem(script, 415, 'unsupported-dataset-type');
      const random = await uploadRequest(owner, pilotId, {
        content: Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256)),
        fileName: 'data.csv',
      });
      assertProblem(random, 415, 'unsupported-dataset-type');
      await assertNothingKept();
    });

    it('stores a compression bomb claimed as CSV as the archive it is, without unpacking it', async () => {
      const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 }); // 64 MiB of zeros in ~64 KiB
      const res = await uploadRequest(owner, pilotId, { content: bomb, fileName: 'data.csv', contentType: 'text/csv' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.mediaType, 'application/gzip');
      assert.equal(res.body.claimedMediaType, 'text/csv');
      assert.equal(res.body.profile, null);
      // Not unpacked: the size and the (absent) profile say so; a wall-clock budget said it only on a quiet machine.
      assert.equal(res.body.sizeBytes, bomb.length);
    });

    it('recognises JSON, NDJSON, TSV, PDF and PNG by content', async () => {
      const cases: [Buffer | string, string][] = [
        ['{"a": [1, 2, 3]}', 'application/json'],
        ['{"a":1}\n{"a":2}\n', 'application/x-ndjson'],
        ['a\tb\n1\t2\n', 'text/tab-separated-values'],
        ['%PDF-1.7\n1 0 obj\n<<>>\nendobj\n', 'application/pdf'],
        [
          Buffer.concat([
            Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
            Buffer.from('IHDR'),
            Buffer.alloc(17),
          ]),
          'image/png',
        ],
      ];
      for (const [i, [content, type]] of cases.entries()) {
        const res = await uploadRequest(owner, pilotId, {
          content,
          fileName: 'blob.bin',
          contentType: 'application/octet-stream',
          fields: { name: `f${i}` },
        });
        assert.equal(res.status, 201, `${type}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.mediaType, type);
      }
    });

    it('is for the owning startup: another organisation gets 404, partners and operators who can see it 403', async () => {
      const other = await signup('startup');
      assertProblem(await uploadRequest(other, pilotId), 404, 'not-found');
      const partner = await signup('partner');
      await bookPilotOnPartnerTestbed(partner, pilotId);
      assertProblem(await uploadRequest(partner, pilotId), 403, 'forbidden');
      assertProblem(await uploadRequest(await operator(), pilotId), 403, 'forbidden');
      await assertNothingKept();
    });
  });

  describe('file names', () => {
    it('round-trips a Korean name, NFC-normalised, through Content-Disposition (RFC 6266/5987)', async () => {
      const nfc = '광주_교통안전_데이터_2026.csv';
      const res = await uploadRequest(owner, pilotId, { fileName: nfc.normalize('NFD') });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.fileName, nfc);
      const got = await download(owner, res.body.id);
      const cd = String(got.headers['content-disposition']);
      assert.match(cd, /^attachment; filename="[\x20-\x7e]*"; filename\*=UTF-8''/);
      assert.equal(parseDisposition(cd).parameters.filename, nfc);
    });

    const names: [string, string, string | null][] = [
      ['../../etc/passwd', 'passwd', null],
      ['..\\..\\windows\\system32\\con.txt', 'con.txt', 'txt'],
      ['con.txt', 'con.txt', 'txt'],
      ['re\u202eport\u200f.csv', 'report.csv', 'csv'],
      ['C:\\Users\\kim\\데이터.csv', '데이터.csv', 'csv'],
    ];
    for (const [given, shown, ext] of names) {
      it(`shows ${JSON.stringify(given)} as ${JSON.stringify(shown)}, never using it as a path`, async () => {
        const res = await uploadRequest(owner, pilotId, { fileName: given });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.body.fileName, shown);
        assert.equal(res.body.claimedExtension, ext);
        // Keys are made by the service (local: org/xx/sha-blob) or the S3 store (owner~uuid), never from the name.
        const key = testS3()
          ? /^[a-z0-9.-]+~[0-9a-f-]{36}$/
          : /^[0-9a-f-]{36}\/[0-9a-f]{2}\/[0-9a-f]{64}-[0-9a-f-]{36}$/;
        for (const f of objectFiles()) assert.match(f, key);
      });
    }

    it('shortens a 500-character name to 255 characters, keeping the extension', async () => {
      const res = await uploadRequest(owner, pilotId, { fileName: `${'가'.repeat(500)}.csv` });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal([...res.body.fileName].length, 255);
      assert.ok(res.body.fileName.endsWith('가.csv'));
    });
  });

  describe('profiles', () => {
    it('profiles a CP949 (EUC-KR) CSV: rows, columns, types and nulls', async () => {
      const text =
        '이름,나이,가입일,점수,활성\n홍길동,30,2024-01-05,1.5,true\n김철수,,2024-02-01,2,false\n이영희,41,,3.25,TRUE\n';
      const res = await uploadRequest(owner, pilotId, { content: iconv.encode(text, 'cp949'), fileName: '회원.csv' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.encoding, 'cp949');
      assert.deepEqual(res.body.profile, {
        format: 'csv',
        encoding: 'cp949',
        delimiter: ',',
        bom: false,
        rowCount: 3,
        columns: [
          { name: '이름', type: 'string', nullCount: 0 },
          { name: '나이', type: 'integer', nullCount: 1 },
          { name: '가입일', type: 'date', nullCount: 1 },
          { name: '점수', type: 'number', nullCount: 0 },
          { name: '활성', type: 'boolean', nullCount: 0 },
        ],
        complete: true,
      });
      const got = await download(owner, res.body.id);
      assert.match(String(got.headers['content-type']), /charset=euc-kr/);
      assert.equal(iconv.decode(got.body as Buffer, 'cp949'), text);
    });

    it('profiles a UTF-8 CSV with a BOM, quoted fields and semicolons', async () => {
      const text =
        '\ufeff"구역";"측정값";"시각"\n"북구; 첨단";12;2026-03-01T09:00:00+09:00\n"광산구";;2026-03-01T10:00:00Z\n';
      const res = await uploadRequest(owner, pilotId, { content: text });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.profile.bom, true);
      assert.equal(res.body.profile.delimiter, ';');
      assert.equal(res.body.profile.rowCount, 2);
      assert.deepEqual(res.body.profile.columns, [
        { name: '구역', type: 'string', nullCount: 0 },
        { name: '측정값', type: 'integer', nullCount: 1 },
        { name: '시각', type: 'datetime', nullCount: 0 },
      ]);
    });

    it('profiles NDJSON, counting missing keys as nulls', async () => {
      const text =
        ['{"id":1,"speed":42.5,"tags":["a"]}', '{"id":2,"speed":null}', '{"id":3,"speed":40,"note":"비"}'].join('\n') +
        '\n';
      const res = await uploadRequest(owner, pilotId, { content: text, fileName: 'log.ndjson' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.mediaType, 'application/x-ndjson');
      assert.equal(res.body.profile.rowCount, 3);
      assert.deepEqual(res.body.profile.columns, [
        { name: 'id', type: 'integer', nullCount: 0 },
        { name: 'speed', type: 'number', nullCount: 1 },
        { name: 'tags', type: 'array', nullCount: 2 },
        { name: 'note', type: 'string', nullCount: 2 },
      ]);
    });

    it('profiles a CSV larger than the sniffed head, across chunk boundaries', async () => {
      const rows = 60_000;
      const text = csv(rows);
      assert.ok(text.length > 1024 * 1024);
      const res = await uploadRequest(owner, pilotId, { content: text });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.profile.rowCount, rows);
      assert.equal(res.body.profile.complete, true);
      assert.deepEqual(
        res.body.profile.columns.map((c: { type: string }) => c.type),
        ['string', 'integer', 'date'],
      );
    });
  });

  describe('versions and content addressing', () => {
    it('makes version n+1 under the same name, lists versions, and stores identical bytes once', async () => {
      const v1 = await uploadDataset(owner, pilotId, { content: csv(3) });
      const v2 = await uploadDataset(owner, pilotId, { content: csv(4) });
      const v3 = await uploadDataset(owner, pilotId, { content: csv(3) });
      const other = await uploadDataset(owner, pilotId, { content: csv(3), fields: { name: 'another-name' } });
      assert.deepEqual([v1.version, v2.version, v3.version, other.version], [1, 2, 3, 1]);
      assert.equal(await countRows('dataset_blobs'), 2);
      assert.equal(objectFiles().length, 2);
      const versions = await api().get(`/v1/datasets/${v1.id}/versions`).set(owner.auth);
      assert.equal(versions.status, 200);
      assert.deepEqual(
        versions.body.data.map((d: { version: number }) => d.version),
        [3, 2, 1],
      );
      const page = await api().get(`/v1/datasets/${v1.id}/versions?limit=2`).set(owner.auth);
      const next = await api()
        .get(`/v1/datasets/${v1.id}/versions?limit=2&cursor=${page.body.nextCursor}`)
        .set(owner.auth);
      assert.deepEqual(
        next.body.data.map((d: { version: number }) => d.version),
        [1],
      );
      const list = await api().get(`/v1/pilots/${pilotId}/datasets?name=traffic-counts`).set(owner.auth);
      assert.equal(list.body.data.length, 3);
    });

    it('soft-deletes a version, hides it, and removes the bytes only when no version references them', async () => {
      const v1 = await uploadDataset(owner, pilotId, { content: csv(3) });
      const v2 = await uploadDataset(owner, pilotId, { content: csv(3) });
      assert.equal(objectFiles().length, 1);
      assert.equal((await api().delete(`/v1/datasets/${v1.id}`).set(owner.auth)).status, 204);
      assert.equal((await api().get(`/v1/datasets/${v1.id}`).set(owner.auth)).status, 404);
      assert.equal((await download(owner, v1.id)).status, 404);
      assert.equal(objectFiles().length, 1, 'v2 still references the bytes');
      assert.equal(sha256((await download(owner, v2.id)).body as Buffer), v2.sha256);
      const list = await api().get(`/v1/pilots/${pilotId}/datasets`).set(owner.auth);
      assert.deepEqual(
        list.body.data.map((d: { id: string }) => d.id),
        [v2.id],
      );
      assert.equal((await api().delete(`/v1/datasets/${v2.id}`).set(owner.auth)).status, 204);
      assert.deepEqual(objectFiles(), []);
      assert.equal(await countRows('dataset_blobs'), 0);
      assert.equal(await countRows('datasets'), 2, 'soft delete keeps the rows');
      const events = await ctx().db.query<{ type: string }>(`SELECT type FROM events WHERE type = 'dataset.deleted'`);
      assert.equal(events.rows.length, 2);
      // A later upload of the same bytes gets a fresh object.
      const v3 = await uploadDataset(owner, pilotId, { content: csv(3) });
      assert.equal(v3.version, 3);
      assert.equal(sha256((await download(owner, v3.id)).body as Buffer), v3.sha256);
    });

    it('lets only the owner delete', async () => {
      const ds = await uploadDataset(owner, pilotId, { fields: { sensitivity: 'public' } });
      const partner = await signup('partner');
      await bookPilotOnPartnerTestbed(partner, pilotId);
      assertProblem(await api().delete(`/v1/datasets/${ds.id}`).set(partner.auth), 403, 'forbidden');
      assertProblem(
        await api()
          .delete(`/v1/datasets/${ds.id}`)
          .set((await signup()).auth),
        404,
        'not-found',
      );
      assert.equal((await api().get(`/v1/datasets/${ds.id}`).set(owner.auth)).status, 200);
    });

    it('takes 50 concurrent uploads under one name as 50 distinct versions, all intact', async () => {
      const contents = Array.from({ length: 50 }, (_, i) => csv(20 + i));
      const results = await Promise.all(contents.map((content) => uploadRequest(owner, pilotId, { content })));
      for (const r of results) assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.deepEqual(
        results.map((r) => r.body.version as number).sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      assert.equal(await countRows('datasets'), 50);
      assert.equal(objectFiles().length, 50);
      assert.deepEqual(tempFiles(), []);
      for (const [i, r] of results.entries()) assert.equal(r.body.sha256, sha256(contents[i]!));
      const sample = results[17]!.body as { id: string; sha256: string };
      assert.equal(sha256((await download(owner, sample.id)).body as Buffer), sample.sha256);
    });
  });

  describe('GET /v1/datasets/:id/content', () => {
    const content = Buffer.from('0123456789abcdefghij\n'.repeat(10));
    let id: string;
    beforeEach(async () => {
      id = (await uploadDataset(owner, pilotId, { content, fileName: 'notes.txt', contentType: 'text/plain' })).id;
    });

    it('answers a byte range with 206 and Content-Range', async () => {
      const res = await download(owner, id, { Range: 'bytes=10-19' });
      assert.equal(res.status, 206);
      assert.equal(res.headers['content-range'], `bytes 10-19/${content.length}`);
      assert.deepEqual(res.body, content.subarray(10, 20));
      const suffix = await download(owner, id, { Range: 'bytes=-5' });
      assert.equal(suffix.status, 206);
      assert.deepEqual(suffix.body, content.subarray(content.length - 5));
      const open = await download(owner, id, { Range: 'bytes=200-' });
      assert.deepEqual(open.body, content.subarray(200));
    });

    it('serves several ranges as the one range spanning them', async () => {
      const res = await download(owner, id, { Range: 'bytes=0-1, 5-6' });
      assert.equal(res.status, 206);
      assert.equal(res.headers['content-range'], `bytes 0-6/${content.length}`);
    });

    it('answers an unsatisfiable range with 416 problem+json', async () => {
      const res = await ctx()
        .api()
        .get(`/v1/datasets/${id}/content`)
        .set(owner.auth)
        .set('Range', `bytes=${content.length + 10}-`);
      assertProblem(res, 416, 'range-not-satisfiable');
      assert.equal(res.headers['content-range'], `bytes */${content.length}`);
    });

    it('honours If-None-Match and If-Range with the sha256 ETag', async () => {
      const first = await download(owner, id);
      const etag = String(first.headers.etag);
      assert.equal((await download(owner, id, { 'If-None-Match': etag })).status, 304);
      assert.equal((await download(owner, id, { Range: 'bytes=0-3', 'If-Range': etag })).status, 206);
      assert.equal((await download(owner, id, { Range: 'bytes=0-3', 'If-Range': '"stale"' })).status, 200);
    });

    it('ignores a malformed Range and sends the whole file', async () => {
      const res = await download(owner, id, { Range: 'lines=1-2' });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, content);
    });
  });

  describe('sensitivity, partners and the access log', () => {
    async function fourDatasets() {
      const ids: Record<string, string> = {};
      for (const s of ['public', 'internal', 'personal', 'sensitive']) {
        const fields: Record<string, string> = { name: `${s}-data`, sensitivity: s };
        if (s === 'personal' || s === 'sensitive') fields.legalBasis = 'PIPA Art. 15(1)1 consent; pseudonymised';
        ids[s] = (await uploadDataset(owner, pilotId, { fields, content: csv(2 + Object.keys(ids).length) })).id;
      }
      return ids;
    }

    it('isolates organisations: another startup sees nothing', async () => {
      const ids = await fourDatasets();
      const other = await signup('startup');
      assertProblem(await api().get(`/v1/pilots/${pilotId}/datasets`).set(other.auth), 404, 'not-found');
      for (const id of Object.values(ids)) {
        assertProblem(await api().get(`/v1/datasets/${id}`).set(other.auth), 404, 'not-found');
        assert.equal((await download(other, id)).status, 404);
        assert.equal((await api().get(`/v1/datasets/${id}/access-log`).set(other.auth)).status, 404);
      }
    });

    it('lets a partner read public and internal datasets of a pilot booked on its testbed, never personal or sensitive', async () => {
      const ids = await fourDatasets();
      const partner = await signup('partner');
      // Without a booking: nothing.
      assertProblem(await api().get(`/v1/pilots/${pilotId}/datasets`).set(partner.auth), 404);
      assert.equal((await download(partner, ids.public!)).status, 404);
      // A cancelled booking grants nothing either.
      await bookPilotOnPartnerTestbed(partner, pilotId, 'cancelled');
      assert.equal((await download(partner, ids.public!)).status, 404);
      await bookPilotOnPartnerTestbed(partner, pilotId);
      const list = await api().get(`/v1/pilots/${pilotId}/datasets`).set(partner.auth);
      assert.equal(list.status, 200);
      assert.deepEqual(list.body.data.map((d: { sensitivity: string }) => d.sensitivity).sort(), [
        'internal',
        'public',
      ]);
      const filtered = await api().get(`/v1/pilots/${pilotId}/datasets?sensitivity=personal`).set(partner.auth);
      assert.deepEqual(filtered.body.data, []);
      for (const s of ['public', 'internal']) {
        assert.equal((await api().get(`/v1/datasets/${ids[s]}`).set(partner.auth)).status, 200);
        assert.equal((await download(partner, ids[s]!)).status, 200);
      }
      for (const s of ['personal', 'sensitive']) {
        assert.equal((await api().get(`/v1/datasets/${ids[s]}`).set(partner.auth)).status, 404);
        assert.equal((await download(partner, ids[s]!)).status, 404);
      }
      // A partner whose testbed is not booked by this pilot still sees nothing.
      const stranger = await signup('partner');
      await bookPilotOnPartnerTestbed(stranger, (await createPilot(await signup())).id);
      assert.equal((await download(stranger, ids.public!)).status, 404);
      assertProblem(await api().get(`/v1/datasets/${ids.internal}/access-log`).set(partner.auth), 403, 'forbidden');
    });

    it('writes every download of personal or sensitive data to the access log the owner and operators read', async () => {
      const ids = await fourDatasets();
      const op = await operator();
      assert.equal((await download(op, ids.sensitive!)).status, 200);
      assert.equal((await download(owner, ids.sensitive!, { Range: 'bytes=0-9' })).status, 206);
      assert.equal((await download(owner, ids.personal!)).status, 200);
      assert.equal((await download(owner, ids.public!)).status, 200);
      assert.equal((await download(op, ids.internal!)).status, 200);
      // A HEAD or a 304 sends no data and is not a download.
      assert.equal((await api().head(`/v1/datasets/${ids.sensitive}/content`).set(owner.auth)).status, 200);
      assert.equal(await countRows('dataset_access_log'), 3);

      const log = await api().get(`/v1/datasets/${ids.sensitive}/access-log`).set(owner.auth);
      assert.equal(log.status, 200, JSON.stringify(log.body));
      assert.equal(log.body.data.length, 2);
      assert.deepEqual(
        log.body.data.map((e: { organizationId: string; range: string | null; action: string }) => [
          e.organizationId,
          e.range,
          e.action,
        ]),
        [
          [owner.orgId, 'bytes=0-9', 'download'],
          [op.orgId, null, 'download'],
        ],
      );
      const asOperator = await api().get(`/v1/datasets/${ids.personal}/access-log`).set(op.auth);
      assert.equal(asOperator.body.data.length, 1);
      // The log outlives the dataset.
      await api().delete(`/v1/datasets/${ids.sensitive}`).set(owner.auth).expect(204);
      const after = await api().get(`/v1/datasets/${ids.sensitive}/access-log`).set(owner.auth);
      assert.equal(after.body.data.length, 2);
    });
  });

  describe('the OpenAPI document', () => {
    it('shows the upload as multipart/form-data with the fields and a binary file part', () => {
      const doc = ctx().app.openapi as {
        paths: Record<
          string,
          Record<
            string,
            {
              requestBody?: {
                content: Record<string, { schema: { required: string[]; properties: Record<string, unknown> } }>;
              };
            }
          >
        >;
      };
      const body = doc.paths['/v1/pilots/{id}/datasets']!.post!.requestBody!;
      const schema = body.content['multipart/form-data']!.schema;
      assert.deepEqual(schema.required, ['name', 'sensitivity', 'file']);
      assert.deepEqual(Object.keys(schema.properties).sort(), [
        'description',
        'file',
        'legalBasis',
        'name',
        'sensitivity',
        'sha256',
      ]);
    });
  });
});
