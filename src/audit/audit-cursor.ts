import { MAX_ID } from '../common/validation/ids';

/**
 * Page cursors of the audit log: the id of the last event of a page, base64url
 * encoded. Opaque to clients; only its canonical encoding is accepted back.
 */
export function encodeCursor(lastId: number): string {
  return Buffer.from(String(lastId), 'utf8').toString('base64url');
}

/** The id a cursor stands for, or undefined when it is not one this service issued. */
export function decodeCursor(cursor: string): number | undefined {
  if (!/^[A-Za-z0-9_-]{1,16}$/.test(cursor)) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return undefined;
  const id = Number(text);
  return id <= MAX_ID && encodeCursor(id) === cursor ? id : undefined;
}
