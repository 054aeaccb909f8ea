/**
 * Page cursors of a webhook's delivery log: the id (a bigint, as decimal text) of
 * the last attempt of a page, base64url encoded. Only the canonical encoding is accepted back.
 */
export function encodeDeliveryCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

/** The id a cursor stands for, or undefined when it is not one this service issued. */
export function decodeDeliveryCursor(cursor: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,24}$/.test(cursor)) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  // Up to 9,999,999,999,999,999 (16 digits): within bigint, and more attempts than a deployment makes.
  if (!/^[1-9][0-9]{0,15}$/.test(text)) return undefined;
  return encodeDeliveryCursor(text) === cursor ? text : undefined;
}
