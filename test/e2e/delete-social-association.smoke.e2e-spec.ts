import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, TestApp } from '../support/create-test-app';
import { factories } from '../support/factories';
import { request } from '../support/http';
import { expectProblem } from '../support/problem';
import { tokenFor } from '../support/tokens';

describe('DELETE /api/v2/user/:id/provider/ (smoke)', () => {
  let t: TestApp;
  let f: ReturnType<typeof factories>;
  beforeAll(async () => {
    t = await createTestApp();
    f = factories(t);
  });
  afterAll(() => t.close());
  beforeEach(() => t.reset());

  it('204 then 404 for the same association', async () => {
    const user = await f.makeUser();
    await f.link(user.id, { provider: 'google', ext_id: '123' });
    const del = () =>
      request(t.baseUrl, 'DELETE', `/api/v2/user/${user.id}/provider/`, {
        token: tokenFor(user.id),
        body: { provider: 'google', ext_id: 123 },
      });
    const first = await del();
    expect(first.status, first.text).toBe(204);
    expect(first.text).toBe('');
    expectProblem(await del(), 404, { code: 'association_not_found' });
    expect(await f.auditEvents()).toHaveLength(2);
  });
});
