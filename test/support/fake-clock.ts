/** A Clock (src/stream/clock.ts) that moves only when a test says so: ticks and lifetimes without real seconds. */
import type { Clock, TimerHandle } from "../../src/stream/clock";

interface Timer {
  at: number;
  readonly every: number | null;
  readonly run: () => void;
}

export class FakeClock implements Clock {
  private time: number;
  private readonly timers = new Map<TimerHandle, Timer>();

  constructor(start = 1_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(run: () => void, ms: number): TimerHandle {
    return this.add({ at: this.time + Math.max(0, ms), every: null, run });
  }

  setInterval(run: () => void, ms: number): TimerHandle {
    return this.add({ at: this.time + ms, every: Math.max(1, ms), run });
  }

  clear(handle: TimerHandle): void {
    this.timers.delete(handle);
  }

  /** Pending timers (a stream that ended leaves none). */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, running every timer due on the way, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: [TimerHandle, Timer] | undefined;
      for (const entry of this.timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      const [handle, timer] = next;
      this.time = timer.at;
      if (timer.every === null) this.timers.delete(handle);
      else timer.at += timer.every;
      timer.run();
    }
    this.time = end;
  }

  private add(timer: Timer): TimerHandle {
    const handle = {} as TimerHandle;
    this.timers.set(handle, timer);
    return handle;
  }
}
