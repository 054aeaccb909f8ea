import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { JwtAuthGuard } from './auth/jwt-auth.guard';
import { ERROR_TRANSLATORS, ErrorTranslator } from './common/errors/error-translator';
import { ProblemDetailsFilter } from './common/errors/problem-details.filter';
import { ConcurrencyLimitGuard } from './common/http/concurrency-limit.guard';
import { ShutdownDrain } from './common/http/shutdown-drain';
import { RateLimitGuard } from './common/rate-limit/rate-limit.guard';
import { RateLimitModule } from './common/rate-limit/rate-limit.module';
import { AppValidationPipe } from './common/validation/validation.pipe';
import { AppConfig } from './config/app-config';
import { AppConfigModule } from './config/config.module';
import { translateDatabaseError } from './database/database-errors';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { SocialAssociationsModule } from './social-associations/social-associations.module';
import { UsersModule } from './users/users.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    const rateLimited = config.rateLimit.perMinute > 0;
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        // The server owns its database: it never runs on an engine another process may stop.
        DatabaseModule.forRoot({ shareRunningEngine: false }),
        AuthModule,
        UsersModule,
        SocialAssociationsModule,
        AuditModule,
        WebhooksModule,
        HealthModule,
        ...(rateLimited ? [RateLimitModule.forRoot()] : []),
      ],
      providers: [
        // Global guards run in this order, before a route's own guards (SelfOrAdmin, Admin): the rate
        // limit needs the caller that JwtAuthGuard found, and requests they refuse never take a turn.
        { provide: APP_GUARD, useClass: JwtAuthGuard },
        ...(rateLimited ? [{ provide: APP_GUARD, useClass: RateLimitGuard }] : []),
        { provide: APP_GUARD, useClass: ConcurrencyLimitGuard },
        { provide: APP_PIPE, useClass: AppValidationPipe },
        { provide: ERROR_TRANSLATORS, useValue: [translateDatabaseError] satisfies ErrorTranslator[] },
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        ShutdownDrain,
      ],
    };
  }
}
