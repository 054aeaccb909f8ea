import helmet from '@fastify/helmet';
import type { FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
 * Security headers on every response (errors included): helmet's defaults
 * (nosniff, HSTS, frame options, no referrer, COOP/CORP, ...), and a
 * Content-Security-Policy chosen by path, because helmet's single policy cannot
 * suit both a JSON API and the Swagger UI at DOCS_PATH.
 */
export function registerSecurityHeaders(fastify: FastifyInstance): void {
  void fastify.register(helmet, { contentSecurityPolicy: false });
  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    void reply.header('content-security-policy', request.url.startsWith(DOCS_PATH) ? DOCS_CSP : API_CSP);
  });
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
