import { beforeEach, describe, expect, it } from 'vitest';
import { accessProbe, arrange, expectNoChange, Fixture, newIdentity, rawRequest } from '../support/access-control';
import { diff, snapshot } from '../support/db-snapshot';
import { expectProblem, problems } from '../support/problem';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

/** OWASP API1 broken object level authorization: one user acting on another's associations. */
describe('access control: the API as an attacker would try it', () => {
  const t = useTestApp();
  const f = t.f;
  const { attempt, expectRefused } = accessProbe(t);
  let fx: Fixture;
  beforeEach(async () => {
    fx = await arrange(f);
  });

  describe('API1 broken object level authorization', () => {
    it('403 for a non-admin acting on a user that does not exist (no enumeration); admins get 404', async () => {
      const missing = fx.target.id + 10_000;
      const other = fx.token('other');
      for (const [method, path, body] of [
        ['POST', `/api/v2/user/${missing}/provider/`, newIdentity()],
        ['POST', '/api/v2/user/provider/', { ...newIdentity(), user_id: missing }],
        ['DELETE', `/api/v2/user/${missing}/provider/`, fx.priv],
      ] as const) {
        await expectRefused(method, path, { token: other, body }, problems.permissionDenied());
        await expectRefused(
          method,
          path,
          { token: fx.token('admin'), body },
          problems.notFound(/^User \d+ does not exist$/),
        );
      }
    });

    it("an association of user A cannot be deleted through user B's path, by B or by an admin (404, A keeps it)", async () => {
      const b = fx.users.other;
      for (const token of [tokenFor(b.id), fx.token('admin')]) {
        await expectRefused(
          'DELETE',
          `/api/v2/user/${b.id}/provider/`,
          { token, body: fx.priv },
          problems.notFound(/has no \S+ association/),
        );
        await expectRefused(
          'DELETE',
          `/api/v2/user/${b.id}/provider/?provider=${fx.priv.provider}&ext_id=${fx.priv.ext_id}`,
          { token },
          problems.notFound(/has no \S+ association/),
        );
      }
      expect(await f.countAssociations(fx.target.id)).toBe(3);
    });

    it("403 for B deleting B's own association through A's path", async () => {
      await expectRefused(
        'DELETE',
        `/api/v2/user/${fx.target.id}/provider/`,
        { token: fx.token('other'), body: fx.otherOwn },
        problems.permissionDenied(),
      );
    });

    it('ids in path and body that disagree: 400 for self and admin, 403 when the path names someone else', async () => {
      const self = fx.token('self');
      const otherId = fx.users.other.id;
      await expectRefused(
        'POST',
        `/api/v2/user/${fx.target.id}/provider/`,
        { token: self, body: { ...newIdentity(), user_id: otherId } },
        problems.invalidField('user_id', 'user_id_mismatch'),
      );
      await expectRefused(
        'POST',
        `/api/v2/user/${otherId}/provider/`,
        { token: self, body: { ...newIdentity(), user_id: fx.target.id } },
        problems.permissionDenied(),
      );
      await expectRefused(
        'DELETE',
        `/api/v2/user/${fx.target.id}/provider/`,
        { token: self, body: { ...fx.otherOwn, user_id: otherId } },
        problems.invalidField('user_id', 'user_id_mismatch'),
      );
      await expectRefused(
        'DELETE',
        `/api/v2/user/${otherId}/provider/`,
        { token: self, body: { ...fx.otherOwn, user_id: fx.target.id } },
        problems.permissionDenied(),
      );
      await expectRefused(
        'POST',
        `/api/v2/user/${fx.target.id}/provider/`,
        { token: fx.token('admin'), body: { ...newIdentity(), user_id: otherId } },
        problems.invalidField('user_id', 'user_id_mismatch'),
      );
      await expectRefused(
        'DELETE',
        `/api/v2/user/${fx.target.id}/provider/`,
        { token: fx.token('admin'), body: { ...fx.otherOwn, user_id: otherId } },
        problems.invalidField('user_id', 'user_id_mismatch'),
      );
    });

    it("a string user_id in the body is the same user (403 for someone else's), a disguised one is a 400, never a create", async () => {
      const self = fx.token('self');
      const otherId = fx.users.other.id;
      await expectRefused(
        'POST',
        '/api/v2/user/provider/',
        { token: self, body: { ...newIdentity(), user_id: String(otherId) } },
        problems.permissionDenied(),
      );
      for (const disguised of [
        [otherId],
        { id: otherId },
        `0${otherId}`,
        `${otherId} `,
        `+${otherId}`,
        otherId + 0.5,
        `${otherId}\u0000`,
        true,
        'me',
      ]) {
        await expectRefused(
          'POST',
          '/api/v2/user/provider/',
          { token: self, body: { ...newIdentity(), user_id: disguised } },
          problems.invalidField('user_id'),
        );
      }
      await expectRefused(
        'POST',
        '/api/v2/user/provider/',
        { token: self, body: newIdentity() },
        problems.invalidField('user_id'),
      );
    });

    // Found by this suite: `user_id: null` passed @IsOptional() in CreateSocialAssociationDto and reached
    // the service as a null user id (500). Fixed with IsOmittable (absent is optional, null is invalid).
    it('400 for user_id: null in the body of POST /api/v2/user/provider/, for self and admin (was a 500)', async () => {
      for (const token of [fx.token('self'), fx.token('admin')]) {
        await expectRefused(
          'POST',
          '/api/v2/user/provider/',
          { token, body: { ...newIdentity(), user_id: null } },
          problems.invalidField('user_id'),
        );
      }
    });

    it('a duplicated user_id key in the raw JSON body cannot pass the guard with one id and reach the service with another', async () => {
      const rawBody = `{"provider":"github","ext_id":"gh-dup","user_id":${fx.target.id},"user_id":${fx.users.other.id}}`;
      const { response, change } = await attempt('POST', '/api/v2/user/provider/', {
        token: fx.token('self'),
        rawBody,
        headers: { 'content-type': 'application/json' },
      });
      // JSON.parse keeps the last key, so both the guard and the service see `other`.
      expectProblem(response, problems.permissionDenied());
      expectNoChange(change);
    });

    it('smuggled query parameters are refused, not used (DELETE ?user_id=, list ?user_id= twice)', async () => {
      await expectRefused(
        'DELETE',
        `/api/v2/user/${fx.users.other.id}/provider/?user_id=${fx.users.other.id}`,
        { token: tokenFor(fx.users.other.id), body: fx.priv },
        problems.invalidField('user_id', 'unknown_field'),
      );
      await expectRefused(
        'GET',
        `/api/v2/user/provider/?user_id=${fx.users.other.id}&user_id=${fx.target.id}`,
        { token: fx.token('other') },
        problems.invalidField('user_id'),
      );
      await expectRefused(
        'GET',
        `/api/v2/user/provider/?user_id=${fx.target.id}&provider=${fx.pub.provider}&ext_id=${fx.pub.ext_id}`,
        { token: fx.token('self') },
        problems.invalidField('user_id'),
      );
    });

    it.each([
      [
        'encoded digits',
        (id: number) => `/api/v2/user/${encodeURIComponent(String(id)).replace(/\d/, (d) => `%3${d}`)}/provider/`,
      ],
      ['a trailing NUL', (id: number) => `/api/v2/user/${id}%00/provider/`],
      ['an encoded slash', (id: number) => `/api/v2/user/${id}%2F1/provider/`],
      ['a leading zero', (id: number) => `/api/v2/user/0${id}/provider/`],
      ['a plus sign', (id: number) => `/api/v2/user/+${id}/provider/`],
      ['a fraction', (id: number) => `/api/v2/user/${id}.0/provider/`],
      ['a matrix parameter', (id: number) => `/api/v2/user/${id};x=1/provider/`],
    ])('path id with %s: never acts on another user', async (_name, path) => {
      const { response, change } = await attempt('DELETE', path(fx.target.id), {
        token: fx.token('other'),
        body: fx.priv,
      });
      expect([400, 403, 404]).toContain(response.status);
      if (response.status === 403) expectProblem(response, problems.permissionDenied());
      expectNoChange(change);
    });

    it("dot segments sent raw are not resolved into another user's path", async () => {
      const path = `/api/v2/user/${fx.users.other.id}/../${fx.target.id}/provider/`;
      const before = await snapshot(t.dataSource);
      const status = await rawRequest(t.baseUrl, 'DELETE', path, fx.token('other')!, JSON.stringify(fx.priv));
      expect(status).toBe(404);
      expectNoChange(diff(before, await snapshot(t.dataSource)));
    });

    it('X-HTTP-Method-Override does not turn a GET into a DELETE', async () => {
      const { response, change } = await attempt(
        'GET',
        `/api/v2/user/${fx.target.id}/provider/?provider=${fx.priv.provider}&ext_id=${fx.priv.ext_id}`,
        {
          token: fx.token('other'),
          headers: { 'x-http-method-override': 'DELETE', 'x-method-override': 'DELETE' },
        },
      );
      expect(response.status).not.toBe(204);
      expectNoChange(change);
    });
  });
});
