import { beforeEach, describe, expect, it } from 'vitest';
import { accessProbe, arrange, Fixture, newIdentity, publicView } from '../support/access-control';
import { request } from '../support/http';
import { problems } from '../support/problem';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

/** OWASP API3 broken object property level authorization: private fields, mass assignment, prototype pollution. */
describe('access control: the API as an attacker would try it', () => {
  const t = useTestApp();
  const f = t.f;
  const { expectRefused } = accessProbe(t);
  let fx: Fixture;
  beforeEach(async () => {
    fx = await arrange(f);
  });

  describe('API3 broken object property level authorization', () => {
    it('the public view never shows metadata or private associations, also to other roles', async () => {
      for (const actor of ['anonymous', 'other', 'moderator', 'editor'] as const) {
        const response = await request(t.baseUrl, 'GET', `/api/v2/user/${fx.target.id}/provider/`, {
          token: fx.token(actor),
        });
        expect(response.body).toEqual(publicView(fx));
        expect(response.text).not.toContain('gold');
        expect(response.text).not.toContain(fx.priv.ext_id);
      }
    });

    it('mass assignment: unknown or server-owned fields are a 400, never stored', async () => {
      const self = fx.token('self');
      for (const extra of [
        { id: 1 },
        { user: { id: fx.users.other.id } },
        { created_at: '2000-01-01' },
        { userId: fx.users.other.id },
      ]) {
        await expectRefused(
          'POST',
          `/api/v2/user/${fx.target.id}/provider/`,
          { token: self, body: { ...newIdentity(), ...extra } },
          problems.invalidField(Object.keys(extra)[0], 'unknown_field'),
        );
      }
      for (const extra of [{ is_active: false }, { id: fx.target.id }, { isAdmin: true }]) {
        await expectRefused(
          'POST',
          '/api/v2/sso/signup/',
          { token: fx.token('admin'), body: { username: 'mass_1', ...extra } },
          problems.invalidField(Object.keys(extra)[0], 'unknown_field'),
        );
      }
    });

    it('prototype pollution payloads are refused', async () => {
      for (const rawBody of [
        `{"provider":"github","ext_id":"gh-p","__proto__":{"isAdmin":true}}`,
        `{"provider":"github","ext_id":"gh-p","constructor":{"prototype":{"isAdmin":true}}}`,
      ]) {
        await expectRefused(
          'POST',
          `/api/v2/user/${fx.users.other.id}/provider/`,
          { token: tokenFor(fx.users.other.id), rawBody, headers: { 'content-type': 'application/json' } },
          problems.invalid(),
        );
      }
      const after = await request(t.baseUrl, 'GET', '/api/v2/user/me/', { token: tokenFor(fx.users.other.id) });
      expect(after.body.role).toBeNull();
    });
  });
});
