/**
 * A real S3-protocol server for the tests, in this process: s3rver (pure JS, files on disk) on a random port.
 * s3rver lacks three multipart operations the service and @tus/s3-store use: ListParts, AbortMultipartUpload
 * and ListMultipartUploads. They are answered here per the S3 API reference, from s3rver's own upload
 * directory (<dir>/<bucket>/._S3rver_uploads/<uploadId>/{key,<part>,<part>.md5}); every other request is s3rver's.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

export interface TestS3 {
  endpoint: string;
  bucket: string;
  directory: string;
  close(): Promise<void>;
}

const BUCKET = 'ax-test';
const UPLOADS = '._S3rver_uploads';
const OBJECT_SUFFIX = '._S3rver_object';

const xml = (res: http.ServerResponse, status: number, body: string) => {
  res.writeHead(status, { 'Content-Type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
};
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export async function startTestS3(): Promise<TestS3> {
  const directory = mkdtempSync(join(tmpdir(), 'ax-s3-'));
  const s3rver = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: BUCKET, configs: [] }],
  });
  // configureBuckets runs in run(); start it on an ephemeral port and serve its handler from our own server.
  const inner = (await s3rver.run()) as unknown as AddressInfo;
  void inner;
  const handler = s3rver.callback();
  const uploadsDir = join(directory, BUCKET, UPLOADS);

  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const [, bucket, ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const uploadId = url.searchParams.get('uploadId');
    if (bucket === BUCKET && uploadId && !url.searchParams.has('partNumber') && /^[0-9a-f]+$/.test(uploadId)) {
      const dir = join(uploadsDir, uploadId);
      if (req.method === 'GET') {
        if (!existsSync(dir))
          return xml(res, 404, `<Error><Code>NoSuchUpload</Code><Message>No such upload</Message></Error>`);
        const parts = readdirSync(dir)
          .filter((n) => /^\d+$/.test(n))
          .map(Number)
          .sort((a, b) => a - b)
          .map((n) => {
            const s = statSync(join(dir, String(n)));
            const md5 = readFileSync(join(dir, `${n}.md5`), 'utf8').trim();
            return `<Part><PartNumber>${n}</PartNumber><LastModified>${s.mtime.toISOString()}</LastModified><ETag>"${md5}"</ETag><Size>${s.size}</Size></Part>`;
          });
        return xml(
          res,
          200,
          `<ListPartsResult><Bucket>${BUCKET}</Bucket><Key>${esc(key)}</Key><UploadId>${uploadId}</UploadId><IsTruncated>false</IsTruncated>${parts.join('')}</ListPartsResult>`,
        );
      }
      if (req.method === 'DELETE') {
        rmSync(dir, { recursive: true, force: true });
        res.writeHead(204).end();
        return;
      }
    }
    if (bucket === BUCKET && rest.join('') === '' && req.method === 'GET' && url.searchParams.has('uploads')) {
      const prefix = url.searchParams.get('prefix') ?? '';
      const uploads = (existsSync(uploadsDir) ? readdirSync(uploadsDir) : [])
        .map((id) => ({
          id,
          key: readFileSync(join(uploadsDir, id, 'key'), 'utf8'),
          at: statSync(join(uploadsDir, id)).birthtime,
        }))
        .filter((u) => u.key.startsWith(prefix))
        .map(
          (u) =>
            `<Upload><Key>${esc(u.key)}</Key><UploadId>${u.id}</UploadId><Initiated>${u.at.toISOString()}</Initiated></Upload>`,
        );
      return xml(
        res,
        200,
        `<ListMultipartUploadsResult><Bucket>${BUCKET}</Bucket><IsTruncated>false</IsTruncated>${uploads.join('')}</ListMultipartUploadsResult>`,
      );
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket: BUCKET,
    directory,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await s3rver.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** Keys of the complete objects in the bucket under prefix (read from s3rver's files). */
export function s3Objects(s3: Pick<TestS3, 'directory' | 'bucket'>, prefix = 'objects/'): string[] {
  const root = join(s3.directory, s3.bucket);
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d)) {
      if (name === UPLOADS) continue;
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p, `${rel}${name}/`);
      else if (name.endsWith(OBJECT_SUFFIX)) out.push(rel + name.slice(0, -OBJECT_SUFFIX.length));
    }
  };
  walk(root, '');
  return out.filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
}

/** Multipart uploads begun and neither completed nor aborted. */
export function s3PendingUploads(s3: Pick<TestS3, 'directory' | 'bucket'>): string[] {
  const dir = join(s3.directory, s3.bucket, UPLOADS);
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Empties the bucket (between tests; the database is emptied by the root hook). */
export function clearBucket(s3: Pick<TestS3, 'directory' | 'bucket'>): void {
  const root = join(s3.directory, s3.bucket);
  for (const name of readdirSync(root)) rmSync(join(root, name), { recursive: true, force: true });
}
