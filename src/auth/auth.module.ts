import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { AppConfig } from '../config/app-config';
import { UsersModule } from '../users/users.module';
import { AccessTokenCodec } from './access-token';
import { JwtStrategy } from './jwt.strategy';
import { TokensService } from './tokens.service';

@Module({
  imports: [PassportModule, UsersModule],
  providers: [
    {
      provide: AccessTokenCodec,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new AccessTokenCodec(config.jwt),
    },
    JwtStrategy,
    TokensService,
  ],
  exports: [TokensService],
})
export class AuthModule {}
