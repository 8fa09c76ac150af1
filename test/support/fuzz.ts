/**
 * A deterministic generator of malformed requests, derived from the OpenAPI document at run time, so every
 * operation a feature declares is fuzzed without touching this file.
 *
 * Each case starts from a request that would be accepted (seeded path ids, a schema-valid body, the caller's
 * token) and breaks it in one way the document says must be refused: a path id that is not a UUID or names
 * nothing, a query value its schema refuses, a body its schema refuses (checked here with Ajv before it is
 * sent), text that is not JSON, a wrong Content-Type, a body over the size limit, a garbage Idempotency-Key,
 * If-Match or Authorization header. The valid base is never sent on its own. Only GETs may also carry query
 * values that are valid by the schema but odd (SQL-looking cursors, NUL bytes); those are expected to stay
 * below 500 without having to be refused.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

// ---------------------------------------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------------------------------------

/** 32-bit FNV-1a, to derive independent streams from labels. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** sfc32, seeded through splitmix32: small, fast, and the same sequence on every machine. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly seed: number) {
    let s = seed >>> 0;
    const split = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A float in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(xs: readonly T[]): T {
    if (!xs.length) throw new Error('pick from an empty list');
    return xs[this.int(xs.length)] as T;
  }

  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
    }
    return xs;
  }

  /** An independent stream for a label: adding an operation does not change the cases of the others. */
  fork(label: string): Rng {
    return new Rng((this.seed ^ fnv1a(label)) >>> 0);
  }

  uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.int(16).toString(16));
    hex[12] = '4';
    hex[16] = ((this.int(16) & 0x3) | 0x8).toString(16);
    const h = hex.join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}

/** Code point ranges random text draws from: ASCII, controls, Latin-1, Hangul, CJK, emoji, specials. */
const CODE_POINTS: [number, number][] = [
  [0x20, 0x7e],
  [0x20, 0x7e],
  [0x00, 0x1f],
  [0xa0, 0xff],
  [0xac00, 0xd7a3],
  [0x4e00, 0x9fff],
  [0x1f300, 0x1f64f],
  [0x2028, 0x202e],
  [0xfff0, 0xfffd],
];

/** Random text of up to max code points; never a lone surrogate, so it survives encodeURIComponent. */
function randomText(rng: Rng, max: number): string {
  const n = 1 + rng.int(max);
  let out = '';
  for (let i = 0; i < n; i++) {
    const [lo, hi] = rng.pick(CODE_POINTS);
    out += String.fromCodePoint(lo + rng.int(hi - lo + 1));
  }
  return out;
}

/** A random JSON value of any type, nesting at most depth deep. */
function randomJson(rng: Rng, depth = 3): unknown {
  switch (rng.int(depth > 0 ? 8 : 6)) {
    case 0:
      return null;
    case 1:
      return rng.next() < 0.5;
    case 2:
      return rng.int(2_000_001) - 1_000_000;
    case 3:
      return (rng.next() - 0.5) * 10 ** (rng.int(40) - 10);
    case 4:
    case 5:
      return randomText(rng, 40);
    case 6:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth - 1));
    default:
      return Object.fromEntries(
        Array.from({ length: rng.int(4) }, () => [randomText(rng, 8), randomJson(rng, depth - 1)]),
      );
  }
}

// ---------------------------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------------------------

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
const METHODS: Method[] = ['get', 'post', 'put', 'patch', 'delete'];

interface Param {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: Json;
}

export interface Operation {
  method: Method;
  path: string;
  operationId: string;
  /** security: [] — no token needed. */
  isPublic: boolean;
  params: Param[];
  /** The request body's media type and schema, when there is one. */
  body?: { mediaType: string; schema: Json };
  /** Documented response status codes ("200", "4XX", "default"). */
  responses: string[];
  /** Status and Location-less shape of the documented success, for seeding. */
  successStatus?: number;
}

/** Resolves a local JSON pointer reference ("#/components/…") in doc; undefined when it does not resolve. */
export function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  const parts = ref
    .slice(1)
    .split('/')
    .slice(1)
    .map((p) => decodeURIComponent(p).replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = doc;
  for (const p of parts) {
    if (Array.isArray(node)) node = node[Number(p)];
    else if (isObject(node) && Object.prototype.hasOwnProperty.call(node, p)) node = node[p];
    else return undefined;
  }
  return node;
}

function deref<T>(doc: unknown, node: T): T {
  let cur: unknown = node;
  for (let i = 0; i < 20 && isObject(cur) && typeof cur.$ref === 'string'; i++) cur = resolvePointer(doc, cur.$ref);
  return cur as T;
}

export function operationsOf(doc: Json): Operation[] {
  const ops: Operation[] = [];
  const globalSecurity = Array.isArray(doc.security) && doc.security.length > 0;
  for (const [path, item] of Object.entries((doc.paths as Json) ?? {})) {
    if (!isObject(item)) continue;
    const shared = ((item.parameters as unknown[]) ?? []).map((p) => deref(doc, p) as Json);
    for (const method of METHODS) {
      const raw = item[method];
      if (!isObject(raw)) continue;
      const own = ((raw.parameters as unknown[]) ?? []).map((p) => deref(doc, p) as Json);
      const params = new Map<string, Param>();
      for (const p of [...shared, ...own]) {
        params.set(`${String(p.in)}:${String(p.name)}`, {
          name: String(p.name),
          in: p.in as Param['in'],
          required: p.required === true,
          schema: (p.schema as Json) ?? {},
        });
      }
      let body: Operation['body'];
      const rb = raw.requestBody ? (deref(doc, raw.requestBody) as Json) : undefined;
      if (rb && isObject(rb.content)) {
        const types = Object.keys(rb.content);
        const mediaType = types.find((t) => /json/.test(t)) ?? types[0];
        if (mediaType) body = { mediaType, schema: ((rb.content[mediaType] as Json).schema as Json) ?? {} };
      }
      const security = raw.security as unknown[] | undefined;
      const responses = Object.keys((raw.responses as Json) ?? {});
      const success = responses.map(Number).find((s) => s >= 200 && s < 300);
      ops.push({
        method,
        path,
        operationId: String(raw.operationId ?? `${method} ${path}`),
        isPublic: security ? security.length === 0 : !globalSecurity,
        params: [...params.values()],
        body,
        responses,
        successStatus: success,
      });
    }
  }
  return ops;
}

// ---------------------------------------------------------------------------------------------------------
// Schemas: one Ajv over the document's components, configured like the server's (src/http/validation.ts)
// ---------------------------------------------------------------------------------------------------------

const BASE = 'https://fuzz.invalid/schemas/';
/** OpenAPI's additions to JSON Schema that Ajv in strict mode does not know. */
const OPENAPI_KEYWORDS = ['example', 'discriminator', 'xml', 'externalDocs'];

function collectExtensionKeywords(node: unknown, out: Set<string>): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => collectExtensionKeywords(n, out));
  else if (isObject(node)) {
    for (const [k, v] of Object.entries(node)) {
      if (k.startsWith('x-')) out.add(k);
      collectExtensionKeywords(v, out);
    }
  }
  return out;
}

/** Component refs ("#/components/schemas/X/…") become absolute URIs of standalone schema resources. */
function rewriteRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (!isObject(node)) return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')) {
      const [name, ...rest] = v.slice('#/components/schemas/'.length).split('/');
      out[k] = `${BASE}${name}${rest.length ? '#/' + rest.join('/') : ''}`;
    } else out[k] = rewriteRefs(v);
  }
  return out;
}

export class SchemaKit {
  private readonly strict: Ajv2020;
  private readonly coercing: Ajv2020;
  private readonly cache = new Map<string, ValidateFunction>();

  constructor(readonly doc: Json) {
    const components = ((doc.components as Json | undefined)?.schemas as Json | undefined) ?? {};
    const extra = [...OPENAPI_KEYWORDS, ...collectExtensionKeywords(doc, new Set())];
    const make = (coerce: boolean) => {
      const ajv = new Ajv2020({
        allErrors: true,
        strict: true,
        coerceTypes: coerce ? 'array' : false,
        useDefaults: coerce,
      });
      addFormats(ajv);
      for (const k of extra) ajv.addKeyword(k);
      for (const [name, schema] of Object.entries(components)) {
        ajv.addSchema({ ...(rewriteRefs(schema) as Json), $id: BASE + name });
      }
      return ajv;
    };
    this.strict = make(false);
    this.coercing = make(true);
  }

  /** Compiles a schema from the document (inline or a $ref); throws when it does not compile. */
  compile(schema: unknown, coerce = false): ValidateFunction {
    const key = `${coerce ? 'c' : 's'}:${JSON.stringify(schema)}`;
    let fn = this.cache.get(key);
    if (!fn) {
      const rewritten = rewriteRefs(schema);
      const ajv = coerce ? this.coercing : this.strict;
      fn = typeof rewritten === 'boolean' ? ajv.compile(rewritten) : ajv.compile(rewritten as Json);
      this.cache.set(key, fn);
    }
    return fn;
  }

  valid(schema: unknown, value: unknown, coerce = false): boolean {
    return this.compile(schema, coerce)(value) as boolean;
  }

  /** The schema with a top-level $ref chain followed. */
  resolve(schema: unknown): Json {
    const s = deref(this.doc, schema);
    return isObject(s) ? s : {};
  }
}

// ---------------------------------------------------------------------------------------------------------
// Valid instances
// ---------------------------------------------------------------------------------------------------------

const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

/** A fixed instant well in the future, so that windows "from now on" accept it. */
function futureTime(name: string): string {
  const year = new Date().getUTCFullYear() + 1;
  const start = Date.UTC(year, 0, 5, 0, 0, 0);
  const late = /end|to$|until|latest|finish|expires/i.test(name);
  return new Date(late ? start + 14 * 86_400_000 : start).toISOString();
}

const STRING_CANDIDATES = ['Fuzz base value', 'fuzz', '1234567890', '123-45-67890', 'abc', 'a', 'A1', 'x-1', '0'];

function stringFor(s: Json, name: string, rng: Rng): string {
  const min = typeof s.minLength === 'number' ? s.minLength : 0;
  const max = typeof s.maxLength === 'number' ? s.maxLength : Infinity;
  switch (s.format) {
    case 'date-time':
      return futureTime(name);
    case 'date':
      return futureTime(name).slice(0, 10);
    case 'time':
      return '09:00:00Z';
    case 'email':
      return 'fuzz-base@example.kr';
    case 'uri':
    case 'url':
    case 'iri':
      return 'https://hooks.example.kr/ax';
    case 'uuid':
      return rng.uuid();
    case 'ipv4':
      return '192.0.2.1';
    case 'ipv6':
      return '2001:db8::1';
    case 'hostname':
      return 'example.kr';
  }
  const re = typeof s.pattern === 'string' ? new RegExp(s.pattern, 'u') : undefined;
  for (const c of STRING_CANDIDATES) {
    const v = c.length < min ? c.padEnd(min, 'x') : c;
    if (v.length <= max && (!re || re.test(v))) return v;
  }
  return 'x'.repeat(Math.max(min, 1));
}

function numberFor(s: Json, integer: boolean): number {
  const lo =
    typeof s.minimum === 'number' ? s.minimum : typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum : undefined;
  const hi =
    typeof s.maximum === 'number' ? s.maximum : typeof s.exclusiveMaximum === 'number' ? s.exclusiveMaximum : undefined;
  let v = 1;
  if (lo !== undefined && v <= lo) v = typeof s.exclusiveMinimum === 'number' ? lo + 1 : lo;
  if (hi !== undefined && v >= hi) v = typeof s.exclusiveMaximum === 'number' ? hi - (integer ? 1 : 0.5) : hi;
  if (lo !== undefined && hi !== undefined && (v < lo || v > hi)) v = (lo + hi) / 2;
  return integer ? Math.ceil(v) : v;
}

function subsets<T>(xs: T[], maxSize: number): T[][] {
  const out: T[][] = [[]];
  for (let size = 1; size <= maxSize; size++) {
    const rec = (start: number, acc: T[]) => {
      if (acc.length === size) return void out.push([...acc]);
      for (let i = start; i < xs.length; i++) rec(i + 1, [...acc, xs[i] as T]);
    };
    rec(0, []);
  }
  out.push([...xs]);
  return out;
}

/**
 * A value valid against schema, built from examples, defaults, enums and constraints. Objects take their
 * required properties, then the smallest set of optional ones that makes the whole valid (if/then/else).
 */
export function validInstance(kit: SchemaKit, schema: unknown, rng: Rng, name = '', depth = 0): unknown {
  const s = kit.resolve(schema);
  if (depth > 12) return null;
  if ('const' in s) return clone(s.const);
  if (Array.isArray(s.examples) && s.examples.length && kit.valid(schema, s.examples[0])) return clone(s.examples[0]);
  if ('default' in s && kit.valid(schema, s.default)) return clone(s.default);
  if (Array.isArray(s.enum) && s.enum.length) return clone(s.enum.find((e) => e !== null) ?? s.enum[0]);
  const options = (s.oneOf ?? s.anyOf) as unknown[] | undefined;
  if (Array.isArray(options)) {
    for (const o of options) {
      if (kit.resolve(o).type === 'null') continue;
      const v = validInstance(kit, o, rng, name, depth + 1);
      if (kit.valid(schema, v)) return v;
    }
    return validInstance(kit, options[0], rng, name, depth + 1);
  }
  if (Array.isArray(s.allOf)) {
    const parts = s.allOf.map((p) => validInstance(kit, p, rng, name, depth + 1));
    if (parts.every(isObject)) return Object.assign({}, ...parts);
    return parts[0];
  }
  const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : [];
  const type = types.find((t) => t !== 'null') ?? types[0] ?? (s.properties ? 'object' : s.items ? 'array' : 'string');
  switch (type) {
    case 'null':
      return null;
    case 'boolean':
      return true;
    case 'integer':
      return numberFor(s, true);
    case 'number':
      return numberFor(s, false);
    case 'string':
      return stringFor(s, name, rng);
    case 'array': {
      const min = typeof s.minItems === 'number' ? s.minItems : 0;
      const max = typeof s.maxItems === 'number' ? s.maxItems : Infinity;
      const count = Math.min(Math.max(min, 1), max);
      const items = kit.resolve(s.items);
      if (Array.isArray(items.enum)) return items.enum.slice(0, count).map(clone);
      return Array.from({ length: count }, () => validInstance(kit, s.items ?? {}, rng, name, depth + 1));
    }
    case 'object': {
      const props = (s.properties as Json | undefined) ?? {};
      const required = ((s.required as string[] | undefined) ?? []).filter((k) => k in props);
      const optional = Object.keys(props).filter((k) => !required.includes(k));
      const make = (keys: string[]) => {
        const o: Json = {};
        for (const k of keys) o[k] = validInstance(kit, props[k], rng, k, depth + 1);
        return o;
      };
      const base = required;
      for (const extra of subsets(optional, 2)) {
        const candidate = make([...base, ...extra]);
        if (kit.valid(schema, candidate)) return candidate;
      }
      return make(base);
    }
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Hostile values
// ---------------------------------------------------------------------------------------------------------

const SQL = "'; DROP TABLE pilots;--";
const SCRIPT = '<script>alert(document.cookie)</script>';
const CONTROL = 'a\u0000b\u0007c\u001b[31m\u202eevil\u2028\ud800';
const UNICODE = '광주 AX 실증밸리 🚗💨 ﷽ Z̵̡̢͇a̸͍l̶g̷o̵';

/** Deep nesting as text: JSON.stringify would overflow the stack on it, JSON.parse does not. */
const deepArrayText = (n: number) => '['.repeat(n) + ']'.repeat(n);
const deepObjectText = (n: number) => '{"a":'.repeat(n) + 'null' + '}'.repeat(n);

/** Values of every JSON type and some nasty ones; whichever the schema accepts at a position is filtered out. */
const WRONG_VALUES: [string, unknown][] = [
  ['null', null],
  ['true', true],
  ['false', false],
  ['zero', 0],
  ['negative', -1],
  ['fraction', 1.5],
  ['huge number', 1e308],
  ['unsafe integer', Number.MAX_SAFE_INTEGER + 1],
  ['empty string', ''],
  ['blank string', '   '],
  ['number as string', '42'],
  ['bad date', '2026-02-30T25:61:00Z'],
  ['not a uuid', 'not-a-uuid'],
  ['empty array', []],
  ['empty object', {}],
  ['array of null', [null]],
  ['nested nulls', { a: null, b: [null, { c: null }] }],
];

const HOSTILE_STRINGS: [string, string][] = [
  ['sql', SQL],
  ['sql tautology', "' OR '1'='1"],
  ['script', SCRIPT],
  ['control chars', CONTROL],
  ['unicode', UNICODE],
  ['huge string', 'A'.repeat(70_000)],
  ['path traversal', '../../../../etc/passwd'],
  ['template', '${7*7}{{7*7}}'],
];

/** Number-ish JSON tokens, spliced into the text; some are not JSON at all. */
const RAW_TOKENS = [
  deepArrayText(2000),
  deepObjectText(1000),
  '1e309',
  '-1e309',
  '-0',
  '"NaN"',
  'NaN',
  'Infinity',
  '"Infinity"',
  '1e-400',
  '0x1F',
  '01',
  '1.',
  '.5',
  '+1',
  '9007199254740993',
  '1E2',
  '"1"',
  'undefined',
];

const EXTRA_FIELDS: [string, unknown][] = [
  ['unknownField', 'x'],
  ['__proto__', { isAdmin: true }],
  ['constructor', { prototype: { isAdmin: true } }],
  ['id', '00000000-0000-0000-0000-000000000000'],
  ['organizationId', '00000000-0000-0000-0000-000000000000'],
  ['status', 'booked'],
  ['role', 'operator'],
  ['demo', true],
  ['createdAt', '2000-01-01T00:00:00Z'],
  [SQL, SCRIPT],
];

// ---------------------------------------------------------------------------------------------------------
// JSON paths
// ---------------------------------------------------------------------------------------------------------

type Path = (string | number)[];

function pathsOf(value: unknown, depth = 0, prefix: Path = []): Path[] {
  const out: Path[] = [];
  if (depth > 5) return out;
  if (Array.isArray(value)) {
    if (value.length) {
      out.push([...prefix, 0]);
      out.push(...pathsOf(value[0], depth + 1, [...prefix, 0]));
    }
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      out.push([...prefix, k]);
      out.push(...pathsOf(v, depth + 1, [...prefix, k]));
    }
  }
  return out;
}

function objectPathsOf(value: unknown): Path[] {
  return [[], ...pathsOf(value)].filter((p) => isObject(getAt(value, p)));
}

function getAt(value: unknown, path: Path): unknown {
  let cur = value;
  for (const p of path) cur = (cur as Record<string | number, unknown>)?.[p];
  return cur;
}

/** A copy of value with the node at path replaced (or removed when remove is set). */
function setAt(value: unknown, path: Path, replacement: unknown, remove = false): unknown {
  if (!path.length) return replacement;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...value];
    if (rest.length) copy[head as number] = setAt(copy[head as number], rest, replacement, remove);
    else if (remove) copy.splice(head as number, 1);
    else copy[head as number] = replacement;
    return copy;
  }
  const copy: Json = { ...(value as Json) };
  if (rest.length) copy[head as string] = setAt(copy[head as string], rest, replacement, remove);
  else if (remove) delete copy[head as string];
  else
    Object.defineProperty(copy, head as string, {
      value: replacement,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return copy;
}

const pointer = (p: Path) => '/' + p.map((x) => String(x).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

const MARK = '\u0000FUZZ-RAW\u0000';

/** JSON text of value with the node at path replaced by raw (which need not be JSON). */
function spliceRaw(value: unknown, path: Path, raw: string): string {
  return JSON.stringify(setAt(value, path, MARK)).replace(JSON.stringify(MARK), raw);
}

/** The first branch of a oneOf/anyOf that is not null, or the schema itself. */
function branch(kit: SchemaKit, s: Json): Json {
  const options = (s.oneOf ?? s.anyOf) as unknown[] | undefined;
  if (Array.isArray(options)) {
    const o = options.map((x) => kit.resolve(x)).find((x) => x.type !== 'null');
    if (o) return o;
  }
  return s;
}

/** The sub-schema that governs the value at path, following $ref, properties, items and oneOf/anyOf. */
function schemaAt(kit: SchemaKit, schema: unknown, path: Path): Json {
  let s = branch(kit, kit.resolve(schema));
  for (const p of path) {
    s = typeof p === 'number' ? kit.resolve(s.items) : kit.resolve((s.properties as Json | undefined)?.[p]);
    s = branch(kit, s);
  }
  return s;
}

/** Values just past each limit the schema sets (and some just on it); the valid ones are filtered out later. */
function boundaryValues(s: Json, current: unknown): [string, unknown][] {
  const out: [string, unknown][] = [];
  const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
  const num = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : undefined);
  if (types.includes('integer') || types.includes('number')) {
    const [min, max, xmin, xmax] = [num('minimum'), num('maximum'), num('exclusiveMinimum'), num('exclusiveMaximum')];
    if (min !== undefined) out.push(['minimum - 1', min - 1], ['just under minimum', min - 1e-9]);
    if (max !== undefined) out.push(['maximum + 1', max + 1], ['just over maximum', max + 1e-9]);
    if (xmin !== undefined) out.push(['exclusiveMinimum itself', xmin], ['under exclusiveMinimum', xmin - 1]);
    if (xmax !== undefined) out.push(['exclusiveMaximum itself', xmax]);
    if (types.includes('integer') && !types.includes('number')) out.push(['not quite an integer', (min ?? 1) + 0.0001]);
  }
  if (types.includes('string')) {
    const [minL, maxL] = [num('minLength'), num('maxLength')];
    if (maxL !== undefined)
      out.push(['maxLength + 1', 'b'.repeat(maxL + 1)], ['maxLength + 1 emoji', '😀'.repeat(maxL + 1)]);
    if (minL !== undefined && minL > 0) out.push(['minLength - 1', 'b'.repeat(minL - 1)]);
    if (Array.isArray(s.enum) && typeof s.enum[0] === 'string') {
      out.push(
        ['enum upper-cased', s.enum[0].toUpperCase()],
        ['enum with a space', ` ${s.enum[0]}`],
        ['enum prefix', s.enum[0].slice(0, -1)],
      );
    }
    switch (s.format) {
      case 'date-time':
        out.push(
          ['date only', '2027-01-05'],
          ['no offset', '2027-01-05T09:00:00'],
          ['space for T', '2027-01-05 09:00:00Z'],
          ['Feb 30', '2027-02-30T00:00:00Z'],
          ['year 0', '0000-01-01T00:00:00Z'],
          ['year 275760', '+275760-09-13T00:00:00Z'],
          ['epoch number', '1767225600'],
        );
        break;
      case 'uuid':
        out.push(
          ['short uuid', '3f2504e0-4f89-41d3-9a0c'],
          ['uuid with braces', '{3f2504e0-4f89-41d3-9a0c-0305e82c3301}'],
        );
        break;
      case 'email':
        out.push(
          ['no domain', 'user@'],
          ['no at', 'user.example.kr'],
          ['two ats', 'a@b@example.kr'],
          ['spaces', 'user name@example.kr'],
        );
        break;
      case 'uri':
      case 'url':
        out.push(['relative', '/hooks'], ['javascript', 'javascript:alert(1)'], ['no scheme', 'example.kr/hook']);
        break;
    }
  }
  if (types.includes('array') && Array.isArray(current)) {
    const item = current[0] ?? null;
    const [minI, maxI] = [num('minItems'), num('maxItems')];
    if (maxI !== undefined) out.push(['maxItems + 1', Array.from({ length: maxI + 1 }, () => item)]);
    if (minI !== undefined && minI > 0) out.push(['minItems - 1', current.slice(0, minI - 1)]);
    if (s.uniqueItems === true && current.length) out.push(['duplicate items', [item, item]]);
  }
  if (types.includes('object') && typeof s.minProperties === 'number' && s.minProperties > 0)
    out.push(['no properties', {}]);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------------------

export type ActorName = 'none' | 'startup' | 'partner' | 'operator';
export const ACTORS: ActorName[] = ['none', 'startup', 'partner', 'operator'];

interface Body {
  text: string;
  /** null sends the bytes with no Content-Type at all. */
  contentType: string | null;
}

/** One way to break a request of an operation. Unset fields keep the valid base. */
interface Candidate {
  category: string;
  label: string;
  /** The document says this must be refused (4xx); false only for odd-but-schema-valid GET queries. */
  mustRefuse: boolean;
  /** Replaces a path parameter's value (already URL-encoded, or raw on purpose). */
  pathParam?: { name: string; value: string };
  /** Raw query string, without "?". */
  query?: string;
  body?: Body | 'none';
  headers?: Record<string, string>;
  /** Replaces the actor's Authorization header. */
  authorization?: string;
}

export interface FuzzCase {
  n: number;
  operationId: string;
  method: Method;
  url: string;
  actor: ActorName | 'garbage-token';
  headers: Record<string, string>;
  body?: Body;
  category: string;
  label: string;
  mustRefuse: boolean;
}

export interface GenerateOptions {
  seed: number;
  /** Valid ids per collection path, e.g. "/v1/pilots" → [id]: the base request uses them. */
  ids: Map<string, string[]>;
  tokens: Record<Exclude<ActorName, 'none'>, string>;
  /** The server's JSON body limit in bytes. */
  bodyLimitBytes: number;
  /** Roughly how many cases in all; shared between operations. */
  target: number;
}

const BAD_IDS: [string, string][] = [
  ['not a uuid', 'not-a-uuid'],
  ['path traversal', '../../etc'],
  ['encoded traversal', '..%2F..%2Fetc%2Fpasswd'],
  ['NUL', '%00'],
  ['lone percent', '%'],
  ['broken percent-encoding', '%E0%A4%A'],
  ['1000 chars', 'a'.repeat(1000)],
  ['sql', encodeURIComponent("1' OR '1'='1")],
  ['script', encodeURIComponent(SCRIPT)],
  ['null', 'null'],
  ['undefined', 'undefined'],
  ['number', '12345'],
  ['negative number', '-1'],
  ['uuid without dashes', '3f2504e04f8941d39a0c0305e82c3301'],
  ['uuid with braces', encodeURIComponent('{3f2504e0-4f89-41d3-9a0c-0305e82c3301}')],
  ['uuid with suffix', '3f2504e0-4f89-41d3-9a0c-0305e82c3301x'],
  ['uuid with trailing newline', '3f2504e0-4f89-41d3-9a0c-0305e82c3301%0A'],
  ['uuid with leading space', '%203f2504e0-4f89-41d3-9a0c-0305e82c3301'],
  ['uuid, too short', '3f2504e0-4f89-41d3-9a0c-0305e82c330'],
  ['unicode', encodeURIComponent(UNICODE)],
  ['empty', ''],
  ['json', encodeURIComponent('{"$ne":null}')],
];

/** Ids that are UUIDs but name nothing: must be 404 (or 400), never an action on something. */
function absentIds(rng: Rng): [string, string][] {
  return [
    ['nil uuid', '00000000-0000-0000-0000-000000000000'],
    ['max uuid', 'ffffffff-ffff-ffff-ffff-ffffffffffff'],
    ['random uuid', rng.uuid()],
    ['random uuid, upper case', rng.uuid().toUpperCase()],
  ];
}

const QUERY_VALUES: [string, string][] = [
  ['empty', ''],
  ['blank', ' '],
  ['negative', '-1'],
  ['zero', '0'],
  ['fraction', '1.5'],
  ['exponent', '1e3'],
  ['huge', '9'.repeat(40)],
  ['NaN', 'NaN'],
  ['Infinity', 'Infinity'],
  ['boolean-ish', 'maybe'],
  ['null', 'null'],
  ['array-ish', '[]'],
  ['object-ish', '{"$gt":""}'],
  ['NUL', '\u0000'],
  ['sql', SQL],
  ['script', SCRIPT],
  ['long', 'q'.repeat(600)],
  ['bad date', '2026-13-45T25:61:00Z'],
  ['words', 'yesterday'],
  ['traversal', '../../etc/passwd'],
  ['unicode', UNICODE],
  ['comma list', '1,2'],
];

const UNKNOWN_QUERY: [string, string][] = [
  ['unknown parameter', 'unknownParam=1'],
  ['__proto__', '__proto__=x'],
  ['__proto__ nested', '__proto__%5BisAdmin%5D=true'],
  ['constructor', 'constructor=x'],
  ['bracket array', 'limit%5B%5D=1'],
  ['empty name', '=x'],
  ['broken escape', 'a=%ZZ'],
  ['sql name', `${encodeURIComponent(SQL)}=1`],
  ['many parameters', Array.from({ length: 300 }, (_, i) => `p${i}=${i}`).join('&')],
];

const IDEMPOTENCY_GARBAGE: [string, string][] = [
  ['empty', ''],
  ['space inside', 'key with spaces'],
  ['tab inside', 'key\twith-tab'],
  ['256 chars', 'k'.repeat(256)],
  ['4000 chars', 'k'.repeat(4000)],
  ['latin-1', 'clé'],
  ['utf-8 bytes', Buffer.from('키', 'utf8').toString('latin1')],
  ['quoted space', '" "'],
];

const IF_MATCH_GARBAGE: [string, string][] = [
  ['empty', ''],
  ['garbage', 'garbage'],
  ['lone quote', '"'],
  ['weak tag', 'W/"abc"'],
  ['two tags', '"abc", "def"'],
  ['commas', ',,,'],
  ['star and junk', '*x'],
  ['sql', `"${SQL}"`],
  ['huge', `"${'e'.repeat(4000)}"`],
  ['null', 'null'],
];

function authGarbage(tokens: GenerateOptions['tokens']): [string, string][] {
  const t = tokens.startup;
  return [
    ['empty', ''],
    ['scheme only', 'Bearer'],
    ['scheme and space', 'Bearer '],
    ['lower-case scheme only', 'bearer'],
    ['basic', 'Basic dXNlcjpwYXNzd29yZA=='],
    ['other scheme', `Token ${t}`],
    ['no scheme', t],
    ['session-shaped', 'Bearer axs_' + 'A'.repeat(43)],
    ['key-shaped', 'Bearer axk_' + 'B'.repeat(43)],
    ['long', 'Bearer ' + 'C'.repeat(4000)],
    ['sql', `Bearer ${SQL}`],
    ['script', `Bearer ${SCRIPT}`],
    ['two words', 'Bearer two words'],
    ['token twice', `Bearer ${t} ${t}`],
    ['token plus a char', `Bearer ${t}x`],
    ['token minus a char', `Bearer ${t.slice(0, -1)}`],
    ['token upper-cased', `Bearer ${t.toUpperCase()}`],
    ['latin-1', 'Bearer clé'],
    ['null', 'Bearer null'],
    ['undefined', 'Bearer undefined'],
  ];
}

const WRONG_CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=fuzz',
  'application/xml',
  'application/json; charset=latin1',
  'application/jsonx',
  'image/png',
];

const MALFORMED_JSON = (base: string): [string, string][] => [
  ['truncated', base.slice(0, Math.max(1, Math.floor(base.length / 2)))],
  ['trailing garbage', base + ' }}'],
  ['single quotes', "{'title': 'x'}"],
  ['trailing comma', '{"a": 1,}'],
  ['unquoted key', '{a: 1}'],
  ['comment', '/* hi */ ' + base],
  ['NaN', 'NaN'],
  ['bare word', 'undefined'],
  ['lone brace', '{'],
  ['empty text', ''],
  ['NUL byte', '\u0000'],
  ['unterminated string', '{"a": "' + 'x'.repeat(100)],
  ['string top level', '"just a string"'],
  ['number top level', '42'],
  ['null top level', 'null'],
  ['true top level', 'true'],
  ['invalid escape', '{"a": "\\x41"}'],
  ['lone surrogate escape', '{"a": "\\ud800'],
];

interface Ctx {
  kit: SchemaKit;
  rng: Rng;
  opts: GenerateOptions;
}

function jsonBody(value: unknown): Body {
  return { text: JSON.stringify(value), contentType: 'application/json' };
}

/** Candidates that break the JSON body; each is checked to fail the body schema (or not to be JSON). */
function bodyCandidates(op: Operation, base: unknown, c: Ctx): Candidate[] {
  const schema = op.body!.schema;
  const out: Candidate[] = [];
  const seen = new Set<string>();
  const refuse = (category: string, label: string, text: string) => {
    if (seen.has(text)) return;
    // What the server may make of the text: an empty body reads as {} or as no body (null).
    let readings: unknown[];
    try {
      readings = text.trim() === '' ? [{}, null] : [JSON.parse(text)];
    } catch {
      readings = []; // not JSON at all: refused as malformed
    }
    if (readings.some((r) => c.kit.valid(schema, r))) return; // valid after all: never sent
    seen.add(text);
    out.push({ category, label, mustRefuse: true, body: { text, contentType: 'application/json' } });
  };

  const paths = pathsOf(base);
  for (const p of paths) {
    refuse('drop-field', `drop ${pointer(p)}`, JSON.stringify(setAt(base, p, undefined, true)));
    for (const [label, v] of WRONG_VALUES)
      refuse('wrong-type', `${pointer(p)} = ${label}`, JSON.stringify(setAt(base, p, v)));
    for (const [label, v] of HOSTILE_STRINGS)
      refuse('hostile-string', `${pointer(p)} = ${label}`, JSON.stringify(setAt(base, p, v)));
    refuse('wrong-type', `${pointer(p)} wrapped in an array`, JSON.stringify(setAt(base, p, [getAt(base, p)])));
    for (const [label, v] of boundaryValues(schemaAt(c.kit, schema, p), getAt(base, p))) {
      refuse('boundary', `${pointer(p)} ${label}`, JSON.stringify(setAt(base, p, v)));
    }
    for (const raw of RAW_TOKENS)
      refuse(
        'raw-number',
        `${pointer(p)} = ${raw.length > 40 ? `${raw.slice(0, 12)}… (deep nesting)` : raw}`,
        spliceRaw(base, p, raw),
      );
  }
  for (const p of objectPathsOf(base)) {
    for (const [key, v] of EXTRA_FIELDS) {
      const extended = setAt(base, [...p, key], v);
      refuse('extra-field', `${pointer([...p, key])} added`, JSON.stringify(extended));
    }
  }
  // Every string field hostile at once, with one required field gone so it is refused for sure.
  if (isObject(base)) {
    const [first] = Object.keys(base);
    for (const [label, hostile] of HOSTILE_STRINGS) {
      let v: unknown = base;
      for (const p of paths) if (typeof getAt(base, p) === 'string') v = setAt(v, p, hostile);
      if (first !== undefined)
        refuse(
          'hostile-string',
          `all strings ${label}, ${first} dropped`,
          JSON.stringify(setAt(v, [first], undefined, true)),
        );
    }
    const [firstKey] = Object.keys(base);
    if (firstKey !== undefined) {
      const text = JSON.stringify(base);
      refuse(
        'raw-json',
        `duplicate "${firstKey}" with a wrong value last`,
        text.slice(0, -1) + `,${JSON.stringify(firstKey)}:{"dup":[1]}}`,
      );
    }
  }
  for (const [label, v] of boundaryValues(schemaAt(c.kit, schema, []), base))
    refuse('boundary', `/ ${label}`, JSON.stringify(v));
  // Random values at random places: the seed decides which.
  for (let i = 0; i < 24 && paths.length; i++) {
    const p = c.rng.pick(paths);
    refuse('random', `${pointer(p)} = random #${i}`, JSON.stringify(setAt(base, p, randomJson(c.rng))));
  }
  for (let i = 0; i < 4; i++) refuse('random', `random body #${i}`, JSON.stringify(randomJson(c.rng)));
  const whole: [string, unknown][] = [
    ['array instead of object', [base]],
    ['empty array', []],
    ['empty object', {}],
    ['all values null', isObject(base) ? Object.fromEntries(Object.keys(base).map((k) => [k, null])) : null],
    ['wrapped in an object', { data: base }],
    ['many unknown fields', Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`f${i}`, i]))],
  ];
  for (const [label, v] of whole) refuse('whole-body', label, JSON.stringify(v));
  refuse('whole-body', 'array nested 20000 deep', deepArrayText(20_000));
  refuse('whole-body', 'object nested 5000 deep', deepObjectText(5_000));
  for (const [label, text] of MALFORMED_JSON(JSON.stringify(base))) refuse('raw-json', label, text);
  return out;
}

/** Candidates for the path parameters: ids that are not UUIDs, or UUIDs that name nothing. */
function pathCandidates(op: Operation, c: Ctx): Candidate[] {
  const out: Candidate[] = [];
  for (const p of op.params.filter((x) => x.in === 'path')) {
    const last = op.path.endsWith(`{${p.name}}`);
    for (const [label, value] of BAD_IDS) {
      // An empty last segment turns /v1/things/{id} into /v1/things/, which is the collection: a GET may
      // list it; another method could create, so it is not sent.
      if (value === '' && last) {
        if (op.method === 'get')
          out.push({
            category: 'path-id',
            label: `${p.name}: ${label}`,
            mustRefuse: false,
            pathParam: { name: p.name, value },
          });
        continue;
      }
      out.push({
        category: 'path-id',
        label: `${p.name}: ${label}`,
        mustRefuse: true,
        pathParam: { name: p.name, value },
      });
    }
    for (let i = 0; i < 4; i++) {
      const value = encodeURIComponent(randomText(c.rng, i === 3 ? 300 : 36));
      if (
        !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(decodeURIComponent(value)) &&
        value !== ''
      ) {
        out.push({
          category: 'path-id',
          label: `${p.name}: random text #${i}`,
          mustRefuse: true,
          pathParam: { name: p.name, value },
        });
      }
    }
    for (const [label, value] of absentIds(c.rng))
      out.push({
        category: 'path-absent',
        label: `${p.name}: ${label}`,
        mustRefuse: true,
        pathParam: { name: p.name, value },
      });
  }
  return out;
}

function querySchema(op: Operation): Json {
  const qs = op.params.filter((p) => p.in === 'query');
  return {
    type: 'object',
    properties: Object.fromEntries(qs.map((p) => [p.name, p.schema])),
    required: qs.filter((p) => p.required).map((p) => p.name),
    additionalProperties: false,
  };
}

function parseQuery(qs: string): Record<string, unknown> {
  // As Express's "simple" parser (node:querystring) sees it.
  const out = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of new URLSearchParams(qs)) {
    const cur = out[k];
    out[k] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [cur, v];
  }
  return out;
}

/** Candidates for the query string; the checks ask the document whether the server must refuse them. */
function queryCandidates(op: Operation, c: Ctx): Candidate[] {
  const out: Candidate[] = [];
  const schema = querySchema(op);
  const declared = op.params.filter((p) => p.in === 'query');
  const add = (label: string, qs: string, forceRefuse = false) => {
    const mustRefuse = forceRefuse || !c.kit.valid(schema, parseQuery(qs), true);
    if (!mustRefuse && op.method !== 'get') return; // a valid query on a writing operation is no fuzz case
    out.push({ category: mustRefuse ? 'query' : 'query-odd', label, mustRefuse, query: qs });
  };
  for (const p of declared) {
    const enc = encodeURIComponent(p.name);
    for (const [label, v] of QUERY_VALUES) add(`${p.name} = ${label}`, `${enc}=${encodeURIComponent(v)}`);
    const s = c.kit.resolve(p.schema);
    if (Array.isArray(s.enum) && typeof s.enum[0] === 'string') {
      add(`${p.name} enum upper-cased`, `${enc}=${encodeURIComponent(s.enum[0].toUpperCase())}`);
      add(`${p.name} enum with a space`, `${enc}=${encodeURIComponent(s.enum[0] + ' ')}`);
    }
    for (const [label, v] of boundaryValues(s, [])) {
      if (typeof v === 'string' || typeof v === 'number')
        add(`${p.name} ${label}`, `${enc}=${encodeURIComponent(String(v))}`);
    }
    for (const k of ['minimum', 'maximum'] as const)
      if (typeof s[k] === 'number') add(`${p.name} = ${k} (valid)`, `${enc}=${String(s[k])}`);
    for (let i = 0; i < 3; i++)
      add(`${p.name} = random text #${i}`, `${enc}=${encodeURIComponent(randomText(c.rng, 30))}`);
    add(`${p.name} twice`, `${enc}=1&${enc}=2`);
    add(`${p.name} raw broken escape`, `${enc}=%E0%A4%A`);
  }
  // Operations without query parameters refuse any; with them, names outside the schema.
  for (const [label, qs] of UNKNOWN_QUERY) add(label, qs, true);
  for (let i = 0; i < 3; i++) {
    const name = randomText(c.rng, 12);
    if (!declared.some((p) => p.name === name))
      add(`random parameter #${i}`, `${encodeURIComponent(name)}=${encodeURIComponent(randomText(c.rng, 12))}`, true);
  }
  if (!declared.length)
    for (const [label, v] of QUERY_VALUES.slice(0, 8))
      add(`unknown parameter = ${label}`, `q=${encodeURIComponent(v)}`, true);
  return out;
}

function headerCandidates(op: Operation, c: Ctx): Candidate[] {
  const out: Candidate[] = [];
  const header = (name: string) =>
    op.params.find((p) => p.in === 'header' && p.name.toLowerCase() === name.toLowerCase());
  if (header('Idempotency-Key')) {
    for (const [label, v] of IDEMPOTENCY_GARBAGE)
      out.push({ category: 'idempotency-key', label, mustRefuse: true, headers: { 'Idempotency-Key': v } });
  }
  if (header('If-Match')) {
    for (const [label, v] of IF_MATCH_GARBAGE)
      out.push({ category: 'if-match', label, mustRefuse: true, headers: { 'If-Match': v } });
  }
  if (!op.isPublic) {
    for (const [label, v] of authGarbage(c.opts.tokens))
      out.push({ category: 'authorization', label, mustRefuse: true, authorization: v });
  }
  return out;
}

/** Body-level breakage that every operation must refuse, body or not: text that is not JSON, too many bytes. */
function transportCandidates(op: Operation, base: unknown, c: Ctx): Candidate[] {
  const out: Candidate[] = [];
  const oversize = c.opts.bodyLimitBytes + 64 * 1024;
  out.push({
    category: 'oversize',
    label: `${oversize} bytes of JSON`,
    mustRefuse: true,
    body: { text: `{"x":"${'o'.repeat(oversize)}"}`, contentType: 'application/json' },
  });
  if (op.body && /json/.test(op.body.mediaType)) {
    const text = JSON.stringify(base);
    for (const ct of WRONG_CONTENT_TYPES)
      out.push({ category: 'content-type', label: ct, mustRefuse: true, body: { text, contentType: ct } });
    out.push({
      category: 'content-type',
      label: 'no Content-Type',
      mustRefuse: true,
      body: { text, contentType: null },
    });
  } else if (op.body) {
    // Multipart and other media types: JSON, plain text and broken multipart are all refused.
    out.push({ category: 'content-type', label: 'JSON instead', mustRefuse: true, body: jsonBody({ name: 'x' }) });
    out.push({
      category: 'content-type',
      label: 'text/plain',
      mustRefuse: true,
      body: { text: 'hello', contentType: 'text/plain' },
    });
    out.push({
      category: 'content-type',
      label: 'multipart without boundary',
      mustRefuse: true,
      body: { text: 'x', contentType: 'multipart/form-data' },
    });
    out.push({
      category: 'content-type',
      label: 'broken multipart',
      mustRefuse: true,
      body: {
        text: '--fuzz\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc',
        contentType: 'multipart/form-data; boundary=fuzz',
      },
    });
    out.push({
      category: 'content-type',
      label: 'empty multipart',
      mustRefuse: true,
      body: { text: '--fuzz--\r\n', contentType: 'multipart/form-data; boundary=fuzz' },
    });
  } else {
    for (const [label, text] of MALFORMED_JSON('{"a":1}')) {
      if (text === '') continue; // an empty body is no body
      let parses = true;
      try {
        JSON.parse(text);
      } catch {
        parses = false;
      }
      // Express parses every JSON body before routing; one that is not JSON is refused even where none is expected.
      if (!parses || !/^\s*[[{]/.test(text))
        out.push({ category: 'raw-json', label, mustRefuse: true, body: { text, contentType: 'application/json' } });
    }
  }
  return out;
}

/** The collection an item path's parameter belongs to: /v1/pilots/{id}/submit → /v1/pilots for "id". */
export function collectionOf(path: string, param: string): string {
  const i = path.indexOf(`{${param}}`);
  return path.slice(0, i).replace(/\/$/, '');
}

function fillPath(op: Operation, c: Ctx, override?: { name: string; value: string }): string {
  return op.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    if (override && override.name === name) return override.value;
    const ids = c.opts.ids.get(collectionOf(op.path, name));
    return ids?.length ? c.rng.pick(ids) : c.rng.uuid();
  });
}

/** Interleaves the categories, so a small per-operation budget still covers every kind of breakage. */
function interleave(groups: Candidate[][]): Candidate[] {
  const out: Candidate[] = [];
  const max = Math.max(0, ...groups.map((g) => g.length));
  for (let i = 0; i < max; i++) for (const g of groups) if (i < g.length) out.push(g[i] as Candidate);
  return out;
}

export interface Generated {
  cases: FuzzCase[];
  /** Operations whose valid base body could not be built (the mutations are still sent). */
  invalidBases: string[];
  perOperation: number;
}

/** Every case for every operation of the document, deterministic for a seed and the given ids and tokens. */
export function generateCases(doc: Json, kit: SchemaKit, opts: GenerateOptions): Generated {
  const ops = operationsOf(doc);
  const perOperation = Math.max(48, Math.ceil(opts.target / Math.max(1, ops.length)));
  const root = new Rng(opts.seed);
  const cases: FuzzCase[] = [];
  const invalidBases: string[] = [];
  for (const op of ops) {
    const c: Ctx = { kit, rng: root.fork(`${op.method} ${op.path}`), opts };
    let base: unknown;
    if (op.body) {
      base = validInstance(kit, op.body.schema, c.rng);
      if (/json/.test(op.body.mediaType) && !kit.valid(op.body.schema, base)) invalidBases.push(op.operationId);
    }
    const all = [
      ...pathCandidates(op, c),
      ...queryCandidates(op, c),
      ...(op.body && /json/.test(op.body.mediaType) ? bodyCandidates(op, base, c) : []),
      ...headerCandidates(op, c),
      ...transportCandidates(op, base, c),
    ];
    const byCategory = new Map<string, Candidate[]>();
    for (const cand of all) {
      const list = byCategory.get(cand.category) ?? [];
      list.push(cand);
      byCategory.set(cand.category, list);
    }
    const groups = [...byCategory.keys()].sort().map((k) => c.rng.shuffle(byCategory.get(k)!));
    const chosen = interleave(groups).slice(0, perOperation);
    // Within a category, callers take turns, so each kind of breakage meets every kind of caller. Where a
    // token is required, a caller without one is refused before anything else is looked at, so it gets one
    // case of each category and the callers with tokens share the rest.
    const callers: ActorName[] = op.isPublic ? ACTORS : ACTORS.filter((a) => a !== 'none');
    const perCategory = new Map<string, number>();
    for (const cand of chosen) {
      let actor: ActorName;
      if (!op.isPublic && !perCategory.has(cand.category)) {
        actor = 'none';
        perCategory.set(cand.category, c.rng.int(callers.length));
      } else {
        const turn = perCategory.get(cand.category) ?? c.rng.int(callers.length);
        perCategory.set(cand.category, turn + 1);
        actor = callers[turn % callers.length] as ActorName;
      }
      cases.push(materialize(op, cand, actor, base, c, cases.length));
    }
  }
  return { cases, invalidBases, perOperation };
}

/** Values a schema usually accepts but code downstream may trip on. NUL is left out: see fuzz.test.ts. */
const HOSTILE_VALID: [string, unknown][] = [
  ['sql', SQL],
  ['sql tautology', "' OR '1'='1' --"],
  ['script', SCRIPT],
  ['control chars', 'a\u0007\u001b[31m\u202e\u2028b'],
  ['lone surrogate', 'a\ud800b'],
  ['emoji', '😀'.repeat(50)],
  ['hangul', UNICODE],
  ['printf', '%s%n%x%d'],
  ['backslashes', '\\\\\\'],
  ['tiny number', 1e-300],
  ['negative zero', -0],
  ['far future', '9999-12-31T23:59:59Z'],
  ['far past', '1900-01-01T00:00:00Z'],
  ['+14:00 offset', '2027-01-05T00:00:00+14:00'],
  ['nanoseconds', '2027-01-05T00:00:00.123456789Z'],
  ['lower-case t and z', '2027-01-05t00:00:00z'],
];

/** Valid values on each limit the schema sets. */
function limitValues(s: Json): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const k of ['minimum', 'maximum'] as const) if (typeof s[k] === 'number') out.push([k, s[k]]);
  if (typeof s.maxLength === 'number' && s.maxLength <= 100_000)
    out.push(['maxLength', 'm'.repeat(s.maxLength)], ['maxLength in emoji', '😀'.repeat(s.maxLength)]);
  return out;
}

/**
 * Bodies the schema accepts, each with one hostile value in one field, sent as each caller with a token to
 * the seeded resources. They may well be accepted (and written); what is checked is that none answers 5xx.
 */
export function hostileValidCases(
  doc: Json,
  kit: SchemaKit,
  opts: GenerateOptions,
  values: [string, unknown][] = HOSTILE_VALID,
): FuzzCase[] {
  const root = new Rng(opts.seed).fork('hostile-valid');
  const cases: FuzzCase[] = [];
  for (const op of operationsOf(doc)) {
    if (!op.body || !/json/.test(op.body.mediaType)) continue;
    const c: Ctx = { kit, rng: root.fork(`${op.method} ${op.path}`), opts };
    const base = validInstance(kit, op.body.schema, c.rng);
    const seen = new Set<string>();
    for (const p of pathsOf(base)) {
      const sub = schemaAt(kit, op.body.schema, p);
      for (const [label, v] of [...values, ...limitValues(sub)]) {
        const body = setAt(base, p, v);
        const text = JSON.stringify(body);
        if (seen.has(text) || !kit.valid(op.body.schema, body)) continue;
        seen.add(text);
        const cand: Candidate = {
          category: 'hostile-valid',
          label: `${pointer(p)} = ${label}`,
          mustRefuse: false,
          body: { text, contentType: 'application/json' },
        };
        for (const actor of op.isPublic ? (['none'] as const) : (['startup', 'partner', 'operator'] as const)) {
          cases.push(materialize(op, cand, actor, base, c, cases.length));
        }
      }
    }
  }
  return cases;
}

function materialize(op: Operation, cand: Candidate, actor: ActorName, base: unknown, c: Ctx, n: number): FuzzCase {
  const path = fillPath(op, c, cand.pathParam);
  const url = cand.query !== undefined ? `${path}?${cand.query}` : path;
  const headers: Record<string, string> = {};
  let who: FuzzCase['actor'] = actor;
  if (cand.authorization !== undefined) {
    headers.Authorization = cand.authorization;
    who = 'garbage-token';
  } else if (actor !== 'none') headers.Authorization = `Bearer ${c.opts.tokens[actor]}`;
  // The base carries what a valid request would: If-Match "*" (matches any current version) where declared.
  if (op.params.some((p) => p.in === 'header' && p.name === 'If-Match')) headers['If-Match'] = '*';
  Object.assign(headers, cand.headers ?? {});
  let body: Body | undefined;
  if (cand.body === 'none') body = undefined;
  else if (cand.body) body = cand.body;
  else if (op.body && /json/.test(op.body.mediaType)) body = jsonBody(base);
  return {
    n,
    operationId: op.operationId,
    method: op.method,
    url,
    actor: who,
    headers,
    body,
    category: cand.category,
    label: cand.label,
    mustRefuse: cand.mustRefuse,
  };
}
