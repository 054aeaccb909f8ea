import { assertResponseMatchesContract } from './openapi-contract';

export interface TestResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON when the response is JSON, the raw text otherwise ('' when empty). */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
  text: string;
  /** The path as requested (with its query string): a problem's `instance` is this without the query. */
  path: string;
}

export interface RequestOptions {
  token?: string;
  /** A value to JSON-encode, or a raw string (or bytes) sent as is. */
  body?: unknown;
  rawBody?: string | Uint8Array;
  headers?: Record<string, string>;
}

/** A real HTTP request to the test app. */
export async function request(
  baseUrl: string,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<TestResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | Uint8Array | undefined;
  if (options.rawBody !== undefined) {
    body = options.rawBody;
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
  // Every response must be one that openapi.json describes (test/support/openapi-contract.ts).
  assertResponseMatchesContract(method, path, { status: response.status, headers: response.headers, text });
  // application/json and application/problem+json; not application/x-ndjson (its text is asserted line by line).
  const isJson = /^application\/(?:[\w.-]+\+)?json(?:;|$)/.test(response.headers.get('content-type') ?? '');
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: isJson && text ? JSON.parse(text) : text,
    path: new URL(response.url).pathname + new URL(response.url).search,
  };
}
