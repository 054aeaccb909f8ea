import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { AppConfig } from '../config/app-config';
import { UsersModule } from '../users/users.module';
import { AccessTokenCodec, Hs256TokenVerifier } from './access-token';
import { JwksTokenVerifier } from './jwks-token-verifier';
import { JwtStrategy } from './jwt.strategy';
import { TokenVerifier } from './token-verifier';
import { TokensService } from './tokens.service';

@Module({
  imports: [PassportModule, UsersModule],
  providers: [
    {
      // One mode per deployment: JWKS_URI set → the identity provider's keys, else the shared secret.
      provide: TokenVerifier,
      inject: [AppConfig],
      useFactory: (config: AppConfig): TokenVerifier =>
        config.jwt.mode === 'jwks'
          ? new JwksTokenVerifier(config.jwt)
          : new Hs256TokenVerifier(new AccessTokenCodec(config.jwt)),
    },
    JwtStrategy,
    TokensService,
  ],
  // JwtStrategy: for the global JwtAuthGuard, which AppModule registers.
  exports: [TokensService, JwtStrategy],
})
export class AuthModule {}
