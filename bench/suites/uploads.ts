/**
 * A 1 GiB dataset upload over HTTP to the real server in a child process, against writing the same bytes to
 * the same disk directly in this process (read → write → fsync, as the server's storage does). Reported as a
 * throughput ratio (target ≥ 0.7) and the server's peak RSS growth during the upload (target < 64 MiB),
 * sampled from /proc/<pid>/status.
 */
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fmt, json, startTarget } from '../harness.js';

export interface UploadRow {
  engine: string;
  bytes: number;
  directMBps: number;
  uploadMBps: number;
  ratio: number;
  rssBaseMiB: number;
  rssPeakGrowthMiB: number;
  sha256Matches: boolean;
}

const MiB = 1024 * 1024;

/** An MP4-looking file (a CCTV clip, as far as sniffing goes) of random bytes, written in 4 MiB blocks. */
export async function makeFile(path: string, bytes: number): Promise<void> {
  const block = randomBytes(4 * MiB);
  // ISO BMFF: size, "ftyp", major brand "isom".
  block.write('\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41', 0, 'latin1');
  const out = createWriteStream(path);
  for (let written = 0; written < bytes; written += block.length) {
    const n = Math.min(block.length, bytes - written);
    if (!out.write(n === block.length ? block : block.subarray(0, n)))
      await new Promise<void>((r) => out.once('drain', () => r()));
    if (written === 0) block.writeUInt32LE(0, 0); // only the first block carries the header
    block.writeUInt32LE(written / block.length + 1, 64); // keep blocks distinct
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

export async function upload(
  base: string,
  token: string,
  pilotId: string,
  path: string,
): Promise<{ status: number; body: string }> {
  const boundary = 'axbench' + Date.now();
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\ncctv-bench\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="sensitivity"\r\n\r\ninternal\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cctv.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const size = statSync(path).size;
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: `/v1/pilots/${pilotId}/datasets`,
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': `multipart/form-data; boundary=${boundary}`,
          'Content-Length': String(head.length + size + tail.length),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.write(head);
    const file = createReadStream(path, { highWaterMark: MiB });
    file.on('error', reject);
    file.pipe(req, { end: false });
    file.on('end', () => req.end(tail));
  });
}

export async function runUploadSuite(
  databaseUrl: string | undefined,
  bytes = Number(process.env.BENCH_UPLOAD_BYTES ?? 1024 * MiB),
): Promise<UploadRow[]> {
  const work = mkdtempSync(join(tmpdir(), 'ax-bench-upload-'));
  const uploadsDir = join(work, 'uploads');
  const source = join(work, 'source.mp4');
  const t = await startTarget(databaseUrl, { UPLOADS_DIR: uploadsDir, UPLOAD_MAX_BYTES: String(bytes * 2) });
  try {
    await makeFile(source, bytes);
    const { createHash } = await import('node:crypto');
    const hash = createHash('sha256');
    await pipeline(createReadStream(source, { highWaterMark: MiB }), hash);
    const expected = hash.digest('hex');

    // Baseline: the same bytes from the same file to the same disk, fsync'ed, in this process.
    const direct = join(work, 'direct.bin');
    let started = process.hrtime.bigint();
    await pipeline(
      createReadStream(source, { highWaterMark: MiB }),
      createWriteStream(direct, { flush: true, highWaterMark: MiB }),
    );
    const directSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    rmSync(direct, { force: true });

    const signup = (
      await json(`${t.base}/v1/auth/signup`, {
        method: 'POST',
        body: {
          organization: { name: 'Upload bench', kind: 'startup', businessNumber: '1234567891' },
          user: { email: 'uploads@bench.example', password: 'bench password 3', name: 'Bench' },
        },
      })
    ).body as { token: string };
    const start = new Date(Date.now() + 7 * 86_400_000);
    const pilot = (
      await json(`${t.base}/v1/pilots`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${signup.token}` },
        body: {
          title: 'CCTV upload benchmark',
          summary: 'One large video file.',
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
    started = process.hrtime.bigint();
    const res = await upload(t.base, signup.token, pilot.id, source);
    const uploadSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    clearInterval(sampler);
    if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${res.body}`);
    const stored = JSON.parse(res.body) as { sha256: string };
    const directMBps = bytes / MiB / directSeconds;
    const uploadMBps = bytes / MiB / uploadSeconds;
    return [
      {
        engine: t.engine,
        bytes,
        directMBps,
        uploadMBps,
        ratio: uploadMBps / directMBps,
        rssBaseMiB: base / 1024,
        rssPeakGrowthMiB: (peak - base) / 1024,
        sha256Matches: stored.sha256 === expected,
      },
    ];
  } finally {
    await t.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

export function uploadTable(rows: UploadRow[]): string {
  const lines = [
    '| engine | file | direct write (MiB/s) | HTTP upload (MiB/s) | ratio (target ≥ 0.7) | server RSS before | peak RSS growth (target < 64 MiB) | sha256 round trip |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.engine} | ${fmt(r.bytes / MiB)} MiB | ${fmt(r.directMBps)} | ${fmt(r.uploadMBps)} | ${fmt(r.ratio, 2)} | ${fmt(r.rssBaseMiB)} MiB | ${fmt(r.rssPeakGrowthMiB, 1)} MiB | ${r.sha256Matches ? 'yes' : 'NO'} |`,
    );
  }
  return lines.join('\n');
}
