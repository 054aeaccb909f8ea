import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d{1,10}$/.test(value) ? Number(value) : value;

/** `limit` of a paged list: an integer from 1 to `max`, `fallback` when absent (the service applies it). */
export function PageLimit(max: number, fallback: number): PropertyDecorator {
  const message = `limit must be an integer from 1 to ${max}`;
  return applyDecorators(
    ApiPropertyOptional({
      type: 'integer',
      format: 'int32',
      minimum: 1,
      maximum: max,
      default: fallback,
      description: 'Page size',
    }),
    IsOptional(),
    Transform(toInt),
    IsInt({ message }),
    Min(1, { message }),
    Max(max, { message }),
  );
}
