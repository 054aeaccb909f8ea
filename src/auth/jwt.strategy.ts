import { Injectable, UnauthorizedException } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { UsersService } from '../users/users.service';
import { Caller } from './caller';
import { TokenVerifier } from './token-verifier';

type VerifyCallback = (error: Error | null, userId?: number) => void;

/**
 * passport-jwt hands the token and the "key" from secretOrKeyProvider to its
 * static JwtVerifier (jsonwebtoken by default). Our key is the TokenVerifier of
 * the configured mode, so the verifier delegates to it: HS256 answers
 * synchronously (KeyObject built once, only HS256 accepted), JWKS with a promise
 * (only the configured asymmetric algorithms accepted).
 */
(Strategy as unknown as { JwtVerifier: unknown }).JwtVerifier = (
  token: string,
  verifier: TokenVerifier,
  _options: unknown,
  callback: VerifyCallback,
): void => {
  let result: number | Promise<number>;
  try {
    result = verifier.verify(token);
  } catch (error) {
    callback(error as Error);
    return;
  }
  if (typeof result === 'number') {
    callback(null, result);
    return;
  }
  result.then(
    (userId) => callback(null, userId),
    (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
  );
};

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    verifier: TokenVerifier,
    private readonly users: UsersService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // Typed as a string key; it reaches our JwtVerifier above, which expects the TokenVerifier.
      secretOrKeyProvider: (_request: unknown, _token: unknown, done: (error: null, key: string) => void) =>
        done(null, verifier as unknown as string),
    });
  }

  /** Role and activation always come from the database, never from the token. */
  async validate(userId: number): Promise<Caller> {
    const user = await this.users.findSignInState(userId);
    if (!user || !user.isActive)
      throw new UnauthorizedException('The user of this token does not exist or is inactive');
    return {
      id: user.id,
      role: user.role,
      hasUsablePassword: user.hasUsablePassword,
      isAdmin: user.role === 'admin',
    };
  }
}
