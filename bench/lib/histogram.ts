/**
 * Latency histogram with logarithmic buckets (0.5 % wide), so every
 * delivery is counted without storing it: millions of deliveries cost a few
 * kilobytes, and workers can send theirs to the coordinator to be merged.
 * Values are microseconds.
 */

/** Bucket growth factor: a percentile is reported within 0.5 % of the true value. */
const GROWTH = 1.005;
const LOG_GROWTH = Math.log(GROWTH);
/** 1 µs .. ~20 min. */
const BUCKETS = 4200;

export interface HistogramSnapshot {
  /** Sparse [bucket, count] pairs. */
  readonly buckets: [number, number][];
  readonly count: number;
  readonly sumUs: number;
  readonly minUs: number;
  readonly maxUs: number;
}

export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export class Histogram {
  private counts = new Uint32Array(BUCKETS);
  private count = 0;
  private sumUs = 0;
  private minUs = Infinity;
  private maxUs = 0;

  record(us: number): void {
    // Clocks are one monotonic clock; a negative value can only be rounding.
    const value = Math.max(us, 1);
    let bucket = Math.floor(Math.log(value) / LOG_GROWTH);
    if (bucket >= BUCKETS) bucket = BUCKETS - 1;
    this.counts[bucket]! += 1;
    this.count += 1;
    this.sumUs += value;
    if (value < this.minUs) this.minUs = value;
    if (value > this.maxUs) this.maxUs = value;
  }

  snapshot(): HistogramSnapshot {
    const buckets: [number, number][] = [];
    this.counts.forEach((n, bucket) => {
      if (n > 0) buckets.push([bucket, n]);
    });
    return { buckets, count: this.count, sumUs: this.sumUs, minUs: this.minUs, maxUs: this.maxUs };
  }

  merge(snapshot: HistogramSnapshot): void {
    for (const [bucket, n] of snapshot.buckets) this.counts[bucket]! += n;
    this.count += snapshot.count;
    this.sumUs += snapshot.sumUs;
    this.minUs = Math.min(this.minUs, snapshot.minUs);
    this.maxUs = Math.max(this.maxUs, snapshot.maxUs);
  }

  /** The value below which `fraction` of the samples fall (upper edge of its bucket, capped at the max). */
  percentileUs(fraction: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(fraction * this.count));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.counts[bucket]!;
      if (seen >= rank) return Math.min(GROWTH ** (bucket + 1), this.maxUs);
    }
    return this.maxUs;
  }

  summary(): LatencySummary {
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      count: this.count,
      meanMs: this.count === 0 ? NaN : ms(this.sumUs / this.count),
      p50Ms: ms(this.percentileUs(0.5)),
      p90Ms: ms(this.percentileUs(0.9)),
      p99Ms: ms(this.percentileUs(0.99)),
      maxMs: this.count === 0 ? NaN : ms(this.maxUs),
    };
  }
}
