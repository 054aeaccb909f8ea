import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { request } from '../support/http';
import { OPENAPI_FILE } from '../support/openapi-contract';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

/**
 * Every documented example of every operation of openapi.json, sent as written
 * with a valid token, gets that operation's 2xx: request body examples (or, where
 * an operation has none, the body Swagger UI builds from its schema's examples),
 * and each parameter example (path parameters with their examples, query
 * parameters one at a time). The data an example names (its users, the
 * association a delete removes) is arranged first, on an empty database.
 */

interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  example?: unknown;
  default?: unknown;
}
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: Schema;
  example?: unknown;
  examples?: Record<string, { value: unknown }>;
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema?: Schema; examples?: Record<string, { value: unknown }> }> };
  responses: Record<string, unknown>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

const document = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as Document;

const resolve = (schema: Schema | undefined): Schema | undefined =>
  schema?.$ref ? document.components.schemas[schema.$ref.replace('#/components/schemas/', '')] : schema;

/** The body Swagger UI pre-fills from a schema: each property's example (or default). */
function bodyFromSchema(schema: Schema | undefined): Record<string, unknown> {
  const resolved = resolve(schema);
  return Object.fromEntries(
    Object.entries(resolved?.properties ?? {})
      .map(([name, property]): [string, unknown] => [name, property.example ?? property.default])
      .filter(([, value]) => value !== undefined),
  );
}

/** Examples of one parameter, by name. */
function parameterExamples(parameter: Parameter): [string, unknown][] {
  const fromSchema = parameter.schema?.example;
  return [
    ...(parameter.example !== undefined ? [['example', parameter.example] as [string, unknown]] : []),
    ...(fromSchema !== undefined ? [['schema example', fromSchema] as [string, unknown]] : []),
    ...Object.entries(parameter.examples ?? {}).map(([name, { value }]): [string, unknown] => [name, value]),
  ];
}

interface ExampleRequest {
  name: string;
  method: string;
  path: string;
  query: Record<string, unknown>;
  body?: Record<string, unknown>;
  success: number;
}

function exampleRequests(): ExampleRequest[] {
  return Object.entries(document.paths).flatMap(([template, item]) =>
    Object.entries(item).flatMap(([method, operation]) => {
      const success = Object.keys(operation.responses)
        .map(Number)
        .find((status) => status >= 200 && status < 300);
      if (success === undefined) throw new Error(`${operation.operationId} documents no 2xx`);
      const parameters = operation.parameters ?? [];
      let path = template;
      for (const parameter of parameters.filter((p) => p.in === 'path')) {
        const [example] = parameterExamples(parameter);
        if (!example) throw new Error(`${operation.operationId}: path parameter ${parameter.name} has no example`);
        path = path.replace(`{${parameter.name}}`, encodeURIComponent(String(example[1])));
      }
      const base = { method: method.toUpperCase(), path, query: {}, success };
      const json = operation.requestBody?.content['application/json'];
      const bodies: [string, Record<string, unknown> | undefined][] = json?.examples
        ? Object.entries(json.examples).map(([name, { value }]) => [
            `body example ${name}`,
            value as Record<string, unknown>,
          ])
        : json
          ? [['body from the schema examples', bodyFromSchema(json.schema)]]
          : [['as is', undefined]];
      const queries = parameters
        .filter((parameter) => parameter.in === 'query')
        .flatMap((parameter) =>
          parameterExamples(parameter).map(([name, value]): ExampleRequest => ({
            ...base,
            name: `${operation.operationId}, query ${parameter.name} ${name}`,
            query: { [parameter.name]: value },
            body: bodies[0]?.[1],
          })),
        );
      return [
        ...bodies.map(([name, body]): ExampleRequest => ({ ...base, name: `${operation.operationId}, ${name}`, body })),
        ...queries,
      ];
    }),
  );
}

/** Every user id an example names (path ids, `user_id` in bodies and queries). */
function userIds(example: ExampleRequest): number[] {
  const ids = [
    ...(example.path.match(/\/user\/(\d+)\//)?.slice(1) ?? []),
    example.body?.user_id,
    example.query.user_id,
  ];
  return ids.map(Number).filter((id) => Number.isInteger(id) && id > 0);
}

describe('OpenAPI examples: every documented request example gets its 2xx', () => {
  // Each example empties the tables itself, just before it arranges the ids it names.
  // The create example's host does not resolve here: with private networks allowed, registration does not look it up.
  const t = useTestApp({ WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true' }, { reset: false });
  const f = t.f;

  const examples = exampleRequests();

  it('finds the examples of every operation, the body examples of the create and delete routes among them', () => {
    const operations = Object.values(document.paths).flatMap((item) => Object.values(item));
    const named = new Set(examples.map(({ name }) => name.split(',')[0]));
    expect([...named].sort()).toEqual(operations.map(({ operationId }) => operationId).sort());
    expect(examples.filter(({ name }) => name.includes('body example')).length).toBeGreaterThanOrEqual(8);
  });

  it.each(examples.map((example) => [example.name, example] as const))('%s', async (_name, example) => {
    await t.reset();
    // Ids restart at 1 after a reset: the admin who sends the requests is user 1, and
    // every user an example names exists (as a plain user when it is not 1).
    const admin = await f.makeAdmin();
    const highest = Math.max(admin.id, ...userIds(example));
    for (let id = admin.id + 1; id <= highest; id++) await f.makeUser();
    // A delete removes an association the example names, of the path's user.
    const target = example.body ?? example.query;
    const pathUser = Number(example.path.match(/\/user\/(\d+)\//)?.[1]);
    if (example.method === 'DELETE' && target.provider !== undefined && target.ext_id !== undefined) {
      await f.link(pathUser, { provider: target.provider as string, ext_id: `${target.ext_id as string | number}` });
    }

    // A route of one webhook endpoint (`/webhooks/1/...`) finds endpoint 1.
    if (/^\/api\/v2\/webhooks\/\d+\//.test(example.path)) {
      await t.dataSource.query(
        "INSERT INTO webhook_endpoints (url, secret) VALUES ('https://hooks.example.com/x', 'whsec_AAAA')",
      );
    }

    const query = new URLSearchParams(
      Object.entries(example.query).map(([key, value]): [string, string] => [key, String(value)]),
    );
    const path = `${example.path}${query.size > 0 ? `?${query.toString()}` : ''}`;
    const response = await request(t.baseUrl, example.method, path, { token: tokenFor(admin.id), body: example.body });
    expect(response.status, `${example.method} ${path} ${JSON.stringify(example.body)} → ${response.text}`).toBe(
      example.success,
    );
  });
});
