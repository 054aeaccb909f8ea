import { describe, expect, it } from 'vitest';
import { request } from '../support/http';
import { expectProblem, problems } from '../support/problem';
import { tokenFor } from '../support/tokens';
import { useTestApp } from '../support/use-test-app';

/** An error answer does not grow with what the client sent, nor does the work to find it. */
describe('error answers are bounded', () => {
  const t = useTestApp();
  const f = t.f;

  const manyFields = (n: number): Record<string, number> =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`u${i}`, 1]));
  /** The errors of the first `n` of those fields, each refused as unknown. */
  const unknownFields = (n: number): [string, string][] =>
    Array.from({ length: n }, (_, i) => [`u${i}`, 'unknown_field']);

  it('5,000 unknown fields in a 49 KB body: one 400 of under 1 KB', async () => {
    const user = await f.makeUser();
    const body = { provider: 'google', ext_id: '1', ...manyFields(5000) };
    expect(JSON.stringify(body).length).toBeGreaterThan(45_000);
    const response = await request(t.baseUrl, 'POST', `/api/v2/user/${user.id}/provider/`, {
      token: tokenFor(user.id),
      body,
    });
    expectProblem(response, problems.invalid('The request body has more than 32 fields'));
    expect(response.body.errors).toHaveLength(1);
    expect(response.text.length).toBeLessThan(1024);
    expect(await f.countAssociations()).toBe(0);
  });

  it('1,700 unknown query parameters (11 KB): one 400 of under 1 KB', async () => {
    const query = Array.from({ length: 1700 }, (_, i) => `p${i}=1`).join('&');
    expect(query.length).toBeGreaterThan(11_000);
    const response = await request(t.baseUrl, 'GET', `/api/v2/audit/social-associations/?${query}`, {
      token: tokenFor((await f.makeAdmin()).id),
    });
    expectProblem(response, problems.invalid('The request query has more than 32 fields'));
    expect(response.text.length).toBeLessThan(1024);
  });

  it('within the field bound, at most 20 problems are listed and the rest counted in detail', async () => {
    const user = await f.makeUser();
    const response = await request(t.baseUrl, 'POST', `/api/v2/user/${user.id}/provider/`, {
      token: tokenFor(user.id),
      body: { provider: 'google', ext_id: '1', ...manyFields(25) },
    });
    expectProblem(response, problems.invalidFields(unknownFields(20), /; and 5 more problems$/));
    expect(response.body.errors).toHaveLength(20);
  });

  it('32 fields are still checked field by field (the bound is not a new rule for real requests)', async () => {
    const user = await f.makeUser();
    const response = await request(t.baseUrl, 'POST', `/api/v2/user/${user.id}/provider/`, {
      token: tokenFor(user.id),
      body: { provider: 'google', ext_id: '1', ...manyFields(30) },
    });
    expectProblem(response, problems.invalidFields(unknownFields(20), /; and 10 more problems$/));
  });
});
