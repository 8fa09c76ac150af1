/** A tus PATCH whose body stalls after its first bytes, like a client on a link that stopped. */
import http from 'node:http';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * PATCHes `path` from `offset` announcing `length` bytes, of which only `first` is sent: the body then stalls
 * until the answer comes (the request is dropped then) or the test abandons it.
 */
export function stalledPatch(
  base: string,
  path: string,
  auth: Record<string, string>,
  offset: number,
  length: number,
  first: Buffer,
): { answer: Promise<Answer>; abandon: () => void } {
  let req!: http.ClientRequest;
  const answer = new Promise<Answer>((resolve, reject) => {
    req = http.request(`${base}${path}`, {
      method: 'PATCH',
      headers: {
        ...auth,
        'Tus-Resumable': '1.0.0',
        'Upload-Offset': String(offset),
        'Content-Type': 'application/offset+octet-stream',
        'Content-Length': String(length),
      },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        req.destroy();
      });
    });
    req.on('error', reject);
    req.write(first);
  });
  return { answer, abandon: () => req.destroy() };
}

/** Whether some session holds the advisory lock of upload `id` (the key of src/resumable/locker.ts); its pid. */
export const UPLOAD_LOCK_HOLDER = `SELECT pid FROM pg_locks
  WHERE locktype = 'advisory' AND granted AND objsubid = 1
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND ((classid::bigint << 32) | objid::bigint) = hashtextextended('tus-upload:' || $1::text, 0)`;
