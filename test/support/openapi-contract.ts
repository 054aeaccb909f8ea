import Ajv2020, { ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Contract validation: every response an end-to-end test receives through
 * `request()` is checked against openapi.json (the committed document, which
 * test/e2e/openapi.e2e-spec.ts proves identical to what the app serves).
 *
 * - The route (path template + method) must be documented, and the status must
 *   be one of its responses. Requests to paths or methods the document does not
 *   have must be answered with a problem+json 404/405.
 * - A response documented without content must have an empty body; otherwise the
 *   media type must be documented and the body must match its schema.
 * - Objects may not carry fields the schema does not name (checked here, not
 *   promised in the published document, so that clients stay forward-compatible).
 *
 * OPENAPI_CONTRACT=off turns it off (e.g. while changing the document).
 */

type Json = unknown;
interface MediaTypeObject {
  schema?: Json;
}
interface ResponseObject {
  content?: Record<string, MediaTypeObject>;
}
interface OperationObject {
  responses: Record<string, ResponseObject>;
}
type PathItem = Partial<Record<string, OperationObject>>;
interface OpenApiDocument {
  paths: Record<string, PathItem>;
  components?: { schemas?: Record<string, Json> };
}

export const OPENAPI_FILE = resolve(__dirname, '..', '..', 'openapi.json');

/** Paths served next to the API that the document does not describe: the docs themselves. */
const EXEMPT_PATHS = [/^\/api\/docs(?:[-/].*)?$/];
const PROBLEM_SCHEMA_REF = '#/components/schemas/ProblemDetails';

/** On unless OPENAPI_CONTRACT=off. */
export function contractValidationEnabled(): boolean {
  return process.env.OPENAPI_CONTRACT !== 'off';
}

export interface ContractResponse {
  status: number;
  headers: Headers;
  text: string;
}

export class ContractViolation extends Error {
  constructor(method: string, url: string, response: ContractResponse, problems: string[]) {
    super(
      [
        `${method} ${url} → ${response.status}: the response does not match openapi.json`,
        ...problems.map((problem) => `  - ${problem}`),
        `  content-type: ${response.headers.get('content-type') ?? '(none)'}`,
        `  body: ${response.text.slice(0, 500) || '(empty)'}`,
      ].join('\n'),
    );
    this.name = 'ContractViolation';
  }
}

interface Route {
  template: string;
  pattern: RegExp;
  literalLength: number;
}

class OpenApiContract {
  private readonly ajv: Ajv2020;
  private readonly routes: Route[];
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(private readonly document: OpenApiDocument) {
    this.ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false });
    addFormats(this.ajv);
    // OpenAPI's own annotation keywords inside schemas.
    this.ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
    // The component schemas, registered once: `#/components/schemas/X` is `components.json#/$defs/X`.
    this.ajv.addSchema({ $id: COMPONENTS_ID, $defs: toAjvRefs(closeObjects(document.components?.schemas ?? {})) });
    this.routes = Object.keys(document.paths).map((template) => ({
      template,
      // Every route answers with and without its trailing slash.
      pattern: new RegExp(
        `^${template
          .replace(/\/$/, '')
          .split(/(\{[^}]+\})/)
          .map((part) => (part.startsWith('{') ? '[^/]+' : escapeRegExp(part)))
          .join('')}/?$`,
      ),
      literalLength: template.replace(/\{[^}]+\}/g, '').length,
    }));
  }

  /** The problems of one response; empty when it matches the document. */
  check(method: string, url: string, response: ContractResponse): string[] {
    const path = new URL(url, 'http://contract.invalid').pathname;
    if (EXEMPT_PATHS.some((exempt) => exempt.test(path))) return [];
    const verb = method.toLowerCase();
    if (verb === 'options') return []; // CORS preflights: answered by the CORS plugin, not API operations.

    const route = this.routes
      .filter(({ pattern }) => pattern.test(path))
      .sort((a, b) => b.literalLength - a.literalLength)[0];
    const operation = route ? this.document.paths[route.template]?.[verb === 'head' ? 'get' : verb] : undefined;
    if (!route || !operation) {
      // Not an operation of the document: only a problem+json 404 or 405 is acceptable.
      if (response.status !== 404 && response.status !== 405) {
        return [`${route ? `${verb.toUpperCase()} ${route.template}` : path} is not in the document`];
      }
      return this.checkContent(response, { 'application/problem+json': { schema: { $ref: PROBLEM_SCHEMA_REF } } }, [
        'unknown route',
      ]);
    }

    const documented = operation.responses[String(response.status)] ?? operation.responses.default;
    const name = `${verb.toUpperCase()} ${route.template}`;
    if (!documented) {
      return [
        `status ${response.status} is not documented for ${name} (documented: ${Object.keys(operation.responses).join(', ')})`,
      ];
    }
    if (verb === 'head') return response.text === '' ? [] : ['a HEAD response has a body'];
    return this.checkContent(response, documented.content, [route.template, verb, String(response.status)]);
  }

  private checkContent(
    response: ContractResponse,
    content: Record<string, MediaTypeObject> | undefined,
    key: string[],
  ): string[] {
    const mediaTypes = Object.keys(content ?? {});
    if (!content || mediaTypes.length === 0) {
      return response.text === '' ? [] : ['the status is documented without a body, but the response has one'];
    }
    const contentType = response.headers.get('content-type');
    const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
    if (!mediaType || !content[mediaType]) {
      return [`content type ${contentType ?? '(none)'} is not documented (documented: ${mediaTypes.join(', ')})`];
    }
    const schema = content[mediaType].schema;
    if (schema === undefined) return [];
    if (mediaType === 'application/x-ndjson') return this.checkLines(response.text, schema, [...key, mediaType]);
    if (!/^application\/(?:.+\+)?json$/.test(mediaType)) return [`cannot validate a ${mediaType} body`];
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch {
      return [`the body is not JSON although the content type is ${mediaType}`];
    }
    const validate = this.validator([...key, mediaType].join(' '), schema);
    if (validate(body)) return [];
    return (validate.errors ?? []).map(
      (error) => `body${error.instancePath} ${error.message ?? 'is invalid'} ${JSON.stringify(error.params)}`,
    );
  }

  /** NDJSON: the schema is each line's; every line must be JSON matching it, and end with a newline. */
  private checkLines(text: string, schema: Json, key: string[]): string[] {
    if (text === '') return [];
    if (!text.endsWith('\n')) return ['the NDJSON body does not end with a newline'];
    const validate = this.validator(key.join(' '), schema);
    const lines = text.slice(0, -1).split('\n');
    for (const [index, line] of lines.entries()) {
      let item: unknown;
      try {
        item = JSON.parse(line);
      } catch {
        return [`line ${index + 1} is not JSON`];
      }
      if (!validate(item)) {
        return (validate.errors ?? []).map(
          (error) =>
            `line ${index + 1}${error.instancePath} ${error.message ?? 'is invalid'} ${JSON.stringify(error.params)}`,
        );
      }
    }
    return [];
  }

  private validator(key: string, schema: Json): ValidateFunction {
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(toAjvRefs(closeObjects(schema)) as object);
      this.validators.set(key, validate);
    }
    return validate;
  }
}

const COMPONENTS_ID = 'https://contract.invalid/components.json';
const SCHEMA_REF_PREFIX = '#/components/schemas/';

/** `#/components/schemas/X` → the registered component schema X. */
function toAjvRefs(node: Json): Json {
  if (Array.isArray(node)) return node.map(toAjvRefs);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) =>
      key === '$ref' && typeof value === 'string' && value.startsWith(SCHEMA_REF_PREFIX)
        ? [key, `${COMPONENTS_ID}#/$defs/${value.slice(SCHEMA_REF_PREFIX.length)}`]
        : [key, key === 'example' || key === 'examples' ? value : toAjvRefs(value)],
    ),
  );
}

/** Object schemas that name their properties and say nothing else about extra ones: no extra ones. */
function closeObjects(node: Json): Json {
  if (Array.isArray(node)) return node.map(closeObjects);
  if (node === null || typeof node !== 'object') return node;
  const schema = Object.fromEntries(
    Object.entries(node).map(([key, value]) => [
      key,
      key === 'example' || key === 'examples' ? value : closeObjects(value),
    ]),
  );
  if ('properties' in schema && !('additionalProperties' in schema) && !('unevaluatedProperties' in schema)) {
    schema.unevaluatedProperties = false;
  }
  return schema;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

let contract: OpenApiContract | undefined;

/** What is wrong with a response, measured against openapi.json; empty when nothing is. */
export function contractProblems(method: string, url: string, response: ContractResponse): string[] {
  contract ??= new OpenApiContract(JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as OpenApiDocument);
  return contract.check(method, url, response);
}

/** Throws a ContractViolation when the response does not match openapi.json (unless OPENAPI_CONTRACT=off). */
export function assertResponseMatchesContract(method: string, url: string, response: ContractResponse): void {
  if (!contractValidationEnabled()) return;
  const problems = contractProblems(method, url, response);
  if (problems.length > 0) throw new ContractViolation(method.toUpperCase(), url, response, problems);
}
