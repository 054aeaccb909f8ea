/**
 * Builds an expected error (one answered as a 4xx, never debugged) without
 * capturing a stack trace: capturing one cost ~8% of CPU on the 401 path and
 * several percent on 404s (bench/RESULTS.md profiles).
 */
export function withoutStackTrace<T>(create: () => T): T {
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return create();
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}
