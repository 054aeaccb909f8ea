import { createHmac, randomBytes } from 'node:crypto';

/*
 * Standard Webhooks (standardwebhooks.com): the secret is `whsec_` and the base64 of
 * its key bytes; a message is signed as `v1,` and the base64 HMAC-SHA256, under the
 * key, of `<webhook-id>.<webhook-timestamp>.<body>`. Any of the specification's
 * libraries (the `standardwebhooks` npm package among them) verifies it.
 */

const SECRET_PREFIX = 'whsec_';
/** 32 key bytes: the specification asks for 24 to 64. */
const SECRET_BYTES = 32;

export function newWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

/** The headers of one delivery attempt: the id stays the same across retries, the timestamp is the attempt's. */
export function signedHeaders(secret: string, messageId: string, body: string, at: Date): Record<string, string> {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  const signature = createHmac('sha256', key).update(`${messageId}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': messageId, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}
