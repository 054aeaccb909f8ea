/**
 * The HTTP adapter counts the requests it receives (app.setup.ts): work in the
 * background (webhook delivery) reads the count to give way while requests come in.
 */
export interface CountsRequests {
  readonly requestsReceived: number;
}

/** The adapter's count, or 0 when the adapter does not keep one (no HTTP server: the CLI). */
export function requestsReceived(adapter: unknown): number {
  const count = (adapter as Partial<CountsRequests> | undefined)?.requestsReceived;
  return typeof count === 'number' ? count : 0;
}
