import { describe, expect, it } from 'vitest';
import { BODY_ROUTE, createHelpers, pathRoute } from '../support/create-association';
import { request } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

/** What POST refuses as input (400), also when PROVIDERS limits the providers. */
describe('POST /api/v2/user/:id/provider/ and POST /api/v2/user/provider/', () => {
  const t = useTestApp();
  const f = t.f;
  const { create, expectNothingWritten } = createHelpers(t);

  describe('400', () => {
    it('400 field user_id on POST /api/v2/user/provider/ without user_id', async () => {
      const user = await f.makeUser();
      const res = await create(BODY_ROUTE, tokenFor(user.id), { provider: 'google', ext_id: 'g' });
      expectProblem(res, problems.invalidField('user_id'), { instance: BODY_ROUTE });
      await expectNothingWritten();
    });

    it('400 field user_id on POST /api/v2/user/provider/ without user_id, for an admin too', async () => {
      const admin = await f.makeAdmin();
      const res = await create(BODY_ROUTE, tokenFor(admin.id), { provider: 'google', ext_id: 'g' });
      expectProblem(res, problems.invalidField('user_id'));
      await expectNothingWritten();
    });

    it.each([['abc'], [0], [-1], [1.5], [99999999999], [null], [true]])(
      '400 field user_id on POST /api/v2/user/provider/ with user_id %j',
      async (userId) => {
        const user = await f.makeUser();
        const res = await create(BODY_ROUTE, tokenFor(user.id), { user_id: userId, provider: 'google', ext_id: 'g' });
        expectProblem(res, problems.invalidField('user_id'));
        await expectNothingWritten();
      },
    );

    it.each(['abc', '0', '-1', '1.5', '99999999999'])('400 for the malformed path id %s', async (id) => {
      const user = await f.makeUser();
      const admin = await f.makeAdmin();
      for (const token of [tokenFor(user.id), tokenFor(admin.id)]) {
        const res = await create(pathRoute(id), token, { provider: 'google', ext_id: 'g' });
        expectProblem(res, problems.invalidField('id', 'invalid'));
      }
      await expectNothingWritten();
    });

    it('400 field user_id when the body user_id differs from the path id (self)', async () => {
      const user = await f.makeUser();
      const other = await f.makeUser();
      const res = await create(pathRoute(user.id), tokenFor(user.id), {
        user_id: other.id,
        provider: 'google',
        ext_id: 'g',
      });
      expectProblem(res, problems.invalidField('user_id'));
      await expectNothingWritten();
    });

    it('400 field user_id when the body user_id differs from the path id (admin)', async () => {
      const admin = await f.makeAdmin();
      const user = await f.makeUser();
      const res = await create(pathRoute(user.id), tokenFor(admin.id), {
        user_id: admin.id,
        provider: 'google',
        ext_id: 'g',
      });
      expectProblem(res, problems.invalidField('user_id'));
      await expectNothingWritten();
    });

    it.each([
      ['missing', undefined],
      ['an empty string', ''],
      ['256 characters', 'x'.repeat(256)],
      ['a string with a newline', 'a\nb'],
      ['a string with a NUL', 'a\u0000b'],
      ['a negative number', -1],
      ['a fraction', 1.5],
      ['an unsafe integer', 2 ** 53],
      ['a boolean', true],
      ['null', null],
      ['an object', { id: 1 }],
    ])('400 field ext_id when ext_id is %s', async (_name, extId) => {
      const user = await f.makeUser();
      const res = await create(pathRoute(user.id), tokenFor(user.id), { provider: 'google', ext_id: extId });
      expectProblem(res, problems.invalidField('ext_id'), { instance: pathRoute(user.id) });
      await expectNothingWritten();
    });

    it.each([
      ['missing', undefined],
      ['empty', ''],
      ['uppercase', 'Google'],
      ['33 characters', 'x'.repeat(33)],
      ['starting with a dash', '-google'],
      ['containing a space', 'goo gle'],
      ['a number', 7],
    ])('400 field provider when provider is %s', async (_name, provider) => {
      const user = await f.makeUser();
      const res = await create(pathRoute(user.id), tokenFor(user.id), { provider, ext_id: 'g' });
      expectProblem(res, problems.invalidField('provider'));
      await expectNothingWritten();
    });

    it.each([
      ['an ftp: URL', 'ftp://example.com/u/1'],
      ['a relative URL', '/u/1'],
      ['a URL without scheme', 'example.com/u/1'],
      ['a javascript: URL', 'javascript:alert(1)'],
      ['a data: URL', 'data:text/html,<script>alert(1)</script>'],
      ['2049 characters long', `https://example.com/${'p'.repeat(2049 - 'https://example.com/'.length)}`],
      ['not a string', 42],
      ['an empty string', ''],
    ])('400 field profile_url when profile_url is %s', async (_name, profileUrl) => {
      const user = await f.makeUser();
      const res = await create(pathRoute(user.id), tokenFor(user.id), {
        provider: 'google',
        ext_id: 'g',
        profile_url: profileUrl,
      });
      expectProblem(res, problems.invalidField('profile_url'));
      await expectNothingWritten();
    });

    it('400 field profile_url when a profile_url is given for the external provider', async () => {
      const user = await f.makeUser();
      const res = await create(pathRoute(user.id), tokenFor(user.id), {
        provider: 'external',
        ext_id: 'e',
        profile_url: 'https://example.com/u/1',
      });
      expectProblem(res, problems.invalidField('profile_url'));
      await expectNothingWritten();
    });

    it.each([
      ['an array', [1, 2]],
      ['a string', '{"a":1}'],
      ['a number', 3],
      ['a boolean', true],
    ])('400 field metadata when metadata is %s', async (_name, metadata) => {
      const user = await f.makeUser();
      const res = await create(pathRoute(user.id), tokenFor(user.id), { provider: 'external', ext_id: 'e', metadata });
      expectProblem(res, problems.invalidField('metadata'));
      await expectNothingWritten();
    });

    it('400 field metadata when metadata is larger than 16 KiB serialized', async () => {
      const user = await f.makeUser();
      const metadata = { blob: 'x'.repeat(16 * 1024 - '{"blob":""}'.length + 1) };
      expect(Buffer.byteLength(JSON.stringify(metadata))).toBe(16 * 1024 + 1);
      const res = await create(pathRoute(user.id), tokenFor(user.id), { provider: 'external', ext_id: 'e', metadata });
      expectProblem(res, problems.invalidField('metadata'));
      await expectNothingWritten();
    });

    it('400 field metadata when metadata is given for a provider other than external', async () => {
      const user = await f.makeUser();
      const res = await create(pathRoute(user.id), tokenFor(user.id), {
        provider: 'google',
        ext_id: 'g',
        metadata: { a: 1 },
      });
      expectProblem(res, problems.invalidField('metadata'));
      await expectNothingWritten();
    });

    it('400 field show_in_profile when show_in_profile is true for the external provider', async () => {
      const user = await f.makeUser();
      const res = await create(pathRoute(user.id), tokenFor(user.id), {
        provider: 'external',
        ext_id: 'e',
        show_in_profile: true,
      });
      expectProblem(res, problems.invalidField('show_in_profile'));
      await expectNothingWritten();
    });

    it.each([['true'], [1], [0], [null], ['yes']])('400 field show_in_profile when it is %j', async (value) => {
      const user = await f.makeUser();
      const res = await create(pathRoute(user.id), tokenFor(user.id), {
        provider: 'google',
        ext_id: 'g',
        show_in_profile: value,
      });
      expectProblem(res, problems.invalidField('show_in_profile'));
      await expectNothingWritten();
    });

    it('400 naming an unknown field (code unknown_field)', async () => {
      const user = await f.makeUser();
      const res = await create(pathRoute(user.id), tokenFor(user.id), {
        provider: 'google',
        ext_id: 'g',
        is_admin: true,
      });
      expectProblem(res, problems.invalidField('is_admin', 'unknown_field'));
      await expectNothingWritten();
    });

    it('400 naming an unknown field on POST /api/v2/user/provider/ too', async () => {
      const user = await f.makeUser();
      const res = await create(BODY_ROUTE, tokenFor(user.id), {
        user_id: user.id,
        provider: 'google',
        ext_id: 'g',
        id: 5,
      });
      expectProblem(res, problems.invalidField('id', 'unknown_field'));
      await expectNothingWritten();
    });

    it.each([
      ['a JSON array', { body: [{ provider: 'google', ext_id: 'g' }] }],
      ['a JSON string', { body: 'google' }],
      ['JSON null', { rawBody: 'null', headers: { 'content-type': 'application/json' } }],
      ['malformed JSON', { rawBody: '{"provider": "google",', headers: { 'content-type': 'application/json' } }],
      ['absent', {}],
    ])('400 when the body is %s', async (_name, options) => {
      const user = await f.makeUser();
      const res = await request(t.baseUrl, 'POST', pathRoute(user.id), { token: tokenFor(user.id), ...options });
      expectProblem(res, problems.invalid());
      await expectNothingWritten();
    });
  });
});

describe('POST /api/v2/user/:id/provider/ with PROVIDERS configured', () => {
  const t = useTestApp({ PROVIDERS: 'google,github' });
  const f = t.f;

  it('201 for a listed provider', async () => {
    const user = await f.makeUser();
    const res = await request(t.baseUrl, 'POST', pathRoute(user.id), {
      token: tokenFor(user.id),
      body: { provider: 'github', ext_id: 'gh' },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body.provider).toBe('github');
  });

  it.each(['facebook', 'external'])('400 field provider listing the allowed ones for the unlisted %s', async (p) => {
    const user = await f.makeUser();
    const res = await request(t.baseUrl, 'POST', pathRoute(user.id), {
      token: tokenFor(user.id),
      body: { provider: p, ext_id: 'x' },
    });
    expectProblem(res, problems.invalidField('provider', 'provider_not_allowed', /google, github/));
    expect(res.body.errors[0].messages[0].message).toMatch(/google, github/);
    expect(await f.countAssociations()).toBe(0);
    expect(await f.auditEvents()).toEqual([]);
  });
});
