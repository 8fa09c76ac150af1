/**
 * Profiles tabular uploads (CSV/TSV and NDJSON) while they stream: row count, columns, inferred types and null
 * counts. Fed chunk by chunk from the upload pipeline, it holds at most one record (capped at
 * MAX_RECORD_BYTES) and a fixed amount of state per column, so memory stays flat whatever the file size. A
 * malformed record stops profiling, never the upload: the profile then says complete: false.
 */
import { parse, type Parser } from 'csv-parse';
import iconv from 'iconv-lite';
import type { DatasetProfile } from '../generated/schema-types.js';
import type { Sniffed } from './sniff.js';

const MAX_RECORD_BYTES = 1024 * 1024;
const MAX_COLUMNS = 500;

type Kind = 'boolean' | 'integer' | 'number' | 'date' | 'datetime' | 'string' | 'object' | 'array';
type ColumnType = DatasetProfile['columns'][number]['type'];

interface Column {
  name: string;
  kinds: Set<Kind>;
  present: number;
}

const NULLS = new Set(['', 'null', 'NULL', 'Null', 'NA', 'N/A', 'n/a', '\\N']);
const BOOLEAN = /^(true|false|TRUE|FALSE|True|False)$/;
const INTEGER = /^[+-]?\d{1,18}$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

function cellKind(v: string): Kind | null {
  const s = v.trim();
  if (NULLS.has(s)) return null;
  if (BOOLEAN.test(s)) return 'boolean';
  if (INTEGER.test(s)) return 'integer';
  if (NUMBER.test(s)) return 'number';
  if (DATE.test(s)) return 'date';
  if (DATETIME.test(s)) return 'datetime';
  return 'string';
}

function jsonKind(v: unknown): Kind | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'string') return 'string';
  return Array.isArray(v) ? 'array' : 'object';
}

function columnType(kinds: Set<Kind>, mixed: ColumnType): ColumnType {
  if (kinds.size === 0) return 'empty';
  if (kinds.size === 1) return [...kinds][0]!;
  const only = (...allowed: Kind[]) => [...kinds].every((k) => allowed.includes(k));
  if (only('integer', 'number')) return 'number';
  if (only('date', 'datetime')) return 'datetime';
  return mixed;
}

export interface Profiler {
  write(chunk: Buffer): Promise<void>;
  finish(): Promise<DatasetProfile>;
}

abstract class BaseProfiler implements Profiler {
  protected readonly decoder: iconv.DecoderStream;
  protected columns: Column[] = [];
  protected columnsTruncated = false;
  protected rows = 0;
  protected error: string | undefined;

  constructor(protected readonly sniffed: Sniffed) {
    // iconv-lite strips a UTF-8 BOM while decoding.
    this.decoder = iconv.getDecoder(sniffed.encoding === 'cp949' ? 'cp949' : 'utf8');
  }

  protected fail(message: string): void {
    this.error ??= message;
  }

  abstract write(chunk: Buffer): Promise<void>;
  abstract finish(): Promise<DatasetProfile>;

  protected result(format: 'csv' | 'ndjson', mixed: ColumnType): DatasetProfile {
    return {
      format,
      encoding: this.sniffed.encoding ?? 'utf-8',
      ...(format === 'csv' ? { delimiter: this.sniffed.delimiter ?? ',' } : {}),
      bom: this.sniffed.bom,
      rowCount: this.rows,
      columns: this.columns.map((c) => ({
        name: c.name,
        type: columnType(c.kinds, mixed),
        nullCount: this.rows - c.present,
      })),
      ...(this.columnsTruncated ? { columnsTruncated: true } : {}),
      complete: this.error === undefined,
      ...(this.error ? { error: this.error } : {}),
    };
  }
}

class CsvProfiler extends BaseProfiler {
  private readonly parser: Parser;
  private header = true;
  private readonly done: Promise<void>;

  constructor(sniffed: Sniffed) {
    super(sniffed);
    this.parser = parse({
      delimiter: sniffed.delimiter ?? ',',
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      max_record_size: MAX_RECORD_BYTES,
    });
    this.parser.on('data', (record: string[]) => this.onRecord(record));
    this.done = new Promise((resolve) => {
      this.parser.once('end', resolve);
      this.parser.once('error', (err: Error & { code?: string }) => {
        this.fail(
          err.code === 'CSV_MAX_RECORD_SIZE'
            ? 'A record is longer than 1 MiB.'
            : `The CSV is malformed near data row ${this.rows + 1}.`,
        );
        resolve();
      });
    });
  }

  private onRecord(record: string[]): void {
    if (this.header) {
      this.header = false;
      this.columnsTruncated = record.length > MAX_COLUMNS;
      this.columns = record.slice(0, MAX_COLUMNS).map((name, i) => ({
        name: name.trim().normalize('NFC') || `column_${i + 1}`,
        kinds: new Set(),
        present: 0,
      }));
      return;
    }
    this.rows++;
    for (let i = 0; i < this.columns.length && i < record.length; i++) {
      const kind = cellKind(record[i]!);
      if (kind === null) continue;
      const col = this.columns[i]!;
      col.present++;
      col.kinds.add(kind);
    }
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.error) return;
    const text = this.decoder.write(chunk);
    if (!text) return;
    if (!this.parser.write(text)) {
      await new Promise<void>((resolve) => {
        const go = () => {
          this.parser.off('drain', go);
          this.parser.off('error', go);
          resolve();
        };
        this.parser.on('drain', go);
        this.parser.on('error', go);
      });
    }
  }

  async finish(): Promise<DatasetProfile> {
    if (!this.error) {
      const rest = this.decoder.end();
      this.parser.end(rest || undefined);
      await this.done;
    } else {
      this.parser.destroy();
    }
    return this.result('csv', 'string');
  }
}

class NdjsonProfiler extends BaseProfiler {
  private pending = '';
  private readonly index = new Map<string, Column>();

  private line(text: string): void {
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.fail(`Line ${this.rows + 1} is not JSON.`);
      return;
    }
    this.rows++;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
    for (const [key, v] of Object.entries(value)) {
      let col = this.index.get(key);
      if (!col) {
        if (this.columns.length >= MAX_COLUMNS) {
          this.columnsTruncated = true;
          continue;
        }
        col = { name: key.normalize('NFC'), kinds: new Set(), present: 0 };
        this.index.set(key, col);
        this.columns.push(col);
      }
      const kind = jsonKind(v);
      if (kind === null) continue;
      col.present++;
      col.kinds.add(kind);
    }
  }

  private consume(text: string): void {
    const lines = (this.pending + text).split('\n');
    this.pending = lines.pop() ?? '';
    for (const l of lines) {
      if (this.error) break;
      this.line(l);
    }
    if (this.pending.length > MAX_RECORD_BYTES) this.fail('A line is longer than 1 MiB.');
    if (this.error) this.pending = '';
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.error) return;
    this.consume(this.decoder.write(chunk));
  }

  async finish(): Promise<DatasetProfile> {
    if (!this.error) {
      this.consume(this.decoder.end() ?? '');
      if (!this.error) this.line(this.pending);
    }
    return this.result('ndjson', 'mixed');
  }
}

/** A profiler for what the head showed, or undefined when the content is not tabular. */
export function createProfiler(sniffed: Sniffed): Profiler | undefined {
  if (sniffed.textKind === 'csv' || sniffed.textKind === 'tsv') return new CsvProfiler(sniffed);
  if (sniffed.textKind === 'ndjson') return new NdjsonProfiler(sniffed);
  return undefined;
}
