import { beforeEach, describe, expect, it } from 'vitest';
import {
  accessProbe,
  ACTORS,
  arrange,
  expectNoChange,
  Fixture,
  PROBLEM_BY_STATUS,
  ROUTES,
} from '../support/access-control';
import { expectProblem } from '../support/problem';
import { useTestApp } from '../support/use-test-app';

/** Every route x every actor: the status, and the exact rows an allowed request changes (docs/security.md). */
describe('access control: the API as an attacker would try it', () => {
  const t = useTestApp();
  const f = t.f;
  const { attempt } = accessProbe(t);
  let fx: Fixture;
  beforeEach(async () => {
    fx = await arrange(f);
  });

  describe('the matrix: every route × every actor', () => {
    describe.each(ROUTES)('$route', (route) => {
      it.each(ACTORS)('%s', async (actor) => {
        const expected = route.expected[actor];
        const { response, change } = await attempt(route.method, route.path(fx), {
          token: fx.token(actor),
          ...(route.body ? { body: route.body(fx) } : {}),
        });
        expect(response.status, response.text).toBe(expected);
        if (expected >= 400) {
          expectProblem(response, PROBLEM_BY_STATUS[expected]);
          expectNoChange(change);
        } else {
          route.check(response, change, fx, actor);
        }
      });
    });
  });
});
