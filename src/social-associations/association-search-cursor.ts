import { MAX_ID } from '../common/validation/ids';
import { SearchPosition } from './social-associations.repository';

/** created_at as the search formats it: UTC, to the microsecond. */
const CREATED_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/**
 * Page cursors of the admin search: the (created_at, id) of the last row of a
 * page, base64url encoded. Opaque to clients; only its canonical encoding is
 * accepted back.
 */
export function encodeSearchCursor(position: SearchPosition): string {
  return Buffer.from(`${position.createdAt}|${position.id}`, 'utf8').toString('base64url');
}

/** The position a cursor stands for, or undefined when it is not one this service issued. */
export function decodeSearchCursor(cursor: string): SearchPosition | undefined {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) return undefined;
  const [createdAt, idText, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (rest.length > 0 || !CREATED_AT.test(createdAt) || !/^[1-9][0-9]{0,9}$/.test(idText ?? '')) return undefined;
  const position = { createdAt, id: Number(idText) };
  return position.id <= MAX_ID && encodeSearchCursor(position) === cursor ? position : undefined;
}
