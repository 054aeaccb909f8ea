import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { DOCS_PATH } from '../common/http/security-headers';
import { BEARER_SCHEME, problemExamples, RESPONSE_HEADERS, withResponseHeaders } from './api-responses';

/** Interactive documentation (Swagger UI): DOCS_PATH, whose Content-Security-Policy suits it. */
export const OPENAPI_UI_PATH = DOCS_PATH.replace(/^\//, '');
/** The document itself; identical to openapi.json in the repository (under DOCS_PATH too). */
export const OPENAPI_JSON_PATH = `${OPENAPI_UI_PATH}-json`;

export const OPENAPI_TAGS = {
  socialAssociations: 'social-associations',
  users: 'users',
  audit: 'audit',
  webhooks: 'webhooks',
  health: 'health',
} as const;

const DESCRIPTION = `
Links, lists and unlinks the external sign-in identities ("social associations") of a community user.
A standalone implementation of the social-association part of the SelfCommunity API v2: clients written
for that API, including \`@selfcommunity/api-services\`, work unchanged.

- Every route answers with and without its trailing slash.
- Path ids are positive integers that fit a signed 32-bit column; anything else is a 400.
- Authentication: \`Authorization: Bearer <JWT>\`, verified one of two ways, chosen by the deployment: SelfCommunity's
  access tokens signed with a shared secret (HS256, the default), or an identity provider's tokens (Keycloak, Azure AD,
  Auth0; RS256 or ES256) verified against its JWKS (\`JWKS_URI\`, with a required issuer and audience). Either way the
  token names a user of this service, whose role is read from the database, never from the token.
- Every error is \`application/problem+json\` (RFC 9457) with SelfCommunity's \`errors\` array and a \`request_id\`.
`.trim();

/**
 * The OpenAPI 3.1 document of the application. Independent of configuration, so
 * the document served at /api/docs-json and the committed openapi.json are the same.
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('Social associations API')
    .setDescription(DESCRIPTION)
    .setVersion('2.0.0')
    // Relative: the document is served by the deployment it describes, at whatever origin that is.
    .addServer(
      '/',
      'This deployment (local, staging or production): the service that serves this document',
      undefined,
      {
        'x-internal': false,
      },
    )
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: [
          'A JWT access token, checked as RFC8725 (JSON Web Token Best Current Practices) advises: one configured algorithm family, never `none`; `exp` and `iat` required, with a bounded lifetime; `iss`/`aud` checked when configured.',
          '- HS256 mode (default): a SelfCommunity access token signed with the shared secret, claims `user_id`, `token_type: "access"`, `jti`, `iat`, `exp`.',
          "- JWKS mode (`JWKS_URI` set): an identity provider's RS256/ES256 token verified against its JWKS, with the configured `iss` and `aud`; the user id is read from the configured claim (`user_id` by default).",
        ].join('\n'),
      },
      BEARER_SCHEME,
    )
    .addTag(OPENAPI_TAGS.socialAssociations, 'The external sign-in identities of a user ("User External Provider")')
    .addTag(OPENAPI_TAGS.users, 'Provisioning, so the service is usable without a shell')
    .addTag(OPENAPI_TAGS.audit, 'The audit trail of changes to social associations')
    .addTag(OPENAPI_TAGS.webhooks, 'Signed webhooks of identity changes: subscriptions and their deliveries')
    .addTag(OPENAPI_TAGS.health, 'Liveness and readiness probes')
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    // Handler names are the operation ids, and so the function names of generated clients.
    operationIdFactory: (_controllerKey, methodKey) => methodKey,
  });
  document.components = { ...document.components, examples: problemExamples(), headers: RESPONSE_HEADERS };
  // package.json's `license`: no SPDX identifier names a proprietary licence.
  document.info.license = { name: 'UNLICENSED (proprietary)' };
  return withContractPaths(closeRequestBodies(withResponseHeaders(assertAccessDocumented(document))));
}

/**
 * Every operation states its security, which only the access decorators write
 * (@Public(), @OptionalAuth(), @Authenticated(), @SelfOrAdmin(), @AdminOnly()):
 * a route without one would be documented as open while JwtAuthGuard keeps it closed.
 */
function assertAccessDocumented(document: OpenAPIObject): OpenAPIObject {
  const undocumented = Object.entries(document.paths).flatMap(([path, item]) =>
    (['get', 'post', 'put', 'patch', 'delete'] as const)
      .filter((method) => item[method] && item[method].security === undefined)
      .map((method) => `${method.toUpperCase()} ${path}`),
  );
  if (undocumented.length > 0) {
    throw new Error(`These routes have no access decorator (e.g. @Authenticated()): ${undocumented.join(', ')}`);
  }
  return document;
}

/** Serves Swagger UI at /api/docs and the document at /api/docs-json. */
export function setupOpenApi(app: INestApplication): void {
  SwaggerModule.setup(OPENAPI_UI_PATH, app, () => createOpenApiDocument(app), {
    jsonDocumentUrl: OPENAPI_JSON_PATH,
    raw: ['json'],
    customSiteTitle: 'Social associations API',
    swaggerOptions: { persistAuthorization: true },
  });
}

/** The document as written to openapi.json: stable key order, two-space indent, final newline. */
export function serializeOpenApiDocument(document: OpenAPIObject): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

/**
 * The contract writes the SelfCommunity routes with their trailing slash
 * (`/api/v2/user/{id}/provider/`); Nest drops it. Both forms are served.
 */
function withContractPaths(document: OpenAPIObject): OpenAPIObject {
  const paths = Object.fromEntries(
    Object.entries(document.paths).map(([path, item]) => [
      path.startsWith('/api/v2/') && !path.endsWith('/') ? `${path}/` : path,
      item,
    ]),
  );
  return { ...document, paths };
}

/**
 * Request bodies are closed: the validation pipe answers 400 for unknown fields
 * (forbidNonWhitelisted), so their schemas say `additionalProperties: false`.
 */
function closeRequestBodies(document: OpenAPIObject): OpenAPIObject {
  const schemas = document.components?.schemas ?? {};
  for (const item of Object.values(document.paths)) {
    for (const operation of [item.get, item.post, item.put, item.patch, item.delete]) {
      const body = operation?.requestBody;
      if (!body || !('content' in body)) continue;
      for (const media of Object.values(body.content)) {
        const ref = media.schema && '$ref' in media.schema ? media.schema.$ref : undefined;
        const schema = ref ? schemas[ref.replace('#/components/schemas/', '')] : undefined;
        if (schema && !('$ref' in schema)) schema.additionalProperties = false;
      }
    }
  }
  return document;
}
