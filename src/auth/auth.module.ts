import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { UsersModule } from '../users/users.module';
import { JwtStrategy } from './jwt.strategy';
import { TokensService } from './tokens.service';

@Module({
  imports: [PassportModule, UsersModule],
  providers: [JwtStrategy, TokensService],
  // JwtStrategy: for the global JwtAuthGuard, which AppModule registers.
  exports: [TokensService, JwtStrategy],
})
export class AuthModule {}
