import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min, ValidateBy } from 'class-validator';
import { IsId, IsProviderSlug } from '../../common/validation/decorators';
import { OPENAPI_ID, OPENAPI_PROVIDER, withoutExample } from '../../openapi/schemas';
import { decodeCursor } from '../audit-cursor';

/** An ISO-8601 date-time with a zone: `2025-01-31T12:00:00Z`, `2025-01-31T13:00:00.250+01:00`. */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(?:Z|[+-](\d{2}):(\d{2}))$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * True for a real instant in DATE_TIME form (no 2025-02-30, no 24:00, no +25:00),
 * in the years 0001 to 9999: PostgreSQL has no year 0 (ISO 8601's 0000 is its 1 BC).
 */
export function isDateTime(value: unknown): value is string {
  const match = typeof value === 'string' ? DATE_TIME.exec(value) : null;
  if (!match) return false;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = match
    .slice(1)
    .map((part) => Number(part ?? 0));
  return (
    year >= 1 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetHours <= 23 &&
    offsetMinutes <= 59
  );
}

/**
 * The instant of a valid DATE_TIME, in microseconds since 1970 (PostgreSQL's
 * precision; a Date keeps milliseconds only, and its Date.UTC reads years below
 * 100 as 19xx).
 */
export function epochMicros(value: string): bigint {
  const [, year, month, day, hour, minute, second, fraction = '', sign, offsetHours = '0', offsetMinutes = '0'] =
    /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:Z|([+-])(\d{2}):(\d{2}))$/.exec(value)!;
  const date = new Date(0);
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  date.setUTCHours(Number(hour), Number(minute), Number(second));
  const offsetMinutesTotal = (Number(offsetHours) * 60 + Number(offsetMinutes)) * (sign === '-' ? -1 : 1);
  const utcMillis = date.getTime() - offsetMinutesTotal * 60_000;
  return BigInt(utcMillis) * 1000n + BigInt(fraction.padEnd(6, '0') || '0');
}

function IsDateTime(field: string): PropertyDecorator {
  return ValidateBy(
    { name: 'isDateTime', validator: { validate: isDateTime } },
    {
      message: `${field} must be an ISO-8601 date-time with a time zone in the years 0001 to 9999, e.g. 2025-01-31T12:00:00Z`,
    },
  );
}

/**
 * A `+02:00` offset arrives as ` 02:00` when the client did not percent-encode
 * the `+` (form encoding reads it as a space): put the sign back.
 */
const restorePlusOffset = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.replace(/ (\d{2}:\d{2})$/, '+$1') : value;

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d{1,10}$/.test(value) ? Number(value) : value;

/**
 * Query of GET /api/v2/audit/social-associations/ (no example values: Swagger UI
 * would pre-fill them, and each filter changes what the request means). Filters combine with AND;
 * the time window is [since, until). `cursor` is the `next` of the previous page,
 * asked with the same filters.
 */
export class ListAuditEventsQueryDto {
  @ApiPropertyOptional({ ...OPENAPI_ID, description: 'Only events about this user (`target_user_id`)' })
  @IsOptional()
  @IsId('user_id')
  user_id?: number;

  @ApiPropertyOptional({
    ...withoutExample(OPENAPI_PROVIDER),
    description: 'Only events about identities of this provider',
  })
  @IsOptional()
  @IsProviderSlug()
  provider?: string;

  @ApiPropertyOptional({
    type: 'string',
    format: 'date-time',
    maxLength: 32,
    description: 'Only events at or after this instant (ISO-8601 with a time zone)',
  })
  @IsOptional()
  @Transform(restorePlusOffset)
  @IsDateTime('since')
  since?: string;

  @ApiPropertyOptional({
    type: 'string',
    format: 'date-time',
    maxLength: 32,
    description: 'Only events before this instant (ISO-8601 with a time zone)',
  })
  @IsOptional()
  @Transform(restorePlusOffset)
  @IsDateTime('until')
  until?: string;

  @ApiPropertyOptional({
    type: 'integer',
    format: 'int32',
    minimum: 1,
    maximum: 100,
    default: 50,
    description: 'Page size',
  })
  @IsOptional()
  @Transform(toInt)
  @IsInt({ message: 'limit must be an integer from 1 to 100' })
  @Min(1, { message: 'limit must be an integer from 1 to 100' })
  @Max(100, { message: 'limit must be an integer from 1 to 100' })
  limit?: number;

  @ApiPropertyOptional({
    type: 'string',
    pattern: '^[A-Za-z0-9_-]{1,16}$',
    maxLength: 16,
    description: '`next` of the previous page (opaque); ask it with the same filters',
  })
  @IsOptional()
  @ValidateBy(
    {
      name: 'isCursor',
      validator: { validate: (value: unknown) => typeof value === 'string' && decodeCursor(value) !== undefined },
    },
    { message: 'cursor must be the `next` value of a previous page' },
  )
  cursor?: string;
}
