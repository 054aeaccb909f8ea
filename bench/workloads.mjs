// Tokens and the four workloads, as autocannon `requests` arrays. Every request
// goes to a different user than the one before it (a shared rotating cursor), so
// no workload measures one hot row.
import { createHmac, randomUUID } from 'node:crypto';

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An HS256 access token in SelfCommunity's format, as AccessTokenCodec.sign makes it. */
export function signAccessToken(userId, secret, ttlSeconds = 6 * 3600) {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    token_type: 'access',
    exp: now + ttlSeconds,
    iat: now,
    jti: randomUUID().replaceAll('-', ''),
    user_id: userId,
  };
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

export function makeTokens(userIds, secret) {
  const wrongSecret = `not-the-secret-${secret}`;
  return userIds.map((id) => ({
    id,
    auth: `Bearer ${signAccessToken(id, secret)}`,
    // Well-formed and unexpired, signed with another key: fails only the signature check.
    badAuth: `Bearer ${signAccessToken(id, wrongSecret)}`,
  }));
}

const JSON_HEADERS = { 'content-type': 'application/json' };
const path = (id) => `/api/v2/user/${id}/provider/`;

export const WORKLOADS = {
  a: { key: 'a', title: '(a) GET own list', expected: [200] },
  b: { key: 'b', title: '(b) POST + DELETE fresh identity', expected: [201, 204] },
  c: { key: 'c', title: '(c) DELETE missing (404)', expected: [404] },
  d: { key: 'd', title: '(d) bad signature (401)', expected: [401] },
};

/**
 * The autocannon `requests` of one workload. `stats` counts responses whose status
 * is not the one that request expects (by request, not just by workload).
 * `tag` keeps the fresh ext_ids of (b) unique across runs and servers.
 */
export function buildRequests(key, tokens, stats, tag) {
  let cursor = Math.floor(Math.random() * tokens.length);
  const next = () => {
    cursor = cursor + 1 === tokens.length ? 0 : cursor + 1;
    return tokens[cursor];
  };
  let serial = 0;
  const check = (status) => (actual) => {
    if (actual === status) stats.expected++;
    else stats.unexpected[actual] = (stats.unexpected[actual] ?? 0) + 1;
  };

  switch (key) {
    case 'a': {
      const ok = check(200);
      return [
        {
          method: 'GET',
          setupRequest: (req) => {
            const t = next();
            return { ...req, path: path(t.id), headers: { authorization: t.auth } };
          },
          onResponse: ok,
        },
      ];
    }
    case 'b': {
      const created = check(201);
      const deleted = check(204);
      return [
        {
          method: 'POST',
          setupRequest: (req, context) => {
            const t = next();
            context.user = t;
            context.body = JSON.stringify({ provider: 'github', ext_id: `bench-${tag}-${++serial}` });
            return {
              ...req,
              path: path(t.id),
              headers: { ...JSON_HEADERS, authorization: t.auth },
              body: context.body,
            };
          },
          onResponse: created,
        },
        {
          method: 'DELETE',
          setupRequest: (req, context) => ({
            ...req,
            path: path(context.user.id),
            headers: { ...JSON_HEADERS, authorization: context.user.auth },
            body: context.body,
          }),
          onResponse: deleted,
        },
      ];
    }
    case 'c': {
      const missing = check(404);
      return [
        {
          method: 'DELETE',
          setupRequest: (req) => {
            const t = next();
            return {
              ...req,
              path: path(t.id),
              headers: { ...JSON_HEADERS, authorization: t.auth },
              body: JSON.stringify({ provider: 'google', ext_id: `missing-${tag}-${++serial}` }),
            };
          },
          onResponse: missing,
        },
      ];
    }
    case 'd': {
      const rejected = check(401);
      return [
        {
          method: 'DELETE',
          setupRequest: (req) => {
            const t = next();
            return {
              ...req,
              path: path(t.id),
              headers: { ...JSON_HEADERS, authorization: t.badAuth },
              body: JSON.stringify({ provider: 'google', ext_id: `seed-${t.id}` }),
            };
          },
          onResponse: rejected,
        },
      ];
    }
    default:
      throw new Error(`unknown workload ${key}`);
  }
}
