/**
 * Time for the stream's ticks (heartbeat, stall check, lifetime, presence
 * call-backs), injectable so their tests run on a fake clock instead of
 * real seconds. Production uses the platform's timers.
 */
export interface Clock {
  now(): number;
  /** Runs `run` once after `ms`; the handle clears it. */
  setTimeout(run: () => void, ms: number): TimerHandle;
  /** Runs `run` every `ms`; the handle clears it. */
  setInterval(run: () => void, ms: number): TimerHandle;
  clear(handle: TimerHandle): void;
}

export type TimerHandle = { readonly __timer: true };

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms) as unknown as TimerHandle,
  setInterval: (run, ms) => setInterval(run, ms) as unknown as TimerHandle,
  clear: (handle) => clearTimeout(handle as unknown as ReturnType<typeof setTimeout>),
};
