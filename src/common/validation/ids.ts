/** Ids are positive integers that fit a signed 32-bit column. */
export const MAX_ID = 2_147_483_647;

/**
 * The JSON Schema of an id, written beside its rule (src/openapi/schemas.ts
 * builds on it; nothing here imports the OpenAPI layer).
 */
export const ID_SCHEMA = { type: 'integer', format: 'int32', minimum: 1, maximum: MAX_ID } as const;

/**
 * Parses a path/query/body id strictly: a positive int32 given as a number or as
 * plain decimal digits. Anything else (`abc`, `0`, `-1`, `1.5`, `1e3`, `007`) is undefined.
 */
export function parseId(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= 1 && value <= MAX_ID ? value : undefined;
  }
  if (typeof value === 'string' && /^[1-9][0-9]{0,9}$/.test(value)) {
    const id = Number(value);
    return id <= MAX_ID ? id : undefined;
  }
  return undefined;
}
