/**
 * Resumable uploads and S3 storage, 1 GiB (BENCH_UPLOAD_BYTES) to the real server in a child process:
 * - local storage: a tus upload in 64 MiB chunks (tus-js-client) against a single-request upload (target ≥ 0.8);
 * - S3 storage (s3rver started here): a single-request upload through the API against writing the same file to
 *   the same S3 server directly with the SDK (lib-storage, the same part size; target ≥ 0.7), and tus over S3.
 * Each figure is the median of BENCH_RESUMABLE_ROUNDS rounds (default 3); the measurements of a round run in
 * turn, in reverse order every other round, each after `sync` and on a source with new bytes (prepare()), so
 * that neither side is the one always measured while the other's writes are still being flushed, and one noisy
 * run on a shared machine does not decide the ratio.
 * Server RSS growth is sampled from /proc every 10 ms (target < 64 MiB in every case).
 * At the last byte of a tus upload the server no longer reads the file back: the SHA-256 was computed while the
 * PATCH bodies streamed in, the type is sniffed from the first 64 KiB (the whole file is read only for a CSV or
 * NDJSON profile, not for this binary file), and the file is taken over by a rename (local) or a server-side
 * CopyObject (S3) before the commit. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Upload } from '@aws-sdk/lib-storage';
import * as tus from 'tus-js-client';
import { s3Client } from '../../src/storage/s3.js';
import { startTestS3, type TestS3 } from '../../test/support/s3-server.js';
import { fmt, json, median, startTarget, type Target } from '../harness.js';
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

/**
 * Before every timed upload: new bytes at 1 MiB into the source (so content addressing never skips a write, while
 * every upload reads the same cached file), then `sync`, so that no upload starts with the dirty pages of the
 * one before it still to be written back during its own time.
 */
function prepare(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, randomBytes(16), 0, 16, MiB);
  } finally {
    closeSync(fd);
  }
  execFileSync('sync');
}

/** Medians of each measurement over the rounds, and the peak RSS growth of any. */
class Rounds {
  private readonly speeds = new Map<string, number[]>();
  private readonly growth = new Map<string, number>();

  async run(t: Target | undefined, name: string, bytes: number, path: string, fn: () => Promise<void>) {
    prepare(path);
    const m = t ? await measure(t, bytes, fn) : await timed(bytes, fn);
    this.speeds.set(name, [...(this.speeds.get(name) ?? []), m.MBps]);
    this.growth.set(name, Math.max(this.growth.get(name) ?? 0, m.growth));
  }

  MBps(name: string): number {
    return median(this.speeds.get(name) ?? []);
  }

  growthMiB(...names: string[]): number {
    return Math.max(...names.map((n) => this.growth.get(n) ?? 0));
  }
}

async function timed(bytes: number, fn: () => Promise<void>): Promise<{ MBps: number; growth: number }> {
  const started = process.hrtime.bigint();
  await fn();
  return { MBps: bytes / MiB / (Number(process.hrtime.bigint() - started) / 1e9), growth: 0 };
}

/** Round r runs the measurements in the given order when r is even and in reverse when odd (ABBA). */
async function interleaved(rounds: number, steps: (() => Promise<void>)[]): Promise<void> {
  for (let r = 0; r < rounds; r++) for (const step of r % 2 ? [...steps].reverse() : steps) await step();
}

export async function runResumableSuite(): Promise<ResumableRow[]> {
  const bytes = Number(process.env.BENCH_UPLOAD_BYTES ?? 1024 * MiB);
  const rounds = Number(process.env.BENCH_RESUMABLE_ROUNDS ?? 3);
  const work = mkdtempSync(join(tmpdir(), 'ax-bench-resumable-'));
  const source = join(work, 'source.mp4');
  const rows: ResumableRow[] = [];
  let s3: TestS3 | undefined;
  try {
    await makeFile(source, bytes);
    const limits = {
      UPLOAD_MAX_BYTES: String(bytes * 2),
      UPLOAD_QUOTA_BYTES: String(bytes * (4 * rounds + 4)),
    };

    const local = await startTarget(undefined, { UPLOADS_DIR: join(work, 'uploads'), ...limits });
    try {
      const { token, pilotId } = await account(local);
      const m = new Rounds();
      await interleaved(rounds, [
        () => m.run(local, 'single', bytes, source, () => single(local, token, pilotId, source)),
        () => m.run(local, 'tus', bytes, source, () => tusUpload(local.base, token, pilotId, source)),
      ]);
      rows.push({
        storage: 'local',
        what: 'tus, 64 MiB chunks',
        baseline: 'single request',
        baselineMBps: m.MBps('single'),
        MBps: m.MBps('tus'),
        ratio: m.MBps('tus') / m.MBps('single'),
        target: 0.8,
        rssPeakGrowthMiB: m.growthMiB('single', 'tus'),
      });
    } finally {
      await local.stop();
    }

    s3 = await startTestS3();
    const bucket = s3.bucket;
    const s3Env = {
      STORAGE: 's3',
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: bucket,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    };
    const client = s3Client({
      endpoint: s3.endpoint,
      bucket,
      region: 'us-east-1',
      forcePathStyle: true,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
    });
    const direct = async () => {
      await new Upload({
        client,
        params: { Bucket: bucket, Key: 'direct/source.mp4', Body: createReadStream(source, { highWaterMark: MiB }) },
        partSize: 8 * MiB,
        queueSize: 2,
      }).done();
    };

    const remote = await startTarget(undefined, { UPLOADS_DIR: join(work, 'uploads-s3'), ...limits, ...s3Env });
    try {
      const { token, pilotId } = await account(remote);
      const m = new Rounds();
      await interleaved(rounds, [
        () => m.run(undefined, 'direct', bytes, source, direct),
        () => m.run(remote, 'single', bytes, source, () => single(remote, token, pilotId, source)),
        () => m.run(remote, 'tus', bytes, source, () => tusUpload(remote.base, token, pilotId, source)),
      ]);
      rows.push({
        storage: 's3 (s3rver)',
        what: 'single request through the API',
        baseline: 'SDK straight to S3',
        baselineMBps: m.MBps('direct'),
        MBps: m.MBps('single'),
        ratio: m.MBps('single') / m.MBps('direct'),
        target: 0.7,
        rssPeakGrowthMiB: m.growthMiB('single'),
      });
      rows.push({
        storage: 's3 (s3rver)',
        what: 'tus, 64 MiB chunks',
        baseline: 'single request',
        baselineMBps: m.MBps('single'),
        MBps: m.MBps('tus'),
        ratio: m.MBps('tus') / m.MBps('single'),
        target: 0.8,
        rssPeakGrowthMiB: m.growthMiB('tus'),
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
