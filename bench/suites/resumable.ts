/**
 * Resumable uploads and S3 storage, 1 GiB (BENCH_UPLOAD_BYTES) to the real server in a child process:
 * - local storage: a tus upload in 64 MiB chunks (tus-js-client) against a single-request upload (target ≥ 0.8);
 * - S3 storage (s3rver started here): a single-request upload through the API against writing the same file to
 *   the same S3 server directly with the SDK (lib-storage, the same part size; target ≥ 0.7), and tus over S3.
 * Server RSS growth is sampled from /proc every 10 ms (target < 64 MiB in every case).
 * At the last byte of a tus upload the server no longer reads the file back: the SHA-256 was computed while the
 * PATCH bodies streamed in, the type is sniffed from the first 64 KiB (the whole file is read only for a CSV or
 * NDJSON profile, not for this binary file), and the file is taken over by a rename (local) or a server-side
 * CopyObject (S3) before the commit.
 */
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Upload } from '@aws-sdk/lib-storage';
import * as tus from 'tus-js-client';
import { s3Client } from '../../src/storage/s3.js';
import { startTestS3, type TestS3 } from '../../test/support/s3-server.js';
import { fmt, json, startTarget, type Target } from '../harness.js';
import { makeFile, rssKiB, upload } from './uploads.js';

const MiB = 1024 * 1024;

export interface ResumableRow {
  storage: string;
  what: string;
  baseline: string;
  baselineMBps: number;
  MBps: number;
  ratio: number;
  target: number;
  rssPeakGrowthMiB: number;
}

async function account(t: Target): Promise<{ token: string; pilotId: string }> {
  const signup = (
    await json(`${t.base}/v1/auth/signup`, {
      method: 'POST',
      body: {
        organization: { name: 'Resumable bench', kind: 'startup', businessNumber: '1234567891' },
        user: { email: 'resumable@bench.example', password: 'bench password 3', name: 'Bench' },
      },
    })
  ).body as { token: string };
  const start = new Date(Date.now() + 7 * 86_400_000);
  const pilot = (
    await json(`${t.base}/v1/pilots`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${signup.token}` },
      body: {
        title: 'Drive log benchmark',
        summary: 'One large file.',
        domain: 'transport-safety',
        requirements: {
          capabilities: ['driving-simulator'],
          units: 1,
          durationHours: 8,
          earliestStart: start.toISOString(),
          latestEnd: new Date(start.getTime() + 30 * 86_400_000).toISOString(),
        },
      },
    })
  ).body as { id: string };
  return { token: signup.token, pilotId: pilot.id };
}

/** Runs fn while sampling the target's RSS; answers MiB/s for bytes and the peak RSS growth. */
async function measure(t: Target, bytes: number, fn: () => Promise<void>): Promise<{ MBps: number; growth: number }> {
  const pid = t.child.pid!;
  const base = rssKiB(pid);
  let peak = base;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, rssKiB(pid));
    } catch {
      // process gone
    }
  }, 10);
  const started = process.hrtime.bigint();
  try {
    await fn();
  } finally {
    clearInterval(sampler);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { MBps: bytes / MiB / seconds, growth: (peak - base) / 1024 };
}

/**
 * tus-js-client's source for a file: slices read with the single-request client's 1 MiB buffer. The library's
 * own file source (chosen for an fs.ReadStream) reads every slice with Node's 64 KiB default, sixteen times the
 * read calls of the other side, on the cores the server runs on; both clients stream, neither buffers a chunk.
 */
function fileSlices(path: string): tus.UploadOptions['fileReader'] {
  return {
    openFile: async () => {
      const size = statSync(path).size;
      return {
        size,
        slice: async (start: number, end: number) => ({
          value: Object.assign(createReadStream(path, { start, end: end - 1, highWaterMark: MiB }), {
            size: end - start,
          }),
          done: end >= size,
        }),
        close: () => undefined,
      };
    },
  };
}

function tusUpload(base: string, token: string, pilotId: string, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const u = new tus.Upload(createReadStream(path), {
      endpoint: `${base}/v1/pilots/${pilotId}/uploads`,
      uploadSize: statSync(path).size,
      chunkSize: 64 * MiB,
      fileReader: fileSlices(path),
      retryDelays: [],
      headers: { Authorization: `Bearer ${token}` },
      metadata: { name: 'drive-bench', sensitivity: 'internal', filename: 'drive.mp4' },
      onError: reject,
      onSuccess: ({ lastResponse }) =>
        lastResponse.getHeader('Dataset-Id') ? resolve() : reject(new Error('no Dataset-Id on the final answer')),
    });
    u.start();
  });
}

async function single(t: Target, token: string, pilotId: string, path: string): Promise<void> {
  const res = await upload(t.base, token, pilotId, path);
  if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${res.body}`);
}

export async function runResumableSuite(): Promise<ResumableRow[]> {
  const bytes = Number(process.env.BENCH_UPLOAD_BYTES ?? 1024 * MiB);
  const work = mkdtempSync(join(tmpdir(), 'ax-bench-resumable-'));
  const source = join(work, 'source.mp4');
  const source2 = join(work, 'source2.mp4');
  const rows: ResumableRow[] = [];
  let s3: TestS3 | undefined;
  try {
    await makeFile(source, bytes);
    await makeFile(source2, bytes);
    // Each upload gets distinct bytes so content addressing never skips a write.
    const limits = { UPLOAD_MAX_BYTES: String(bytes * 2), UPLOAD_QUOTA_BYTES: String(bytes * 8) };

    const local = await startTarget(undefined, { UPLOADS_DIR: join(work, 'uploads'), ...limits });
    try {
      const { token, pilotId } = await account(local);
      const one = await measure(local, bytes, () => single(local, token, pilotId, source));
      const resumable = await measure(local, bytes, () => tusUpload(local.base, token, pilotId, source2));
      rows.push({
        storage: 'local',
        what: 'tus, 64 MiB chunks',
        baseline: 'single request',
        baselineMBps: one.MBps,
        MBps: resumable.MBps,
        ratio: resumable.MBps / one.MBps,
        target: 0.8,
        rssPeakGrowthMiB: Math.max(one.growth, resumable.growth),
      });
    } finally {
      await local.stop();
    }

    s3 = await startTestS3();
    const s3Env = {
      STORAGE: 's3',
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: s3.bucket,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    };
    const client = s3Client({
      endpoint: s3.endpoint,
      bucket: s3.bucket,
      region: 'us-east-1',
      forcePathStyle: true,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
    });
    const started = process.hrtime.bigint();
    await new Upload({
      client,
      params: { Bucket: s3.bucket, Key: 'direct/source.mp4', Body: createReadStream(source, { highWaterMark: MiB }) },
      partSize: 16 * MiB,
      queueSize: 2,
    }).done();
    const directMBps = bytes / MiB / (Number(process.hrtime.bigint() - started) / 1e9);

    const remote = await startTarget(undefined, { UPLOADS_DIR: join(work, 'uploads-s3'), ...limits, ...s3Env });
    try {
      const { token, pilotId } = await account(remote);
      const one = await measure(remote, bytes, () => single(remote, token, pilotId, source));
      rows.push({
        storage: 's3 (s3rver)',
        what: 'single request through the API',
        baseline: 'SDK straight to S3',
        baselineMBps: directMBps,
        MBps: one.MBps,
        ratio: one.MBps / directMBps,
        target: 0.7,
        rssPeakGrowthMiB: one.growth,
      });
      const resumable = await measure(remote, bytes, () => tusUpload(remote.base, token, pilotId, source2));
      rows.push({
        storage: 's3 (s3rver)',
        what: 'tus, 64 MiB chunks',
        baseline: 'single request',
        baselineMBps: one.MBps,
        MBps: resumable.MBps,
        ratio: resumable.MBps / one.MBps,
        target: 0.8,
        rssPeakGrowthMiB: resumable.growth,
      });
    } finally {
      await remote.stop();
    }
    return rows;
  } finally {
    await s3?.close();
    rmSync(work, { recursive: true, force: true });
  }
}

export function resumableTable(rows: ResumableRow[]): string {
  const lines = [
    '| storage | measured | baseline | baseline (MiB/s) | measured (MiB/s) | ratio | target | peak RSS growth (target < 64 MiB) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.storage} | ${r.what} | ${r.baseline} | ${fmt(r.baselineMBps)} | ${fmt(r.MBps)} | ${fmt(r.ratio, 2)} | ` +
        `≥ ${r.target} | ${fmt(r.rssPeakGrowthMiB, 1)} MiB |`,
    );
  }
  return lines.join('\n');
}
