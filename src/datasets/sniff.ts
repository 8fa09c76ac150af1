/**
 * The type of an upload is decided by its content, never by its name or the client's Content-Type: a sniffing
 * library for binary formats (magic numbers), then our own look at text — encoding (UTF-8, with or without
 * BOM, or CP949/EUC-KR), then JSON, NDJSON, CSV/TSV or plain text. Only the first HEAD_BYTES are looked at,
 * so this works on the head of a stream before the rest has arrived.
 */
import { fileTypeFromBuffer } from 'file-type';
import iconv from 'iconv-lite';

export const HEAD_BYTES = 64 * 1024;

type TextEncoding = 'utf-8' | 'cp949';
type TextKind = 'csv' | 'tsv' | 'ndjson' | 'json' | 'plain' | 'script';

export interface Sniffed {
  mediaType: string;
  /** Set for text. */
  encoding: TextEncoding | null;
  textKind: TextKind | null;
  delimiter: string | null;
  bom: boolean;
}

/** Types suited to the five domains: tabular, JSON, documents, archives (never unpacked), images, video, audio, imaging. */
export const ALLOWED_MEDIA_TYPES = new Set([
  'text/csv',
  'text/tab-separated-values',
  'text/plain',
  'application/json',
  'application/x-ndjson',
  'application/vnd.apache.parquet',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/pdf',
  'application/zip',
  'application/gzip',
  'application/x-tar',
  'application/x-7z-compressed',
  'application/x-bzip2',
  'application/x-xz',
  'application/zstd',
  'image/jpeg',
  'image/png',
  'image/tiff',
  'image/webp',
  'image/gif',
  'image/bmp',
  'image/heic',
  'video/mp4',
  'video/quicktime',
  'video/x-matroska',
  'video/webm',
  'video/x-msvideo',
  'video/mp2t',
  'video/mpeg',
  'audio/mpeg',
  'audio/wav',
  'audio/flac',
  'audio/ogg',
  'audio/aac',
  'audio/x-m4a',
  'audio/mp4',
  'application/dicom',
]);

const TEXT_TYPES: Record<Exclude<TextKind, 'script'>, string> = {
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  ndjson: 'application/x-ndjson',
  json: 'application/json',
  plain: 'text/plain',
};

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Drops a UTF-8 sequence cut off at the end of a head that is not the whole file. */
function trimPartialUtf8(buf: Buffer): Buffer {
  for (let back = 1; back <= 3 && back <= buf.length; back++) {
    const b = buf[buf.length - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: look further back
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? buf.subarray(0, buf.length - back) : buf;
  }
  return buf;
}

function isUtf8(buf: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return true;
  } catch {
    return false;
  }
}

/** CP949 (a superset of EUC-KR): ASCII, or a lead byte 0x81–0xFE followed by a trail byte. */
function isCp949(buf: Buffer, complete: boolean): boolean {
  let multibyte = 0;
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i]!;
    if (b < 0x80) continue;
    if (b < 0x81 || b > 0xfe) return false;
    if (i + 1 >= buf.length) return !complete;
    const t = buf[i + 1]!;
    if (!((t >= 0x41 && t <= 0x5a) || (t >= 0x61 && t <= 0x7a) || (t >= 0x81 && t <= 0xfe))) return false;
    multibyte++;
    i++;
  }
  return multibyte > 0;
}

function looksBinary(buf: Buffer): boolean {
  let control = 0;
  for (const b of buf) {
    if (b === 0) return true;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b) control++;
  }
  return control > buf.length / 100;
}

/** Counts a delimiter outside double quotes. */
function countOutsideQuotes(line: string, delimiter: string): number {
  let n = 0;
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (ch === delimiter && !quoted) n++;
  }
  return n;
}

function completeLines(text: string, complete: boolean): string[] {
  const lines = text.split(/\r?\n/);
  if (!complete) lines.pop(); // the last one may be cut off
  return lines.filter((l) => l.trim() !== '');
}

function classifyText(text: string, complete: boolean): { kind: TextKind; delimiter: string | null } {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('#!')) return { kind: 'script', delimiter: null };
  const lines = completeLines(text, complete);
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    if (complete) {
      try {
        JSON.parse(text);
        return { kind: 'json', delimiter: null };
      } catch {
        // not one document; maybe one per line
      }
    }
    const sample = lines.slice(0, 200);
    const jsonLines = sample.filter((l) => {
      try {
        const v: unknown = JSON.parse(l);
        return typeof v === 'object' && v !== null;
      } catch {
        return false;
      }
    });
    if (sample.length >= 1 && jsonLines.length === sample.length && (sample.length > 1 || !complete))
      return { kind: 'ndjson', delimiter: null };
    if (!complete) return { kind: 'json', delimiter: null };
  }
  const sample = lines.slice(0, 50);
  if (sample.length) {
    for (const delimiter of [',', '\t', ';', '|']) {
      const first = countOutsideQuotes(sample[0]!, delimiter);
      if (first < 1) continue;
      const same = sample.filter((l) => countOutsideQuotes(l, delimiter) === first).length;
      if (same >= Math.ceil(sample.length * 0.9)) return { kind: delimiter === '\t' ? 'tsv' : 'csv', delimiter };
    }
  }
  return { kind: 'plain', delimiter: null };
}

function decodeHead(buf: Buffer, encoding: TextEncoding): string {
  return encoding === 'cp949' ? iconv.decode(buf, 'cp949') : new TextDecoder('utf-8').decode(buf);
}

/** What the head of an upload is; complete says whether head is the whole file. */
export async function sniff(head: Buffer, complete: boolean): Promise<Sniffed> {
  const binary: Sniffed = {
    mediaType: 'application/octet-stream',
    encoding: null,
    textKind: null,
    delimiter: null,
    bom: false,
  };
  if (head.length === 0) return binary;
  const detected = await fileTypeFromBuffer(head).catch(() => undefined);
  if (detected) return { ...binary, mediaType: detected.mime };
  const bom = head.subarray(0, 3).equals(BOM);
  const body = bom ? head.subarray(3) : head;
  if (looksBinary(body)) return binary;
  const candidate = complete ? body : trimPartialUtf8(body);
  let encoding: TextEncoding | undefined;
  if (isUtf8(candidate)) encoding = 'utf-8';
  else if (!bom && isCp949(body, complete)) encoding = 'cp949';
  if (!encoding) return binary;
  const { kind, delimiter } = classifyText(decodeHead(candidate, encoding), complete);
  return {
    mediaType: kind === 'script' ? 'text/x-script' : TEXT_TYPES[kind],
    encoding,
    textKind: kind,
    delimiter,
    bom,
  };
}
