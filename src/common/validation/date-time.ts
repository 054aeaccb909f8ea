import { ValidateBy } from 'class-validator';

/*
 * The date-time filters of the admin APIs (audit trail, association search): one
 * accepted form, the years PostgreSQL can hold, and comparisons to the microsecond.
 */

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

export function IsDateTime(field: string): PropertyDecorator {
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
export const restorePlusOffset = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.replace(/ (\d{2}:\d{2})$/, '+$1') : value;
