import type { FastifyCorsOptions } from '@fastify/cors';
import helmet from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpConfig } from '../../config/app-config';

/** Where the OpenAPI document and its Swagger UI are served (HTML, scripts, styles). */
export const DOCS_PATH = '/api/docs';

/** JSON only: nothing this API sends may load, run or frame anything. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * Swagger UI: its own scripts and styles (Nest's page has inline styles and data:
 * images), nothing from elsewhere. No upgrade-insecure-requests: it would break
 * the page when served over plain http in development.
 */
const DOCS_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "font-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "img-src 'self' data: https:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' 'unsafe-inline'",
].join('; ');

/**
 * helmet's default headers (nosniff, HSTS, frame options, no referrer, COOP/CORP, ...),
 * collected once by running its middleware against a recording response. Without a
 * Content-Security-Policy (chosen by path below) none of them depends on the request,
 * so running helmet's eleven middlewares on every request, as @fastify/helmet does,
 * would only repeat this work: it was ~5% of the CPU of a 401 in the benchmark.
 */
function helmetHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string) {
      headers[name.toLowerCase()] = value;
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  helmet({ contentSecurityPolicy: false })(
    {} as IncomingMessage,
    recorder as unknown as ServerResponse,
    (error?: unknown) => {
      if (error) throw error instanceof Error ? error : new Error('helmet failed', { cause: error });
    },
  );
  if (headers['x-content-type-options'] !== 'nosniff') throw new Error('helmet did not produce its default headers');
  return headers;
}

const HELMET_HEADERS = helmetHeaders();
const API_HEADERS = Object.freeze({ ...HELMET_HEADERS, 'content-security-policy': API_CSP });
const DOCS_HEADERS = Object.freeze({ ...HELMET_HEADERS, 'content-security-policy': DOCS_CSP });

/**
 * The security headers of every response (errors included), with the
 * Content-Security-Policy chosen by path: a single policy cannot suit both a JSON
 * API and the Swagger UI at DOCS_PATH.
 */
export function securityHeadersFor(url: string): Readonly<Record<string, string>> {
  return url.startsWith(DOCS_PATH) ? DOCS_HEADERS : API_HEADERS;
}

/**
 * CORS for the origins of CORS_ORIGINS (admin dashboards in the browser), exact
 * matches only. Bearer tokens travel in the Authorization header, never in cookies,
 * so credentials stay off. Other origins get no Access-Control-Allow-Origin, which
 * is how a browser learns it may not read the response (or send the preflighted request).
 */
export function corsOptions(http: HttpConfig): FastifyCorsOptions {
  return {
    origin: [...http.corsOrigins],
    methods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
    exposedHeaders: ['X-Request-Id', 'Retry-After', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'],
    credentials: false,
    maxAge: 600,
  };
}
