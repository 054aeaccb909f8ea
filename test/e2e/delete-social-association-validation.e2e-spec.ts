import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deleteHelpers, MAX_ID } from '../support/delete-association';
import { expectProblem, problems } from '../support/problem';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

/** What DELETE refuses as input: ids, fields, bodies, sizes and media types (400, 413, 415), never with a 5xx. */
describe('DELETE /api/v2/user/:id/provider/', () => {
  const t = useTestApp();
  const f = t.f;
  const { path, del, json, expectNoContent, userWithAssociation, expectDeletedOnly, expectUnchanged } =
    deleteHelpers(t);

  describe('400', () => {
    it('400 when user_id in the body differs from the path id', async () => {
      const { user, token } = await userWithAssociation();
      const other = await f.makeUser();
      const response = await del(user.id, { token, body: { ext_id: '123', provider: 'google', user_id: other.id } });
      expectProblem(response, problems.invalidField('user_id', 'user_id_mismatch'), { instance: path(user.id) });
      await expectUnchanged(2);
    });

    it('400 when user_id in the body is a numeric string that differs from the path id', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, {
        token,
        body: { ext_id: '123', provider: 'google', user_id: String(user.id + 1) },
      });
      expectProblem(response, problems.invalidField('user_id', 'user_id_mismatch'));
      await expectUnchanged(2);
    });

    it('400 when an admin sends a user_id that differs from the path id', async () => {
      const { user } = await userWithAssociation();
      const admin = await f.makeAdmin();
      const response = await del(user.id, {
        token: tokenFor(admin.id),
        body: { ext_id: '123', provider: 'google', user_id: admin.id },
      });
      expectProblem(response, problems.invalidField('user_id', 'user_id_mismatch'));
      await expectUnchanged(2);
    });

    it.each([['abc'], [0], [-1], [1.5], ['1.5'], [true], [{}], [[1]], ['99999999999'], [MAX_ID + 1]])(
      '400 for user_id %j in the body',
      async (userId) => {
        const { user, token } = await userWithAssociation();
        const response = await del(user.id, { token, body: { ext_id: '123', provider: 'google', user_id: userId } });
        expectProblem(response, problems.invalidField('user_id', 'invalid'));
        await expectUnchanged(2);
      },
    );

    it.each(['abc', '0', '-1', '1.5', '99999999999', '2147483648', '1e3', '0x10'])(
      '400 for the path id %s (field id), also for a non-admin caller',
      async (id) => {
        const { token } = await userWithAssociation();
        const response = await del(id, { token, body: { ext_id: '123', provider: 'google' } });
        expectProblem(response, problems.invalidField('id', 'invalid'), { instance: path(id) });
        await expectUnchanged(2);
      },
    );

    it('400 problem for a path id longer than the router accepts (120 digits)', async () => {
      const { token } = await userWithAssociation();
      const id = '1'.repeat(120);
      const response = await del(id, { token, body: { ext_id: '123', provider: 'google' } });
      expectProblem(response, problems.invalid(), { instance: path(id) });
      await expectUnchanged(2);
    });

    it.each(['abc', '0', '2147483648'])('400 for the path id %s for an admin caller', async (id) => {
      const admin = await f.makeAdmin();
      const response = await del(id, { token: tokenFor(admin.id), body: { ext_id: '123', provider: 'google' } });
      expectProblem(response, problems.invalidField('id', 'invalid'));
    });

    it('400 when body and query string name different ext_ids (field ext_id)', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, { token, body: { ext_id: '123', provider: 'google' } }, '/?ext_id=124');
      expectProblem(response, problems.invalidField('ext_id'));
      await expectUnchanged(2);
    });

    it('400 when body and query string name different providers (field provider)', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(
        user.id,
        { token, body: { ext_id: '123', provider: 'google' } },
        '/?provider=facebook',
      );
      expectProblem(response, problems.invalidField('provider'));
      await expectUnchanged(2);
    });

    it.each([
      ['missing', {}],
      ['empty', { ext_id: '' }],
      ['256 characters', { ext_id: 'x'.repeat(256) }],
      ['256 emoji', { ext_id: '😀'.repeat(256) }],
      ['256 code points that validator.js counts as 128', { ext_id: 'a\ufe0f'.repeat(128) }],
      ['true', { ext_id: true }],
      ['an object', { ext_id: { id: '123' } }],
      ['an array', { ext_id: ['123'] }],
      ['null', { ext_id: null }],
      ['negative', { ext_id: -1 }],
      ['a float', { ext_id: 1.5 }],
      ['not a safe integer', { ext_id: 2 ** 53 }],
      ['1e21', { ext_id: 1e21 }],
      ['a NUL character', { ext_id: '12\u00003' }],
      ['a newline', { ext_id: '12\n3' }],
      ['a tab', { ext_id: '\t123' }],
      ['DEL', { ext_id: '123\u007f' }],
      ['a C1 control character', { ext_id: '123\u0085' }],
    ])('400 for ext_id %s (field ext_id)', async (_name, body) => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, { token, body: { provider: 'google', ...body } });
      expectProblem(response, problems.invalidField('ext_id', 'invalid'));
      await expectUnchanged(2);
    });

    it.each([
      ['a lone high surrogate', '"\\ud800"'],
      ['a lone low surrogate', '"123\\udc00"'],
      ['a reversed surrogate pair', '"\\ude00\\ud83d"'],
    ])('400, not 500, for ext_id with %s', async (_name, rawExtId) => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, json(`{"ext_id":${rawExtId},"provider":"google"}`, { token }));
      expectProblem(response, problems.invalidField('ext_id', 'invalid'));
      await expectUnchanged(2);
    });

    it.each([
      ['a NUL character', '12%003'],
      ['empty', ''],
      ['256 characters', 'x'.repeat(256)],
    ])('400 for ext_id with %s in the query string', async (_name, extId) => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, { token }, `/?ext_id=${extId}&provider=google`);
      expectProblem(response, problems.invalidField('ext_id', 'invalid'));
      await expectUnchanged(2);
    });

    it('400 for ext_id given twice in the query string', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, { token }, '/?ext_id=123&ext_id=124&provider=google');
      expectProblem(response, problems.invalidField('ext_id'));
      await expectUnchanged(2);
    });

    it.each([
      ['missing', {}],
      ['uppercase', { provider: 'Google' }],
      ['too long', { provider: 'p'.repeat(33) }],
      ['empty', { provider: '' }],
      ['starting with a dash', { provider: '-google' }],
      ['with a space', { provider: 'goo gle' }],
      ['a number', { provider: 7 }],
      ['null', { provider: null }],
    ])('400 for provider %s (field provider)', async (_name, body) => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, { token, body: { ext_id: '123', ...body } });
      expectProblem(response, problems.invalidField('provider', 'invalid'));
      await expectUnchanged(2);
    });

    it('400 without ext_id and provider at all (no body, no query)', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, { token });
      expectProblem(
        response,
        problems.invalidFields([
          ['ext_id', 'invalid'],
          ['provider', 'invalid'],
        ]),
      );
      await expectUnchanged(2);
    });

    it.each(['extra', 'profile_url', 'show_in_profile', 'id'])(
      '400 unknown_field for the body field %s',
      async (field) => {
        const { user, token } = await userWithAssociation();
        const response = await del(user.id, { token, body: { ext_id: '123', provider: 'google', [field]: 'x' } });
        expectProblem(response, problems.invalidField(field, 'unknown_field'));
        await expectUnchanged(2);
      },
    );

    it('400 unknown_field for an unknown query parameter', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, { token }, '/?ext_id=123&provider=google&force=true');
      expectProblem(response, problems.invalidField('force', 'unknown_field'));
      await expectUnchanged(2);
    });

    it('400 unknown_field for an unknown query parameter next to a valid body', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, { token, body: { ext_id: '123', provider: 'google' } }, '/?foo=bar');
      expectProblem(response, problems.invalidField('foo', 'unknown_field'));
      await expectUnchanged(2);
    });

    it.each([
      ['a JSON array', '[{"ext_id":"123","provider":"google"}]'],
      ['JSON null', 'null'],
      ['a JSON string', '"123"'],
      ['a JSON number', '123'],
      ['JSON true', 'true'],
    ])('400 when the body is %s', async (_name, rawBody) => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, json(rawBody, { token }), '/?ext_id=123&provider=google');
      expectProblem(response, problems.invalid(/JSON object/));
      await expectUnchanged(2);
    });

    it.each([
      ['truncated', '{"ext_id":"123","provider":'],
      ['single quotes', "{'ext_id':'123','provider':'google'}"],
      ['trailing comma', '{"ext_id":"123","provider":"google",}'],
      ['not JSON at all', 'ext_id=123&provider=google'],
    ])('400 for malformed JSON (%s)', async (_name, rawBody) => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, json(rawBody, { token }));
      expectProblem(response, problems.invalid());
      await expectUnchanged(2);
    });

    it('400, not 500, for a body nested 5000 levels deep', async () => {
      const { user, token } = await userWithAssociation();
      const rawBody = `{"ext_id":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)},"provider":"google"}`;
      const response = await del(user.id, json(rawBody, { token }));
      expectProblem(response, problems.invalid());
      await expectUnchanged(2);
    });

    it('400, not 403, for a non-admin caller sending a malformed id and a valid body', async () => {
      const { token } = await userWithAssociation();
      expectProblem(
        await del('abc', { token, body: { ext_id: '123', provider: 'google', user_id: 999 } }),
        problems.invalidField('id'),
      );
      await expectUnchanged(2);
    });
  });

  describe('413 and 415', () => {
    it('415 for Content-Type text/plain', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, {
        token,
        rawBody: '{"ext_id":"123","provider":"google"}',
        headers: { 'content-type': 'text/plain' },
      });
      expectProblem(response, problems.unsupportedMediaType());
      await expectUnchanged(2);
    });

    it('415 for Content-Type application/x-www-form-urlencoded', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, {
        token,
        rawBody: 'ext_id=123&provider=google',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expectProblem(response, problems.unsupportedMediaType());
      await expectUnchanged(2);
    });

    it('204 for Content-Type application/json; charset=utf-8', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, {
        token,
        rawBody: '{"ext_id":"123","provider":"google"}',
        headers: { 'content-type': 'application/json; charset=utf-8' },
      });
      expectNoContent(response);
      await expectDeletedOnly(user.id);
    });

    it('413 for a body over 64 KiB', async () => {
      const { user, token } = await userWithAssociation();
      const response = await del(user.id, {
        token,
        body: { ext_id: '123', provider: 'google', padding: 'x'.repeat(64 * 1024) },
      });
      expectProblem(response, problems.payloadTooLarge());
      await expectUnchanged(2);
    });
  });

  describe('never 5xx', () => {
    it('answers arbitrary JSON bodies with 400 or 404, never 5xx', async () => {
      const user = await f.makeUser();
      const token = tokenFor(user.id);
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.jsonValue(),
            fc.record(
              {
                ext_id: fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.jsonValue()),
                provider: fc.string(),
              },
              { requiredKeys: [] },
            ),
          ),
          async (body) => {
            const response = await del(user.id, json(JSON.stringify(body) ?? 'null', { token }));
            expect([400, 404]).toContain(response.status);
            expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
          },
        ),
        { numRuns: 150 },
      );
    });

    it('answers arbitrary query strings with 400 or 404, never 5xx', async () => {
      const user = await f.makeUser();
      const token = tokenFor(user.id);
      await fc.assert(
        fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 100 }), fc.string({ maxLength: 40 }), async (e, p) => {
          const query = `/?ext_id=${encodeURIComponent(e.toWellFormed())}&provider=${encodeURIComponent(p)}`;
          const response = await del(user.id, { token }, query);
          expect([400, 404]).toContain(response.status);
          expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        }),
        { numRuns: 100 },
      );
    });
  });
});
