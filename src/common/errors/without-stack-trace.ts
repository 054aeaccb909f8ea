/*
 * Expected errors (answered as a 4xx, never debugged) are built without capturing a
 * stack trace: capturing one cost ~8% of CPU on the 401 path and several percent on
 * 404s (bench/RESULTS.md profiles). Everything that does so goes through this file.
 */

/** Builds an error (any class, a framework's included) without a stack trace. */
export function withoutStackTrace<T>(create: () => T): T {
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return create();
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

/** The base of our own expected errors: constructed without a stack trace. */
export class ExpectedError extends Error {
  constructor(message: string) {
    // super() must come first in a constructor, so it cannot run inside withoutStackTrace.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
  }
}
