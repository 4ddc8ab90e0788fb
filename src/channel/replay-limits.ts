/**
 * Bounds on history replay, so one cheap request (`?lastEventId=0`) cannot
 * make a channel read and hand out its whole history again and again:
 * - per stream, a byte rate and a total (ReplayAllowance): past the total the
 *   stream ends cleanly and the browser resumes where it was, on a new
 *   connection (which costs it a request);
 * - per channel, how many streams may be catching up at once (ReplayGate):
 *   the others wait their turn, they are not refused, so a reconnect storm
 *   after a deploy still catches everyone up.
 * Pure bookkeeping on timestamps: no timers (objects must hibernate).
 */

export interface ReplaySettings {
  /** Replay bytes one stream may receive per second. */
  readonly bytesPerSecond: number;
  /** Replay bytes one stream may receive in all, before it ends cleanly. */
  readonly maxBytesPerStream: number;
  /** Streams of one channel that may be catching up at the same time. */
  readonly concurrency: number;
}

export type Allowance = { readonly ok: true } | { readonly waitMs: number } | { readonly exhausted: true };

/** One stream's replay budget: a token bucket of one second's bytes, and a total. */
export class ReplayAllowance {
  private tokens: number;
  private taken = 0;
  private at: number;

  constructor(
    private readonly settings: Pick<ReplaySettings, "bytesPerSecond" | "maxBytesPerStream">,
    now = Date.now(),
  ) {
    this.tokens = settings.bytesPerSecond;
    this.at = now;
  }

  /** May `bytes` more be replayed now? (A page larger than a second's worth passes a full bucket.) */
  check(bytes: number, now = Date.now()): Allowance {
    if (this.taken >= this.settings.maxBytesPerStream) return { exhausted: true };
    const rate = this.settings.bytesPerSecond;
    this.tokens = Math.min(rate, this.tokens + ((now - this.at) / 1000) * rate);
    this.at = now;
    if (this.tokens >= Math.min(bytes, rate)) return { ok: true };
    return { waitMs: Math.ceil(((Math.min(bytes, rate) - this.tokens) / rate) * 1000) };
  }

  /** Records bytes actually replayed. */
  took(bytes: number): void {
    this.tokens -= bytes;
    this.taken += bytes;
  }
}

/** A stream that asked for no page (or no turn) for this long is no longer counted. */
const LEASE_MS = 2_000;
/** How long a page takes to be asked for, read and sent, roughly: a waiting stream's turn comes after its place × this. */
const TURN_MS = 100;
/** The longest a waiting stream is told to wait before asking again (it keeps its place). */
const MAX_WAIT_MS = 2_000;

/**
 * Which streams of a channel are catching up: at most `concurrency` at once,
 * the others wait in first-come order (each keeps its place while it keeps
 * asking) and are told to ask again when their turn should be near, so the
 * wait costs few requests and nobody is passed over.
 */
export class ReplayGate {
  private readonly leases = new Map<unknown, number>();
  /** Waiting streams in arrival order, with when each last asked. */
  private readonly queue = new Map<unknown, number>();

  constructor(private readonly concurrency: number) {}

  /** 0 if `stream` may read a page now (it holds a lease until it stops asking), else how long to wait. */
  enter(stream: unknown, now = Date.now()): number {
    for (const [key, at] of this.leases) if (now - at > LEASE_MS) this.leases.delete(key);
    for (const [key, at] of this.queue) if (now - at > LEASE_MS + MAX_WAIT_MS) this.queue.delete(key);
    if (this.leases.has(stream)) {
      this.leases.set(stream, now);
      return 0;
    }
    const free = this.concurrency - this.leases.size;
    let place = 0;
    for (const key of this.queue.keys()) {
      if (key === stream) break;
      place += 1;
    }
    if (place < free) {
      this.queue.delete(stream);
      this.leases.set(stream, now);
      return 0;
    }
    this.queue.set(stream, now); // a stream already waiting keeps its place (a Map keeps insertion order)
    return Math.min(MAX_WAIT_MS, (place - free + 1) * TURN_MS);
  }

  /** The stream caught up (or ended): its slot is free at once. */
  leave(stream: unknown): void {
    this.leases.delete(stream);
    this.queue.delete(stream);
  }
}
