import { beforeEach, describe, expect, it } from 'vitest';
import { accessProbe, arrange, Fixture } from '../support/access-control';
import { request } from '../support/http';
import { problems } from '../support/problem';
import { accessClaims, signToken, tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

/** OWASP API5 broken function level authorization: roles come from the database, at once. */
describe('access control: the API as an attacker would try it', () => {
  const t = useTestApp();
  const f = t.f;
  const { expectRefused } = accessProbe(t);
  let fx: Fixture;
  beforeEach(async () => {
    fx = await arrange(f);
  });

  describe('API5 broken function level authorization', () => {
    it('a role claimed in the token is ignored: the role comes from the database', async () => {
      const forged = signToken(
        accessClaims(fx.target.id, { role: 'admin', is_admin: true, is_staff: true, scope: 'admin' }),
      );
      await expectRefused(
        'POST',
        '/api/v2/sso/signup/',
        { token: forged, body: { username: 'escalate_1' } },
        problems.permissionDenied(),
      );
      await expectRefused(
        'GET',
        `/api/v2/user/provider/?provider=${fx.pub.provider}&ext_id=${fx.pub.ext_id}`,
        { token: forged },
        problems.permissionDenied(),
      );
    });

    it('a demoted admin loses admin rights at once, with the same token', async () => {
      const admin = fx.users.admin;
      const token = tokenFor(admin.id);
      expect((await request(t.baseUrl, 'GET', '/api/v2/audit/social-associations/', { token })).status).toBe(200);
      await t.dataSource.query(`UPDATE users SET role = NULL WHERE id = ${admin.id}`);
      await expectRefused('GET', '/api/v2/audit/social-associations/', { token }, problems.permissionDenied());
      await expectRefused(
        'DELETE',
        `/api/v2/user/${fx.target.id}/provider/`,
        { token, body: fx.priv },
        problems.permissionDenied(),
      );
    });

    it('a deactivated user is locked out at once, also from their own data and from optional-auth routes', async () => {
      const token = fx.token('self');
      await f.deactivate(fx.target.id);
      await expectRefused(
        'DELETE',
        `/api/v2/user/${fx.target.id}/provider/`,
        { token, body: fx.priv },
        problems.notAuthenticated(),
      );
      await expectRefused('GET', `/api/v2/user/${fx.target.id}/provider/`, { token }, problems.notAuthenticated());
    });
  });
});
