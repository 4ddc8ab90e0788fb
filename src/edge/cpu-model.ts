/**
 * The modelled CPU cost of a bridged stream's writes. A Worker cannot read
 * its own CPU time, and a plain invocation's CPU limit covers the whole
 * stream (10 ms on the Free plan), so each stream counts what its writes
 * would cost and ends cleanly before STREAM_CPU_BUDGET_MS (see
 * bridged-stream.ts). Deliberately pessimistic against local measurements
 * (docs/BENCHMARKS.md, docs/COSTS.md): ending a stream early costs one
 * reconnect; running past the limit would cost the stream.
 */
export const CPU_MODEL = {
  /**
   * A delivery: the socket message, its decode, the enqueue. 100: what the Worker's own workerd
   * process measured per delivery locally (99 µs, bench/results/modes.json, relay-split), socket
   * writes included.
   */
  deliveryMicros: 100,
  /** Per KiB written, on top. */
  perKiBMicros: 8,
  /**
   * A heartbeat comment to an idle stream: a timer and a 14-byte enqueue, no message to decode. A presence
   * frame costs the same (StreamOutlet.writeLatest): a short JSON message read and a small enqueue, no batch
   * decode and no view; charged as a delivery, one join and leave a second rotated every stream on the channel
   * every 92 s instead of about every 42 minutes.
   */
  heartbeatMicros: 15,
  /**
   * A view's rewrite of a delivery (parse and encode again, e.g. a multi-channel stream's ids, or the Mercure
   * hub's matchers), on top. 30: measured end to end in workerd, a stream of 8 channels cost 23-27 us more per
   * delivery than a single-channel stream (3 interleaved rounds, N = 500, bench/results/subscriptions/), and
   * a Mercure subscription 7-12 us (one exact match) to 13-31 us (8 URL patterns); Node alone times the
   * rewrite at 2-5 us + 0.4-0.7 us per KiB (bench/experiments/multi-view.ts, archived at commit 09033d7).
   */
  viewMicros: 30,
  viewPerKiBMicros: 1,
  /**
   * One unit of Mercure matcher cost (MERCURE_LIMITS.maxMatcherCost) on one topic character, in nanoseconds:
   * a Mercure stream is charged its matchers' cost x the length of each update's topics, on top of the view.
   * 120: scripts/matcher-cpu.ts times hostile accepted patterns in Node (the same V8; workerd stops its
   * clock while code runs), in CPU time, on topics at the length limit, ASCII and non-ASCII (which a URL
   * percent-encodes up to ninefold); the worst, a two-word LinearPattern on a non-ASCII topic, took
   * 63-123 ns on the project's 2-core machines (the higher figures at loads of 11-18); one-word patterns
   * 31-65 ns.
   */
  matcherNanos: 120,
} as const;

export function deliveryCostMicros(bytes: number): number {
  return CPU_MODEL.deliveryMicros + Math.ceil(bytes / 1024) * CPU_MODEL.perKiBMicros;
}

/** What matching `work` (matcher cost x topic characters, see matchingCost in src/mercure/matchers.ts) adds. */
export function matchingCostMicros(work: number): number {
  return Math.ceil((work * CPU_MODEL.matcherNanos) / 1000);
}

/** What a view's rewrite of `bytes` of frames adds to their delivery. */
export function viewCostMicros(bytes: number): number {
  return CPU_MODEL.viewMicros + Math.ceil(bytes / 1024) * CPU_MODEL.viewPerKiBMicros;
}
