import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { request } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

/**
 * Input that could mean two things to two readers (this service, a proxy in
 * front, an admin reading a dashboard) is refused rather than guessed at.
 */
describe('input that means two things', () => {
  const t = useTestApp();
  const f = t.f;

  const create = (userId: number, body: unknown) =>
    request(t.baseUrl, 'POST', `/api/v2/user/${userId}/provider/`, { token: tokenFor(userId), body });

  describe('a JSON body that is not UTF-8', () => {
    it.each([
      ['a lone continuation byte', [0x80]],
      ['a truncated two-byte sequence', [0xc3]],
      ['an overlong encoding of "/"', [0xc0, 0xaf]],
      ['a byte that never occurs in UTF-8', [0xff]],
    ])('400 for %s in ext_id, and nothing is written', async (_name, bytes) => {
      const user = await f.makeUser();
      const body = Buffer.concat([
        Buffer.from('{"provider": "google", "ext_id": "a'),
        Buffer.from(bytes),
        Buffer.from('b"}'),
      ]);
      const response = await request(t.baseUrl, 'POST', `/api/v2/user/${user.id}/provider/`, {
        token: tokenFor(user.id),
        rawBody: body,
        headers: { 'content-type': 'application/json' },
      });
      expectProblem(response, problems.invalid('The request body is not valid UTF-8'));
      expect(await f.countAssociations(user.id)).toBe(0);
    });

    it('two byte strings that would decode alike are not one identity: both are refused', async () => {
      const user = await f.makeUser();
      for (const bad of [0xfe, 0xff]) {
        const response = await request(t.baseUrl, 'POST', `/api/v2/user/${user.id}/provider/`, {
          token: tokenFor(user.id),
          rawBody: Buffer.concat([
            Buffer.from('{"provider": "google", "ext_id": "'),
            Buffer.from([bad]),
            Buffer.from('"}'),
          ]),
          headers: { 'content-type': 'application/json' },
        });
        expect(response.status).toBe(400);
      }
      expect(await f.countAssociations()).toBe(0);
    });

    it('201 for valid multi-byte UTF-8 (é, 😀)', async () => {
      const user = await f.makeUser();
      const response = await create(user.id, { provider: 'google', ext_id: 'é😀' });
      expect(response.status, response.text).toBe(201);
      expect(response.body.ext_id).toBe('é😀');
    });
  });

  describe('two Authorization headers', () => {
    /** A raw request with the header lines as given (fetch would merge repeated headers into one). */
    const raw = (lines: string[]): Promise<string> =>
      new Promise((resolve, reject) => {
        const { hostname, port } = new URL(t.baseUrl);
        // Written, not ended: the server closes the connection after its answer (Connection: close).
        const socket = connect(Number(port), hostname, () =>
          socket.write(
            ['GET /api/v2/user/me/ HTTP/1.1', `Host: ${hostname}`, 'Connection: close', ...lines, '', ''].join('\r\n'),
          ),
        );
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });

    it('400, whichever comes first, even when both tokens are valid', async () => {
      const [alice, bob] = [await f.makeUser(), await f.makeUser()];
      const text = await raw([
        `Authorization: Bearer ${tokenFor(alice.id)}`,
        `authorization: Bearer ${tokenFor(bob.id)}`,
      ]);
      expect(text).toMatch(/^HTTP\/1\.1 400 /);
      const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
      expect(body).toMatchObject({
        status: 400,
        detail: 'The request has more than one Authorization header',
        errors: [{ code: 'invalid', message: 'The request has more than one Authorization header' }],
      });
    });

    it('200 with exactly one', async () => {
      const alice = await f.makeUser();
      expect(await raw([`Authorization: Bearer ${tokenFor(alice.id)}`])).toMatch(/^HTTP\/1\.1 200 /);
    });
  });

  describe('ext_id that shows as something else', () => {
    it.each([
      ['a right-to-left override (U+202E)', 'abc\u202Edef'],
      ['a left-to-right isolate (U+2066)', '\u2066123'],
      ['a zero-width space (U+200B)', '12\u200B3'],
      ['a zero-width joiner (U+200D)', 'a\u200Db'],
      ['a byte order mark (U+FEFF)', '\uFEFF123'],
      ['a soft hyphen (U+00AD)', 'ab\u00ADc'],
      ['a leading space', ' 123'],
      ['a trailing space', '123 '],
      ['a trailing no-break space (U+00A0)', '123\u00A0'],
      ['a leading ideographic space (U+3000)', '\u3000123'],
    ])('400 field ext_id for %s on create, and nothing is written', async (_name, extId) => {
      const user = await f.makeUser();
      expectProblem(
        await create(user.id, { provider: 'google', ext_id: extId }),
        problems.invalidField('ext_id', 'invalid', /invisible formatting characters/),
      );
      expect(await f.countAssociations()).toBe(0);
    });

    it('201 for spaces inside an ext_id (only leading and trailing ones are refused)', async () => {
      const user = await f.makeUser();
      expect((await create(user.id, { provider: 'external', ext_id: 'Jane Doe' })).status).toBe(201);
    });

    it('NFC and NFD spellings are two identities, stored as given (no Unicode normalization)', async () => {
      const user = await f.makeUser();
      const composed = 'jos\u00e9';
      const decomposed = 'jose\u0301';
      expect((await create(user.id, { provider: 'external', ext_id: composed })).body.ext_id).toBe(composed);
      expect((await create(user.id, { provider: 'external', ext_id: decomposed })).body.ext_id).toBe(decomposed);
      expect(await f.countAssociations(user.id)).toBe(2);
    });

    it('a link stored before these rules can still be deleted by its exact ext_id', async () => {
      const user = await f.makeUser();
      await t.dataSource.query(
        `INSERT INTO social_associations (user_id, provider, ext_id) VALUES ($1, 'google', $2)`,
        [user.id, 'old\u200Bid'],
      );
      await t.dataSource.query('UPDATE users SET association_count = 1 WHERE id = $1', [user.id]);
      const response = await request(t.baseUrl, 'DELETE', `/api/v2/user/${user.id}/provider/`, {
        token: tokenFor(user.id),
        body: { provider: 'google', ext_id: 'old\u200Bid' },
      });
      expect(response.status, response.text).toBe(204);
      expect(await f.countAssociations(user.id)).toBe(0);
    });

    it('400 field ext_id on sign-up for a user ext_id with a bidi override', async () => {
      const admin = await f.makeAdmin();
      const response = await request(t.baseUrl, 'POST', '/api/v2/sso/signup/', {
        token: tokenFor(admin.id),
        body: { username: 'mallory', ext_id: '42\u202E' },
      });
      expectProblem(response, problems.invalidField('ext_id', 'invalid'));
    });
  });
});
