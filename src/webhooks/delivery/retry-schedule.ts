/** The first retry comes about this long after a failure; each later one waits twice as long. */
const FIRST_RETRY_MS = 1000;
/** The longest wait between two attempts: an hour, or a tenth of a short retry period (at least a second). */
const LONGEST_WAIT_MS = 3_600_000;

/**
 * How long to wait before attempt `failures + 1` of an event that failed `failures`
 * times: exponential, capped, with jitter (between half the step and the step), so
 * the streams that failed together (a receiver down) do not all come back at once.
 */
export function retryDelayMs(failures: number, retryPeriodMs: number, random: () => number = Math.random): number {
  const cap = Math.max(1000, Math.min(LONGEST_WAIT_MS, retryPeriodMs / 10));
  const step = Math.min(cap, FIRST_RETRY_MS * 2 ** Math.min(failures - 1, 30));
  return Math.round(step / 2 + (random() * step) / 2);
}
