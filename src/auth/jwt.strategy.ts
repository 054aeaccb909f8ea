import { Injectable, UnauthorizedException } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { UsersService } from '../users/users.service';
import { AccessTokenClaims, AccessTokenCodec } from './access-token';
import { Caller } from './caller';

type VerifyCallback = (error: Error | null, claims?: AccessTokenClaims) => void;

/**
 * passport-jwt hands the token and the "key" from secretOrKeyProvider to its
 * static JwtVerifier (jsonwebtoken by default). Our key is the AccessTokenCodec,
 * so the verifier delegates to it: one HS256 implementation, used for signing
 * and verifying, with its KeyObject built once and only HS256 accepted.
 */
(Strategy as unknown as { JwtVerifier: unknown }).JwtVerifier = (
  token: string,
  codec: AccessTokenCodec,
  _options: unknown,
  callback: VerifyCallback,
): void => {
  let claims: AccessTokenClaims;
  try {
    claims = codec.verify(token);
  } catch (error) {
    callback(error as Error);
    return;
  }
  callback(null, claims);
};

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    codec: AccessTokenCodec,
    private readonly users: UsersService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // Typed as a string key; it reaches our JwtVerifier above, which expects the codec.
      secretOrKeyProvider: (_request: unknown, _token: unknown, done: (error: null, key: string) => void) =>
        done(null, codec as unknown as string),
    });
  }

  /** Role and activation always come from the database, never from the token. */
  async validate(claims: AccessTokenClaims): Promise<Caller> {
    const user = await this.users.findById(claims.user_id);
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
