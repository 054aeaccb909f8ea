import { describe, expect, it } from 'vitest';
import { DELETED, deleteHelpers } from '../support/delete-association';
import { expectProblem, problems } from '../support/problem';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

/** What a delete leaves behind: its audit event, under the request id the client saw. */
describe('DELETE /api/v2/user/:id/provider/', () => {
  const t = useTestApp();
  const f = t.f;
  const { del, expectNoContent, deletedEvents, userWithAssociation } = deleteHelpers(t);

  describe('audit', () => {
    it('each successful delete writes exactly one audit event with actor, target, identity and request id', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, { token, body: { ext_id: 123, provider: 'google' } });
      expectNoContent(response);
      const requestId = response.headers.get('x-request-id');
      expect(requestId).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
      const events = await deletedEvents();
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        actor_user_id: user.id,
        action: DELETED,
        target_user_id: user.id,
        provider: 'google',
        ext_id: '123',
        request_id: requestId,
      });
    });

    it('an admin delete records the admin as actor and the user as target', async () => {
      const { user } = await userWithAssociation();
      const admin = await f.makeAdmin();
      const response = await del(user.id, { token: tokenFor(admin.id) }, '/?ext_id=123&provider=google');
      expectNoContent(response);
      expect(await deletedEvents()).toEqual([
        expect.objectContaining({
          actor_user_id: admin.id,
          action: DELETED,
          target_user_id: user.id,
          provider: 'google',
          ext_id: '123',
          request_id: response.headers.get('x-request-id'),
        }),
      ]);
    });

    it('two deletes write two events with their own request ids', async () => {
      const { user, token } = await userWithAssociation();
      const first = await del(user.id, { token, body: { ext_id: '123', provider: 'google' } });
      const second = await del(user.id, { token, body: { ext_id: '123', provider: 'facebook' } });
      expectNoContent(first);
      expectNoContent(second);
      expect(first.headers.get('x-request-id')).not.toBe(second.headers.get('x-request-id'));
      expect((await deletedEvents()).map((event) => event.request_id)).toEqual([
        first.headers.get('x-request-id'),
        second.headers.get('x-request-id'),
      ]);
    });

    it('a failed delete (404, 409) writes no event and changes nothing', async () => {
      const user = await f.makeUser({ has_usable_password: false });
      await f.link(user.id, { provider: 'google', ext_id: '123' });
      const other = await f.makeUser();
      await f.link(other.id, { provider: 'github', ext_id: '9' });
      const token = tokenFor(user.id);
      const eventsBefore = await f.auditEvents();
      expectProblem(
        await del(user.id, { token, body: { ext_id: '9', provider: 'github' } }),
        problems.notFound(`User ${user.id} has no github association with this ext_id`),
      );
      expectProblem(
        await del(user.id, { token, body: { ext_id: '123', provider: 'google' } }),
        problems.lastSignInMethod(),
      );
      expect(await f.countAssociations(user.id)).toBe(1);
      expect(await f.countAssociations(other.id)).toBe(1);
      expect(await f.auditEvents()).toEqual(eventsBefore);
    });
  });

  describe('X-Request-Id', () => {
    it('echoes a safe incoming X-Request-Id and uses it in the audit event', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, {
        token,
        body: { ext_id: '123', provider: 'google' },
        headers: { 'x-request-id': 'client-req.42:a_b-c' },
      });
      expectNoContent(response);
      expect(response.headers.get('x-request-id')).toBe('client-req.42:a_b-c');
      expect(await deletedEvents()).toMatchObject([{ request_id: 'client-req.42:a_b-c' }]);
    });

    it('echoes a safe incoming X-Request-Id as request_id in error bodies', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, {
        token,
        body: { ext_id: '999', provider: 'google' },
        headers: { 'x-request-id': 'trace-0001' },
      });
      expectProblem(response, problems.notFound(/has no \S+ association/));
      expect(response.body.request_id).toBe('trace-0001');
    });

    it.each([
      ['with spaces', 'has spaces'],
      ['longer than 64 characters', 'a'.repeat(65)],
      ['with a newline escape', 'abc%0d%0aX-Evil: 1'],
      ['with quotes', '"quoted"'],
    ])('replaces an unsafe incoming X-Request-Id (%s) with its own', async (_name, incoming) => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, {
        token,
        body: { ext_id: '999', provider: 'google' },
        headers: { 'x-request-id': incoming },
      });
      expectProblem(response, problems.notFound(`User ${user.id} has no google association with this ext_id`));
      expect(response.headers.get('x-request-id')).not.toBe(incoming);
      expect(response.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
    });
  });
});
