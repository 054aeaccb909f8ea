/**
 * Writes the OpenAPI document of the application to openapi.json and the
 * TypeScript client generated from it to test/generated/api-client/; with
 * `--check`, fails when either differs from what the application generates
 * (CI: the committed files are stale).
 *
 *   npm run openapi:write
 *   npm run openapi:check
 *
 * The application is created in preview mode: modules are scanned, nothing is
 * connected (no database), so this runs anywhere.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { AppModule } from '../src/app.module';
import { loadAppConfig } from '../src/config/app-config';
import { createOpenApiDocument, serializeOpenApiDocument } from '../src/openapi/openapi';

const ROOT = resolve(__dirname, '..');
const OPENAPI_FILE = join(ROOT, 'openapi.json');
const CLIENT_DIR = join(ROOT, 'test', 'generated', 'api-client');

/** openapi.json, as the application generates it. */
async function generateDocument(workDir: string): Promise<string> {
  const config = loadAppConfig({
    NODE_ENV: 'test',
    JWT_SECRET: 'openapi-document-only-never-used-for-tokens',
    DATABASE_PATH: join(workDir, 'unused-db'),
    LOG_LEVEL: 'silent',
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), new FastifyAdapter(), {
    preview: true,
    logger: false,
    abortOnError: false,
  });
  try {
    return serializeOpenApiDocument(createOpenApiDocument(app));
  } finally {
    await app.close();
  }
}

/** The generated client's files (path relative to CLIENT_DIR → content), formatted with the repository's Prettier config. */
async function generateClient(openApiJson: string, workDir: string): Promise<Map<string, string>> {
  const input = join(workDir, 'openapi.json');
  const output = join(workDir, 'api-client');
  writeFileSync(input, openApiJson);
  const { createClient } = await import('@hey-api/openapi-ts');
  await createClient({
    input,
    output: { path: output, tsConfigPath: join(ROOT, 'tsconfig.json') },
    plugins: ['@hey-api/client-fetch', '@hey-api/typescript', '@hey-api/sdk'],
    logs: { level: 'silent', file: false },
  });
  const files = new Map<string, string>();
  for (const [path, content] of readTree(output)) {
    const target = join(CLIENT_DIR, path);
    const options = await resolveConfig(target);
    files.set(path, await format(content, { ...options, filepath: target }));
  }
  return files;
}

function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  if (!existsSync(dir)) return files;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path), readFileSync(path, 'utf8'));
  }
  return files;
}

function staleFiles(generated: Map<string, string>, committed: Map<string, string>): string[] {
  const paths = new Set([...generated.keys(), ...committed.keys()]);
  return [...paths].filter((path) => generated.get(path) !== committed.get(path)).sort();
}

async function main(): Promise<number> {
  const check = process.argv.includes('--check');
  const workDir = mkdtempSync(join(tmpdir(), 'openapi-'));
  try {
    const document = await generateDocument(workDir);
    const client = await generateClient(document, workDir);

    if (!check) {
      writeFileSync(OPENAPI_FILE, document);
      rmSync(CLIENT_DIR, { recursive: true, force: true });
      for (const [path, content] of client) {
        mkdirSync(dirname(join(CLIENT_DIR, path)), { recursive: true });
        writeFileSync(join(CLIENT_DIR, path), content);
      }
      process.stdout.write(`wrote ${relative(ROOT, OPENAPI_FILE)} and ${relative(ROOT, CLIENT_DIR)}/\n`);
      return 0;
    }

    const committedDocument = existsSync(OPENAPI_FILE) ? readFileSync(OPENAPI_FILE, 'utf8') : undefined;
    const stale = [
      ...(committedDocument === document ? [] : [relative(ROOT, OPENAPI_FILE)]),
      ...staleFiles(client, readTree(CLIENT_DIR)).map((path) => relative(ROOT, join(CLIENT_DIR, path))),
    ];
    if (stale.length === 0) {
      process.stdout.write('openapi.json and the generated client are up to date\n');
      return 0;
    }
    process.stderr.write(
      [
        'These files differ from what the application generates; run `npm run openapi:write` and commit them:',
        ...stale.map((path) => `  ${path}`),
        '',
      ].join('\n'),
    );
    return 1;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
