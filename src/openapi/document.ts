/**
 * Builds the OpenAPI 3.1 document from the declared operations and the files in schemas/. Schema files refer
 * to each other by file name ($ref: "label.json"); here those become #/components/schemas/<Title>.
 */
import type { OperationSpec, ResponseSpec } from '../http/route.js';
import { PROBLEM_CODES } from '../core/errors.js';
import type { JsonSchema } from '../http/validation.js';

type Json = Record<string, unknown>;

const STATUS_TEXT: Record<number, string> = {
  400: 'The request is malformed or fails validation.',
  401: 'Missing, invalid, expired or revoked bearer token.',
  403: 'You may see this resource but not change it, or the API key lacks the scope.',
  404: 'No such resource, or it is not visible to you.',
  409: 'The change conflicts with the current state.',
  412: 'If-Match does not match the current ETag.',
  413: 'The request body is too large.',
  415: 'The request body is not of a supported media type.',
  416: 'The Range cannot be satisfied.',
  423: 'Locked: another request is writing this upload and was asked to stop; see Retry-After.',
  422: 'Well-formed but refused: see `code` (e.g. an Idempotency-Key reused with a different request, a digest mismatch).',
  428: 'If-Match is required.',
  429: 'Too many attempts; see Retry-After.',
  503: 'Not ready for traffic, or busy: try again later or elsewhere.',
};

export function schemaName(schemas: JsonSchema[], file: string): string {
  const s = schemas.find((x) => x.$id === file);
  if (!s || typeof s.title !== 'string') throw new Error(`schemas/${file} is missing or has no title`);
  return s.title;
}

/**
 * Deep copy of a schema file for embedding in one document: $refs to other files go through refOf, and
 * $id/$schema are dropped. Used for the OpenAPI components and for the generated TypeScript types.
 */
export function embedSchema(node: unknown, refOf: (file: string) => string): unknown {
  if (Array.isArray(node)) return node.map((n) => embedSchema(n, refOf));
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    if (k === '$id' || k === '$schema') continue;
    if (k === '$ref' && typeof v === 'string' && v.endsWith('.json')) out[k] = refOf(v);
    else out[k] = embedSchema(v, refOf);
  }
  return out;
}

const toComponent = (node: unknown, nameOf: (file: string) => string) =>
  embedSchema(node, (file) => `#/components/schemas/${nameOf(file)}`);

function errorStatuses(op: OperationSpec): number[] {
  const s = new Set<number>([400, ...(op.errors ?? [])]);
  if (op.auth !== 'public') [401, 403].forEach((c) => s.add(c));
  if (op.path.includes('{')) s.add(404);
  if (op.body || op.multipart) [413, 415].forEach((c) => s.add(c));
  if (op.idempotent) [409, 422].forEach((c) => s.add(c));
  if (op.ifMatch) [412, 428].forEach((c) => s.add(c));
  if (op.rateLimited) s.add(429);
  return [...s].sort();
}

/** Every "#/components/schemas/<Name>" that node refers to, directly. */
function schemaRefs(node: unknown, out: Set<string>): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => schemaRefs(n, out));
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node as Json)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')) {
        out.add(v.slice('#/components/schemas/'.length).split('/')[0]!);
      } else schemaRefs(v, out);
    }
  }
  return out;
}

/**
 * Only the schemas the document uses (from paths, webhooks, parameters, headers), directly or through other
 * schemas. Query schemas are spelled out as parameters, and a schema file nothing refers to yet (a feature
 * in progress, an internal payload) would be an unused component that documents nothing a client can send
 * or receive — Redocly's no-unused-components warns about those.
 */
function reachableSchemas(components: Json, rest: Json): Json {
  const seen = new Set<string>();
  const queue = [...schemaRefs(rest, new Set())];
  while (queue.length) {
    const name = queue.pop()!;
    if (seen.has(name) || !(name in components)) continue;
    seen.add(name);
    queue.push(...schemaRefs(components[name], new Set()));
  }
  return Object.fromEntries(Object.entries(components).filter(([name]) => seen.has(name)));
}

/** The fields schema spelled out inline, plus the binary part: fields and file travel side by side. */
function multipartBody(
  mp: NonNullable<OperationSpec['multipart']>,
  schemas: JsonSchema[],
  nameOf: (file: string) => string,
): Json {
  const fields = schemas.find((s) => s.$id === mp.fields) as Json | undefined;
  if (!fields) throw new Error(`schemas/${mp.fields} is missing`);
  const properties = toComponent(fields.properties ?? {}, nameOf) as Json;
  return {
    required: true,
    content: {
      'multipart/form-data': {
        schema: {
          type: 'object',
          ...(typeof fields.description === 'string' ? { description: fields.description } : {}),
          required: [...((fields.required as string[] | undefined) ?? []), mp.file],
          properties: {
            ...properties,
            // format: binary as well as contentMediaType: generators (openapi-typescript, openapi-generator) read the
            // former to type the part as a file/Blob rather than a string.
            [mp.file]: {
              type: 'string',
              format: 'binary',
              contentMediaType: 'application/octet-stream',
              description: mp.fileDescription ?? 'The file.',
            },
          },
        },
        encoding: { [mp.file]: { contentType: 'application/octet-stream' } },
      },
    },
  };
}

/** Raw bytes as OpenAPI 3.1 says them: no `type`, only the media type the bytes are in. */
const bytesOf = (mediaType: string): Json => ({ schema: { contentMediaType: mediaType } });

/**
 * The content map of a non-JSON response: raw bytes in one of several media types (a dataset download is served
 * under the type sniffed at upload: text/csv, video/mp4, …), or text of one type (a calendar, a CSV report).
 */
function rawContent(spec: ResponseSpec): Json {
  if (spec.mediaTypes) return Object.fromEntries(spec.mediaTypes.map((t) => [t, bytesOf(t)]));
  return { [spec.mediaType!]: { schema: { type: 'string', contentMediaType: spec.mediaType } } };
}

/**
 * A JSON request body. Any application/*+json type is parsed as JSON; PATCH bodies are merge patches (RFC 7396:
 * a field set to null clears it), so they are also declared as application/merge-patch+json.
 */
function jsonBody(op: OperationSpec, schema: Json): Json {
  const content: Json = { 'application/json': { schema } };
  if (op.method === 'patch') content['application/merge-patch+json'] = { schema };
  return { required: true, content };
}

/** Request headers of the tus 1.0 protocol (resumable uploads). */
const TUS_PARAMETERS: Json = {
  TusResumable: {
    name: 'Tus-Resumable',
    in: 'header',
    required: true,
    description: 'The tus protocol version: 1.0.0.',
    schema: { type: 'string', const: '1.0.0' },
  },
  UploadLength: {
    name: 'Upload-Length',
    in: 'header',
    required: true,
    description: 'The size of the whole file in bytes.',
    schema: { type: 'string', pattern: '^[0-9]+$' },
  },
  UploadMetadata: {
    name: 'Upload-Metadata',
    in: 'header',
    required: true,
    description:
      'Comma-separated `key base64(value)` pairs: name, sensitivity, legalBasis, description, sha256 (and filename, filetype).',
    schema: { type: 'string' },
  },
  UploadOffset: {
    name: 'Upload-Offset',
    in: 'header',
    required: true,
    description: 'The offset this chunk starts at; must equal the offset the server holds.',
    schema: { type: 'string', pattern: '^[0-9]+$' },
  },
};

/** Response headers of the tus 1.0 protocol, and the committed dataset version of a finished upload. */
const TUS_HEADERS: Json = {
  'Tus-Resumable': { description: 'The tus protocol version: 1.0.0.', schema: { type: 'string' } },
  'Upload-Offset': { description: 'How many bytes of the upload the server holds.', schema: { type: 'string' } },
  'Upload-Length': { description: 'The size of the whole file in bytes.', schema: { type: 'string' } },
  'Upload-Expires': {
    description: 'When an unfinished upload expires and its bytes are removed (RFC 9110 date).',
    schema: { type: 'string' },
  },
  'Dataset-Id': {
    description: 'The dataset version committed from the finished upload.',
    schema: { type: 'string', format: 'uuid' },
  },
};

export function buildOpenApi(operations: OperationSpec[], schemas: JsonSchema[], version: string): Json {
  const nameOf = (file: string) => schemaName(schemas, file);
  const ref = (file: string) => ({ $ref: `#/components/schemas/${nameOf(file)}` });
  const components: Json = {};
  for (const s of schemas) components[nameOf(s.$id!)] = toComponent(s, nameOf);

  const paths: Record<string, Json> = {};
  for (const op of operations) {
    const parameters: Json[] = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string', format: 'uuid' },
    }));
    if (op.query) {
      const q = schemas.find((s) => s.$id === op.query) as Json;
      const required = new Set((q.required as string[] | undefined) ?? []);
      for (const [name, prop] of Object.entries((q.properties as Json) ?? {})) {
        const p = prop as Json;
        parameters.push({
          name,
          in: 'query',
          required: required.has(name),
          ...(typeof p.description === 'string' ? { description: p.description } : {}),
          schema: toComponent(p, nameOf),
          ...(p.type === 'array' ? { style: 'form', explode: true } : {}),
        });
      }
    }
    // Operations that answer in the caller's language say so with Content-Language; they read Accept-Language.
    if (op.success.headers?.includes('Content-Language'))
      parameters.push({ $ref: '#/components/parameters/AcceptLanguage' });

    for (const h of op.headerParams ?? []) parameters.push({ $ref: `#/components/parameters/${h}` });
    if (op.idempotent) parameters.push({ $ref: '#/components/parameters/IdempotencyKey' });
    if (op.ifMatch) parameters.push({ $ref: '#/components/parameters/IfMatch' });
    if (op.ifNoneMatch) parameters.push({ $ref: '#/components/parameters/IfNoneMatch' });

    const success: Json = { description: op.success.description };
    if (op.success.schema) success.content = { 'application/json': { schema: ref(op.success.schema) } };
    // A media type beside a schema is an alternative representation (CSV of a JSON report); alone it is the only one.
    if (op.success.mediaType || op.success.mediaTypes)
      success.content = { ...((success.content as Json | undefined) ?? {}), ...rawContent(op.success) };
    const headers: Json = {};
    for (const h of op.success.headers ?? []) headers[h] = { $ref: `#/components/headers/${h}` };
    if (Object.keys(headers).length) success.headers = headers;

    const responses: Json = { [String(op.success.status)]: success };
    for (const other of op.otherResponses ?? []) {
      const r: Json = { description: other.description };
      if (other.mediaType || other.mediaTypes) r.content = rawContent(other);
      if (other.schema) r.content = { 'application/json': { schema: ref(other.schema) } };
      const h: Json = {};
      for (const name of other.headers ?? []) h[name] = { $ref: `#/components/headers/${name}` };
      if (Object.keys(h).length) r.headers = h;
      responses[String(other.status)] = r;
    }
    for (const status of errorStatuses(op)) {
      responses[String(status)] = {
        description: STATUS_TEXT[status] ?? 'Error.',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      };
    }
    const operation: Json = {
      operationId: op.operationId,
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: [op.tag],
      security: op.auth === 'public' ? [] : [{ bearerAuth: [] }],
      ...(op.auth !== 'public' && op.auth !== 'user' ? { 'x-required-scope': op.auth } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(op.body ? { requestBody: jsonBody(op, ref(op.body)) } : {}),
      ...(op.multipart ? { requestBody: multipartBody(op.multipart, schemas, nameOf) } : {}),
      ...(op.rawBody
        ? {
            requestBody: {
              required: true,
              description: op.rawBody.description,
              content: {
                [op.rawBody.mediaType]: { schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
              },
            },
          }
        : {}),
      responses,
    };
    (paths[op.path] ??= {})[op.method] = operation;
  }

  const webhooks = webhookSection(schemas);
  const tags = [...new Set(operations.map((o) => o.tag))].map((name) => ({
    name,
    description: TAG_TEXT[name] ?? name,
  }));

  const doc: Json = {
    openapi: '3.1.0',
    info: {
      title: 'AX Testbed Registry API',
      version,
      summary: "Pilots, testbeds, slots and matching for Gwangju's AX demonstration valley (광주 AX 실증밸리).",
      description: [
        'Startups register pilot projects in the five domains, operators and partners publish testbeds and slots.',
        '',
        'Conventions: JSON bodies in camelCase; ids are UUIDs; timestamps are RFC 3339 in UTC and ranges are',
        'half-open `[start, end)`. Errors are `application/problem+json` (RFC 9457) with a stable `code`.',
        'Lists take `limit` (1–200, default 50) and an opaque `cursor`, and answer `{data, nextCursor}`.',
        'Creating POSTs accept `Idempotency-Key`; PATCH requires `If-Match` with the ETag from a GET.',
        '',
        'Problem codes: ' +
          Object.keys(PROBLEM_CODES)
            .map((c) => `\`${c}\``)
            .join(', ') +
          '.',
      ].join('\n'),
      contact: { name: 'Gwangju AX Programme Office', email: 'ax-registry@gwangju.go.kr' },
      license: { name: 'Apache 2.0', identifier: 'Apache-2.0' },
    },
    // Relative: the API is served from the same origin as this document, wherever it is deployed (a fixed
    // localhost URL would be wrong everywhere but a laptop, and Redocly's no-server-example.com flags it).
    servers: [{ url: '/', description: 'This server' }],
    tags,
    paths,
    webhooks,
    components: {
      schemas: components,
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'A login session token (axs_…) from /v1/auth/login, or an API key (axk_…) from /v1/api-keys.',
        },
      },
      parameters: {
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description: 'Repeat a creating request safely: the same key and body replay the first response for 24 h.',
          schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]{1,255}$' },
        },
        AcceptLanguage: {
          name: 'Accept-Language',
          in: 'header',
          required: false,
          description: 'ko for Korean, anything else English; the answer says which in Content-Language.',
          schema: { type: 'string', examples: ['ko', 'en', 'ko-KR,ko;q=0.9,en;q=0.8'] },
        },

        ...TUS_PARAMETERS,
        IfMatch: {
          name: 'If-Match',
          in: 'header',
          required: true,
          description: 'The ETag from your last GET of this resource.',
          schema: { type: 'string' },
        },
        IfNoneMatch: {
          name: 'If-None-Match',
          in: 'header',
          required: false,
          description: 'ETags of copies you hold (or *): when one is current the answer is 304 with no body.',
          schema: { type: 'string' },
        },
      },
      headers: {
        ETag: { description: 'Entity tag of the returned resource version.', schema: { type: 'string' } },
        Location: { description: 'URL of the created resource.', schema: { type: 'string' } },
        'Content-Range': { description: 'The byte range sent (RFC 9110).', schema: { type: 'string' } },
        'Content-Disposition': {
          description: 'attachment, with the file name per RFC 6266/5987.',
          schema: { type: 'string' },
        },
        'Repr-Digest': {
          description:
            'SHA-256 of the whole file (RFC 9530), also on partial answers: check a reassembled download against it.',
          schema: { type: 'string', examples: ['sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:'] },
        },
        'Accept-Ranges': { description: 'bytes: Range requests are honoured.', schema: { type: 'string' } },
        'Content-Language': {
          description: 'The language of human-readable text in the body (ko or en, from Accept-Language).',
          schema: { type: 'string' },
        },
        Link: {
          description: 'RFC 8288 links; rel="next" names the next page of a CSV report.',
          schema: { type: 'string' },
        },
        ...TUS_HEADERS,
      },
    },
  };
  const { schemas: all, ...rest } = doc.components as Json;
  doc.components = { schemas: reachableSchemas(all as Json, { ...doc, components: rest }), ...rest };
  return doc;
}

/**
 * The OpenAPI 3.1 `webhooks` section: one entry per event type, its payload from schemas/event-<type>.json, and
 * the Standard Webhooks headers every delivery carries.
 */
function webhookSection(schemas: JsonSchema[]): Json {
  const out: Json = {};
  const header = (description: string) => ({ in: 'header', required: true, description, schema: { type: 'string' } });
  for (const s of schemas) {
    const m = /^event-(.+)\.json$/.exec(s.$id ?? '');
    if (!m || !m[1]!.includes('.')) continue;
    const type = m[1]!;
    out[type] = {
      post: {
        operationId: `webhook-${type.replace(/[._]/g, '-')}`,
        summary: `${type}`,
        description: typeof s.description === 'string' ? s.description : type,
        tags: ['Webhooks'],
        security: [],
        parameters: [
          { name: 'webhook-id', ...header('The event id; the same on every attempt, so de-duplicate by it.') },
          { name: 'webhook-timestamp', ...header('Seconds since the Unix epoch when this attempt was signed.') },
          {
            name: 'webhook-signature',
            ...header('Space-separated v1,<base64 HMAC-SHA256 of "id.timestamp.body"> (two during a secret rotation).'),
          },
        ],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaName(schemas, s.$id!)}` } } },
        },
        responses: {
          '200': { description: 'Any 2xx acknowledges the event. Anything else, or no answer in time, is retried.' },
          '410': { description: 'Gone: the endpoint is disabled at once.' },
        },
      },
    };
  }
  return out;
}

const TAG_TEXT: Record<string, string> = {
  Service: 'Where to start: links to the docs, the OpenAPI document and the console.',
  Auth: 'Sign-up, login and the current user.',
  'API keys': 'Scoped, revocable keys for scripts and CI.',
  Catalogue: 'Domains and the capability vocabulary.',
  Pilots: 'Pilot projects and their status lifecycle.',
  Testbeds: 'Testbeds published by operators and partners.',
  Slots: 'Bookable time on a testbed, with capacity in units.',
  Webhooks: 'Signed event delivery to your endpoints (Standard Webhooks), the delivery log, and the event feed.',
  Datasets: 'Streaming dataset uploads with integrity checks, profiles, versions and audited access.',
  Matching: 'Ranked candidates with explanations, match requests and proposals, and optimal allocation runs.',
  Bookings: 'Capacity-safe bookings, their cancellation, and testbed calendars (iCalendar, secret feed URLs).',
  Operations: 'Liveness, readiness and Prometheus metrics for load balancers and monitoring.',
  Reports: 'Utilisation and pilot pipeline reports for operators, as JSON or CSV.',
};
