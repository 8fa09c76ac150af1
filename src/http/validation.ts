/**
 * Every file in schemas/ is loaded once into Ajv (JSON Schema 2020-12) under its $id. Bodies are validated
 * strictly (no coercion, no unknown fields); query and path parameters arrive as strings, so a second instance
 * coerces them. Errors are reported as a JSON pointer and a message each, the pointer rooted at the part of
 * the request it concerns: /body/…, /query/…, /path/….
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { schemasDir } from '../paths.js';
import { validationFailed, type FieldError } from '../core/errors.js';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

export type JsonSchema = Record<string, unknown> & { $id?: string };

export function loadSchemaFiles(dir = schemasDir): JsonSchema[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const schema = JSON.parse(readFileSync(join(dir, f), 'utf8')) as JsonSchema;
      if (schema.$id !== f) throw new Error(`schemas/${f} must have "$id": "${f}"`);
      return schema;
    });
}

function buildAjv(schemas: JsonSchema[], coerce: boolean): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    coerceTypes: coerce ? 'array' : false,
    useDefaults: coerce,
  });
  addFormats(ajv);
  for (const s of schemas) ajv.addSchema(s);
  return ajv;
}

export type Part = 'body' | 'query' | 'path';

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function toFieldErrors(part: Part, errors: ErrorObject[] | null | undefined): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    let pointer = e.instancePath;
    let message = e.message ?? 'is not valid';
    if (e.keyword === 'required') {
      pointer += '/' + escapePointer(String(e.params.missingProperty));
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      pointer += '/' + escapePointer(String(e.params.additionalProperty));
      message = 'is not a known field';
    } else if (e.keyword === 'enum') {
      message = `must be one of: ${(e.params.allowedValues as unknown[]).join(', ')}`;
    } else if (e.keyword === 'if') {
      continue; // the failing "then" branch reports the real problem
    }
    const full = `/${part}${pointer}`;
    const key = `${full}|${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ pointer: full, message });
    }
  }
  return out;
}

export class Validator {
  private readonly strict: Ajv2020;
  private readonly coercing: Ajv2020;

  constructor(readonly schemas: JsonSchema[] = loadSchemaFiles()) {
    this.strict = buildAjv(schemas, false);
    this.coercing = buildAjv(schemas, true);
  }

  private fn(id: string, coerce: boolean): ValidateFunction {
    const fn = (coerce ? this.coercing : this.strict).getSchema(id);
    if (!fn) throw new Error(`unknown schema ${id}`);
    return fn;
  }

  /** Validates (and for query/path coerces in place) or throws a 400 validation problem. */
  check<T>(part: Part, schemaId: string, value: unknown): T {
    const fn = this.fn(schemaId, part !== 'body');
    if (!fn(value)) throw validationFailed(toFieldErrors(part, fn.errors));
    return value as T;
  }

  /** True when value matches; used by tests and by code that validates what it sends (webhooks, responses). */
  matches(schemaId: string, value: unknown): boolean {
    return this.fn(schemaId, false)(value) as boolean;
  }

  errors(schemaId: string, value: unknown): FieldError[] {
    const fn = this.fn(schemaId, false);
    return fn(value) ? [] : toFieldErrors('body', fn.errors);
  }
}
