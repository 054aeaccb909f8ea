// The floor: the smallest, fastest hand-written server that does the work of the
// social-association routes with no framework. node:http, pg with named prepared
// statements, node:crypto for HS256. Same checks as the service: token
// verification (src/auth/access-token.ts), caller lookup, self-or-admin,
// validation, the rate-limit count, every write in one statement with its audit
// row, and the same response headers.
//
// Env: PORT (default 3901), HOST (127.0.0.1), DATABASE_URL, JWT_SECRET,
// DATABASE_POOL_SIZE (default 10, like the service), JWT_ISSUER, JWT_AUDIENCE.
import { createHmac, createSecretKey, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, STATUS_CODES } from 'node:http';
import pg from 'pg';

const PORT = Number(process.env.PORT ?? 3901);
const HOST = process.env.HOST ?? '127.0.0.1';
const SECRET = process.env.JWT_SECRET ?? '';
if (SECRET.length < 32) {
  process.stderr.write('floor: JWT_SECRET must be at least 32 characters\n');
  process.exit(1);
}
const ISSUER = process.env.JWT_ISSUER;
const AUDIENCE = process.env.JWT_AUDIENCE;
const CLOCK_SKEW = 30;
const BODY_LIMIT = 64 * 1024;
const MAX_ID = 2_147_483_647;
const MAX_TOKEN_LENGTH = 4096;
const MAX_METADATA_BYTES = 16 * 1024;
/** The service's default MAX_ASSOCIATIONS_PER_USER. */
const MAX_ASSOCIATIONS_PER_USER = 100;
const KEY = createSecretKey(Buffer.from(SECRET, 'utf8'));

// The headers the service sends with every response (helmet's defaults and its API
// Content-Security-Policy, see src/common/http/security-headers.ts): same bytes on
// the wire, so both servers pay the same to write them.
const SECURITY_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

// The service's rate limit (RATE_LIMIT_PER_MINUTE, default 600, per caller and minute,
// in memory without Redis): counted for every request that passed authentication,
// with the same X-RateLimit-* headers. A fixed window per caller: the cheapest
// counter that gives the same answers at the benchmark's rates.
const RATE_LIMIT = Number(process.env.RATE_LIMIT_PER_MINUTE ?? 600);
const RATE_WINDOW_MS = 60_000;
const rateWindows = new Map();

function countRequest(res, tracker) {
  if (RATE_LIMIT === 0) return;
  const now = Date.now();
  let window = rateWindows.get(tracker);
  if (window === undefined || window.resetAt <= now) {
    window = { hits: 0, resetAt: now + RATE_WINDOW_MS };
    rateWindows.set(tracker, window);
  }
  window.hits += 1;
  const resetSeconds = Math.ceil((window.resetAt - now) / 1000);
  if (window.hits > RATE_LIMIT) {
    res.retryAfter = resetSeconds;
    throw new HttpError(429, `Too many requests; retry in ${resetSeconds} seconds`, 'throttled');
  }
  res.rateHeaders = {
    'x-ratelimit-limit': RATE_LIMIT,
    'x-ratelimit-remaining': RATE_LIMIT - window.hits,
    'x-ratelimit-reset': resetSeconds,
  };
}
// Expired windows go once a minute, like the service's sweep.
setInterval(() => {
  const now = Date.now();
  for (const [tracker, window] of rateWindows) if (window.resetAt <= now) rateWindows.delete(tracker);
}, RATE_WINDOW_MS).unref();

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DATABASE_POOL_SIZE ?? 10),
  connectionTimeoutMillis: 5000,
});
pool.on('error', () => {}); // an idle client's error: the pool replaces it

// ---------------------------------------------------------------- SQL (named, prepared once per connection)
const Q = {
  caller: { name: 'f_caller', text: 'SELECT id, role, has_usable_password, is_active FROM users WHERE id = $1' },
  userExists: { name: 'f_user_exists', text: 'SELECT 1 FROM users WHERE id = $1' },
  listAll: {
    name: 'f_list_all',
    text: 'SELECT user_id, provider, ext_id, profile_url, metadata, show_in_profile FROM social_associations WHERE user_id = $1 ORDER BY id',
  },
  listPublic: {
    name: 'f_list_public',
    text: 'SELECT user_id, provider, ext_id, profile_url, show_in_profile FROM social_associations WHERE user_id = $1 AND show_in_profile ORDER BY id',
  },
  create: {
    name: 'f_create',
    text: `WITH slot AS (
             UPDATE users SET association_count = association_count + 1
              WHERE id = $1 AND association_count < $9
             RETURNING id),
           ins AS (
             INSERT INTO social_associations (user_id, provider, ext_id, profile_url, metadata, show_in_profile)
             SELECT id, $2, $3, $4, $5, $6 FROM slot
             RETURNING user_id, provider, ext_id, profile_url, metadata, show_in_profile),
           aud AS (
             INSERT INTO audit_events (actor_user_id, action, target_user_id, provider, ext_id, request_id)
             SELECT $7, 'social_association.created', user_id, provider, ext_id, $8 FROM ins)
           SELECT * FROM ins`,
  },
  delete: {
    name: 'f_delete',
    text: `WITH del AS (
             DELETE FROM social_associations WHERE user_id = $1 AND provider = $2 AND ext_id = $3
             RETURNING user_id, provider, ext_id),
           counted AS (
             UPDATE users SET association_count = GREATEST(association_count - 1, 0)
              WHERE id IN (SELECT user_id FROM del))
           INSERT INTO audit_events (actor_user_id, action, target_user_id, provider, ext_id, request_id)
           SELECT $4, 'social_association.deleted', user_id, provider, ext_id, $5 FROM del`,
  },
  lockUser: { name: 'f_lock_user', text: 'SELECT id FROM users WHERE id = $1 FOR UPDATE' },
  count: { name: 'f_count', text: 'SELECT count(*)::int AS n FROM social_associations WHERE user_id = $1' },
  exists: { name: 'f_exists', text: 'SELECT 1 FROM users WHERE id = $1' },
};
const run = (q, values, client = pool) => client.query({ name: q.name, text: q.text, values });

// ---------------------------------------------------------------- errors
// Not an Error: expected 4xx answers need no stack trace (capturing one is measurable on the 401 path).
class HttpError {
  constructor(status, message, code, field) {
    this.message = message;
    this.status = status;
    this.code = code ?? CODES[status] ?? 'error';
    this.field = field;
  }
}
const CODES = {
  400: 'invalid',
  401: 'not_authenticated',
  403: 'permission_denied',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'throttled',
  503: 'service_unavailable',
};
const fieldError = (field, message, code = 'invalid') => new HttpError(400, message, code, field);

function sendJson(res, status, body) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'x-request-id': res.requestId,
    ...res.rateHeaders,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

function sendProblem(res, path, error) {
  const status = error.status;
  const item = { code: error.code, message: error.message };
  const body = JSON.stringify({
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail: error.message,
    instance: path,
    errors: [error.field ? { field: error.field, messages: [item] } : item],
    request_id: res.requestId,
  });
  const headers = {
    ...SECURITY_HEADERS,
    'x-request-id': res.requestId,
    ...res.rateHeaders,
    'content-type': 'application/problem+json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  };
  if (status === 401) headers['www-authenticate'] = 'Bearer';
  if (status === 429) headers['retry-after'] = res.retryAfter;
  res.writeHead(status, headers);
  res.end(body);
}

// ---------------------------------------------------------------- tokens (same checks as AccessTokenCodec.verify)
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const unauthorized = (reason) => new HttpError(401, `Invalid token: ${reason}`);

function decodeSegment(segment, what) {
  let value;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw unauthorized(`token ${what} is not valid JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw unauthorized(`token ${what} is not a JSON object`);
  }
  return value;
}

function verifyToken(token) {
  if (token.length > MAX_TOKEN_LENGTH) throw unauthorized('token is too long');
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) {
    throw unauthorized('token is not a compact JWS');
  }
  const [h, p, s] = parts;
  const header = decodeSegment(h, 'header');
  if (header.alg !== 'HS256') throw unauthorized('token algorithm is not accepted');
  if (header.crit !== undefined) throw unauthorized('token has unsupported critical headers');
  const expected = createHmac('sha256', KEY).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw unauthorized('token signature is invalid');
  }
  const claims = decodeSegment(p, 'payload');
  const now = Date.now() / 1000;
  const { exp, iat, nbf, token_type, user_id, iss, aud } = claims;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw unauthorized('token has no expiry');
  if (now >= exp + CLOCK_SKEW) throw unauthorized('token has expired');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw unauthorized('token has no issue time');
  if (iat > now + CLOCK_SKEW) throw unauthorized('token is issued in the future');
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + CLOCK_SKEW)) {
    throw unauthorized('token is not valid yet');
  }
  if (token_type !== 'access') throw unauthorized('token is not an access token');
  if (typeof user_id !== 'number' || !Number.isInteger(user_id) || user_id < 1 || user_id > MAX_ID) {
    throw unauthorized('token has no valid user_id');
  }
  if (ISSUER !== undefined && iss !== ISSUER) throw unauthorized('token issuer is not accepted');
  if (AUDIENCE !== undefined && !(Array.isArray(aud) ? aud : [aud]).includes(AUDIENCE)) {
    throw unauthorized('token audience is not accepted');
  }
  return claims;
}

/** The caller, or undefined when no Authorization header was sent (optional auth). */
async function authenticate(req, res, required) {
  const header = req.headers.authorization;
  if (header === undefined) {
    if (required) throw new HttpError(401, 'Authentication credentials were not provided or are not a bearer token');
    countRequest(res, `ip:${req.socket.remoteAddress}`);
    return undefined;
  }
  const match = /^Bearer +(\S+)$/i.exec(header);
  if (!match) throw new HttpError(401, 'Authentication credentials were not provided or are not a bearer token');
  const claims = verifyToken(match[1]);
  const { rows } = await run(Q.caller, [claims.user_id]);
  const user = rows[0];
  if (!user || !user.is_active) throw new HttpError(401, 'The user of this token does not exist or is inactive');
  countRequest(res, `user:${user.id}`);
  return { id: user.id, isAdmin: user.role === 'admin', hasUsablePassword: user.has_usable_password };
}

// ---------------------------------------------------------------- validation (the contract's rules)
const PROVIDER_SLUG = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const CONTROL = /\p{Cc}/u;
const EXT_ID_MESSAGE =
  'ext_id must be a string of 1 to 255 characters without control characters, or a non-negative integer';
const PROVIDER_MESSAGE = 'provider must be a lowercase slug of 1 to 32 characters (a-z, 0-9, _ and -), e.g. google';
const URL_MESSAGE = 'profile_url must be an absolute http(s) URL of at most 2048 characters';

function parseId(value) {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 1 && value <= MAX_ID ? value : undefined;
  if (typeof value === 'string' && /^[1-9][0-9]{0,9}$/.test(value)) {
    const id = Number(value);
    return id <= MAX_ID ? id : undefined;
  }
  return undefined;
}

function extId(value) {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (
    typeof value !== 'string' ||
    value.length < 1 ||
    value.length > 255 ||
    !value.isWellFormed() ||
    CONTROL.test(value)
  ) {
    throw fieldError('ext_id', EXT_ID_MESSAGE);
  }
  return value;
}

function provider(value) {
  if (typeof value !== 'string' || !PROVIDER_SLUG.test(value)) throw fieldError('provider', PROVIDER_MESSAGE);
  return value;
}

function bodyUserId(pathId, value) {
  if (value === undefined) return;
  const id = parseId(value);
  if (id === undefined) throw fieldError('user_id', 'user_id must be a positive integer (1 to 2147483647)');
  if (id !== pathId) {
    throw fieldError('user_id', 'user_id in the body must equal the user id in the path', 'user_id_mismatch');
  }
}

function rejectUnknown(object, allowed) {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) throw fieldError(key, `${key} is not an accepted field`, 'unknown_field');
  }
}

function pathId(raw) {
  const id = parseId(raw);
  if (id === undefined) throw fieldError('id', 'id must be a positive integer (1 to 2147483647)');
  return id;
}

/** Guards run before id validation in the service: 403 only for a well-formed id that is not the caller's. */
function assertSelfOrAdmin(caller, rawId) {
  if (caller.isAdmin) return;
  const id = parseId(rawId);
  if (id !== undefined && id !== caller.id) {
    throw new HttpError(403, 'You do not have permission to manage the social associations of this user');
  }
}

function jsonObjectBody(body) {
  if (body === undefined) return undefined;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'The request body must be a JSON object');
  }
  return body;
}

// ---------------------------------------------------------------- routes
const toResource = (row, full) => {
  const out = {
    user_id: row.user_id,
    provider: row.provider,
    ext_id: row.ext_id,
    profile_url: row.profile_url,
    show_in_profile: row.show_in_profile,
  };
  if (full) out.metadata = row.metadata === null ? null : JSON.parse(row.metadata);
  return out;
};

async function list(req, res, rawId) {
  const caller = await authenticate(req, res, false);
  const id = pathId(rawId);
  const full = caller !== undefined && (caller.isAdmin || caller.id === id);
  if (!(caller !== undefined && caller.id === id)) {
    const { rowCount } = await run(Q.userExists, [id]);
    if (rowCount === 0) throw new HttpError(404, `User ${id} does not exist`, 'user_not_found');
  }
  const { rows } = await run(full ? Q.listAll : Q.listPublic, [id]);
  sendJson(
    res,
    200,
    rows.map((row) => toResource(row, full)),
  );
}

async function create(req, res, rawId, body) {
  const caller = await authenticate(req, res, true);
  assertSelfOrAdmin(caller, rawId);
  const id = pathId(rawId);
  const input = jsonObjectBody(body);
  if (input === undefined) throw new HttpError(400, 'The request body must be a JSON object');
  rejectUnknown(input, ['ext_id', 'provider', 'user_id', 'profile_url', 'metadata', 'show_in_profile']);
  const ext = extId(input.ext_id);
  const prov = provider(input.provider);
  bodyUserId(id, input.user_id);
  const { profile_url: url = null, metadata = null, show_in_profile: show = false } = input;
  if (url !== null) {
    if (typeof url !== 'string' || url.length > 2048 || CONTROL.test(url)) throw fieldError('profile_url', URL_MESSAGE);
    const parsed = URL.canParse(url) ? new URL(url) : null;
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      throw fieldError('profile_url', URL_MESSAGE);
    }
  }
  if (metadata !== null && (typeof metadata !== 'object' || Array.isArray(metadata))) {
    throw fieldError('metadata', 'metadata must be a JSON object');
  }
  if (typeof show !== 'boolean') throw fieldError('show_in_profile', 'show_in_profile must be a boolean');
  const external = prov === 'external';
  if (external && url !== null) throw fieldError('profile_url', 'profile_url is not allowed for the external provider');
  if (!external && metadata !== null) {
    throw fieldError('metadata', 'metadata is only allowed for the external provider');
  }
  if (external && show) throw fieldError('show_in_profile', 'show_in_profile cannot be true for the external provider');
  const serialized = metadata === null ? null : JSON.stringify(metadata);
  if (serialized !== null && Buffer.byteLength(serialized) > MAX_METADATA_BYTES) {
    throw fieldError('metadata', 'metadata must be at most 16 KiB when serialized');
  }
  let rows;
  try {
    ({ rows } = await run(Q.create, [
      id,
      prov,
      ext,
      url,
      serialized,
      show,
      caller.id,
      res.requestId,
      MAX_ASSOCIATIONS_PER_USER,
    ]));
  } catch (error) {
    if (error.code === '23505') {
      throw new HttpError(409, `This ${prov} identity is already linked to a user`, 'already_linked');
    }
    throw error;
  }
  if (rows.length === 0) {
    // The user is full, or gone: the rare path, one more query to say which.
    const { rows: found } = await run(Q.exists, [id]);
    if (found.length === 0) throw new HttpError(404, `User ${id} does not exist`, 'not_found');
    throw new HttpError(
      409,
      `User ${id} already holds ${MAX_ASSOCIATIONS_PER_USER} associations`,
      'too_many_associations',
    );
  }
  sendJson(res, 201, toResource(rows[0], true));
}

async function remove(req, res, rawId, body, query) {
  const caller = await authenticate(req, res, true);
  assertSelfOrAdmin(caller, rawId);
  const id = pathId(rawId);
  const target = { ...jsonObjectBody(body) };
  for (const key of query.keys()) {
    if (key !== 'ext_id' && key !== 'provider') {
      throw fieldError(key, `${key} is not an accepted query parameter`, 'unknown_field');
    }
    const fromQuery = query.get(key);
    const fromBody = target[key];
    if (fromBody === undefined) target[key] = fromQuery;
    else if ((typeof fromBody === 'string' || typeof fromBody === 'number') && String(fromBody) !== fromQuery) {
      throw fieldError(key, `${key} in the body and in the query string differ`, 'conflict');
    }
  }
  rejectUnknown(target, ['ext_id', 'provider', 'user_id']);
  const ext = extId(target.ext_id);
  const prov = provider(target.provider);
  bodyUserId(id, target.user_id);

  const notFound = () =>
    new HttpError(404, `User ${id} has no ${prov} association with this ext_id`, 'association_not_found');
  if (!caller.isAdmin && !caller.hasUsablePassword) {
    // The last-sign-in rule, decided under the user's row lock.
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await run(Q.lockUser, [id], client);
      const { rowCount } = await run(Q.delete, [id, prov, ext, caller.id, res.requestId], client);
      if (rowCount === 0) throw notFound();
      const { rows } = await run(Q.count, [id], client);
      if (rows[0].n === 0) {
        throw new HttpError(
          409,
          'This is your last sign-in method and your account has no password: set a password or link another identity first',
          'last_sign_in_method',
        );
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  } else {
    const { rowCount } = await run(Q.delete, [id, prov, ext, caller.id, res.requestId]);
    if (rowCount === 0) {
      if (caller.isAdmin && caller.id !== id && (await run(Q.userExists, [id])).rowCount === 0) {
        throw new HttpError(404, `User ${id} does not exist`, 'user_not_found');
      }
      throw notFound();
    }
  }
  res.writeHead(204, { ...SECURITY_HEADERS, 'x-request-id': res.requestId, ...res.rateHeaders });
  res.end();
}

// ---------------------------------------------------------------- HTTP plumbing
const ROUTE = /^\/api\/v2\/user\/([^/]+)\/provider\/?$/;
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > BODY_LIMIT) reject(new HttpError(413, 'Request body is too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function parseBody(req) {
  const raw = await readBody(req);
  if (raw.length === 0) return undefined;
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) throw new HttpError(415, `Unsupported Media Type: ${type}`);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError(400, 'Body is not valid JSON');
  }
}

async function handle(req, res) {
  const incoming = req.headers['x-request-id'];
  res.requestId = typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
  const q = req.url.indexOf('?');
  const path = q === -1 ? req.url : req.url.slice(0, q);
  try {
    const match = ROUTE.exec(path);
    if (match) {
      const rawId = match[1];
      const body = await parseBody(req);
      const query = new URLSearchParams(q === -1 ? '' : req.url.slice(q + 1));
      if (req.method === 'GET') return await list(req, res, rawId);
      if (req.method === 'POST') return await create(req, res, rawId, body);
      if (req.method === 'DELETE') return await remove(req, res, rawId, body, query);
      throw new HttpError(405, `Method ${req.method} is not allowed`);
    }
    if (path === '/health/ready' || path === '/health/live') {
      req.resume();
      if (path === '/health/ready') await pool.query('SELECT 1');
      return sendJson(res, 200, { status: 'ok' });
    }
    req.resume();
    throw new HttpError(404, `Route ${req.method}:${path} not found`);
  } catch (error) {
    if (error instanceof HttpError) return sendProblem(res, path, error);
    process.stderr.write(`floor: request ${res.requestId} failed: ${error?.stack ?? error}\n`);
    return sendProblem(
      res,
      path,
      new HttpError(
        500,
        `An unexpected error occurred; quote request id ${res.requestId} when reporting it`,
        'server_error',
      ),
    );
  }
}

const server = createServer({ keepAliveTimeout: 72_000 }, (req, res) => void handle(req, res));
server.listen(PORT, HOST, () => process.stdout.write(`floor listening on http://${HOST}:${PORT}\n`));

function shutdown() {
  server.close();
  server.closeAllConnections();
  void pool.end().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
