/**
 * Checks a real response against the OpenAPI document the app serves: the status is declared for the
 * operation, the Content-Type is one of the declared media types, a JSON body validates against the declared
 * schema (Ajv 2020-12, the document's own components), and the declared response headers that were promised
 * are there. Returns the violations, so a test can show all of them at once.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

type Json = Record<string, unknown>;

export interface SeenResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
}

const escape = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

export class OpenApiConformance {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });

  constructor(readonly doc: Json) {
    (addFormats as unknown as (a: Ajv2020) => void)(this.ajv);
    this.ajv.addSchema(doc, 'doc');
  }

  operation(method: string, path: string): Json | undefined {
    return ((this.doc.paths as Record<string, Json>)[path]?.[method.toLowerCase()] as Json | undefined) ?? undefined;
  }

  /** Media types a request body of this operation may be sent as. */
  requestMediaTypes(method: string, path: string): string[] {
    const body = this.operation(method, path)?.requestBody as Json | undefined;
    return Object.keys((body?.content as Json | undefined) ?? {});
  }

  check(method: string, path: string, res: SeenResponse, requiredHeaders: string[] = []): string[] {
    const where = `${method.toUpperCase()} ${path} → ${res.status}`;
    const op = this.operation(method, path);
    if (!op) return [`${method.toUpperCase()} ${path} is not in the document`];
    const responses = op.responses as Record<string, Json>;
    const key = String(res.status) in responses ? String(res.status) : 'default' in responses ? 'default' : undefined;
    if (!key) return [`${where}: status not declared (declared: ${Object.keys(responses).join(', ')})`];
    const declared = responses[key]!;
    const out: string[] = [];
    const content = declared.content as Record<string, Json> | undefined;
    const rawType = res.headers['content-type'];
    const mediaType = typeof rawType === 'string' ? rawType.split(';')[0]!.trim().toLowerCase() : undefined;
    if (mediaType && res.status !== 304) {
      if (!content) out.push(`${where}: sent ${mediaType} but the document declares no body`);
      else if (!(mediaType in content))
        out.push(`${where}: sent ${mediaType}, document declares ${Object.keys(content).join(', ')}`);
      else if (/json$/.test(mediaType) && res.body !== undefined) {
        const pointer = `doc#/paths/${escape(path)}/${method.toLowerCase()}/responses/${key}/content/${escape(mediaType)}/schema`;
        const validate = this.ajv.getSchema(pointer);
        if (!validate) out.push(`${where}: no schema at ${pointer}`);
        else if (!validate(res.body)) {
          out.push(...(validate.errors ?? []).map((e) => `${where}: body${e.instancePath} ${e.message ?? ''}`));
        }
      }
    } else if (content && res.status !== 204 && res.status !== 304) {
      out.push(`${where}: the document declares a body but no Content-Type was sent`);
    }
    const headers = Object.keys((declared.headers as Json | undefined) ?? {});
    for (const h of requiredHeaders) {
      if (!headers.includes(h)) out.push(`${where}: header ${h} is not declared`);
      if (res.headers[h.toLowerCase()] === undefined) out.push(`${where}: header ${h} was not sent`);
    }
    return out;
  }
}
