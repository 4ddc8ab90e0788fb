/** Shapes of what the bench records in bench/results/*.json. */
import type { LatencySummary } from "../lib/histogram.ts";

export interface ProcessFigures {
  readonly role: string;
  readonly name: string;
  readonly pid: number;
  readonly rssMB: number;
  readonly fds: number;
  readonly sockets: number;
  readonly threads: number;
  /** Highest descriptor count seen while the subscribers were being opened. */
  readonly peakFdsWhileOpening?: number;
}

export interface OpenFigures {
  readonly subscribers: number;
  readonly opened: number;
  readonly failed: number;
  readonly allOpenMs: number;
  readonly each: LatencySummary;
  /** Server CPU spent opening them, seconds, per process role. */
  readonly serverCpuSeconds: Record<string, number>;
  readonly errors: string[];
}

export interface MemoryFigures {
  /** Server tree RSS before any subscriber, MB. */
  readonly baselineMB: number;
  /** With every subscriber open and idle, MB. */
  readonly idleMB: number;
  readonly perSubscriberKB: number;
  /** Each server process with every subscriber open and idle. */
  readonly processes: ProcessFigures[];
  /** The same processes before the first subscriber (for per-subscriber descriptor counts). */
  readonly baselineProcesses: ProcessFigures[];
}

export interface StepFigures {
  readonly events: number;
  readonly ratePerSecond: number;
  readonly offeredDeliveriesPerSecond: number;
  readonly expectedDeliveries: number;
  readonly delivered: number;
  readonly lost: number;
  readonly duplicates: number;
  /** Arrived after a later-sent event: concurrent publishes race to the server (informational). */
  readonly reordered: number;
  readonly droppedStreams: number;
  readonly publishFailed: number;
  readonly latency: LatencySummary;
  /** Deliveries over (first publish sent → last delivery received). */
  readonly deliveriesPerSecond: number;
  readonly publishResponse: LatencySummary;
  readonly publisherMaxLagMs: number;
  /** Server CPU over the step, percent of one core, per process role and in total. */
  readonly serverCpuPercent: number;
  readonly serverCpuByRole: Record<string, number>;
  /** Load generator (subscriber workers + publisher) CPU, percent of one core. */
  readonly clientCpuPercent: number;
  /** CPU used by other processes on the machine during the step (e.g. a test run), percent of one core. */
  readonly otherCpuPercent: number;
  readonly otherBusiest: string[];
  readonly wallSeconds: number;
  readonly errors: string[];
}

/**
 * Who did the fan-out, from the relay's stats endpoint read after the
 * warm-up events and before the measured step (every subscriber open): streams on the channel
 * object itself and on each fan-out object. Per event, the channel object
 * sends one message per own stream and at most one push per live fan-out
 * object (pushes committed while one is in flight are joined); each fan-out
 * object sends one message per stream it holds.
 */
export interface ObjectWork {
  readonly mode: string;
  readonly subscribers: number;
  readonly channelObjectStreams: number;
  readonly fanouts: readonly { readonly name: string; readonly subscribers: number }[];
  /** Upper bound per event: one per live fan-out object. */
  readonly channelObjectPushesPerEvent: number;
  /** The most streams one fan-out object writes per event (0 without fan-out). */
  readonly maxFanoutDeliveriesPerEvent: number;
}

export interface SizeResult {
  readonly system: string;
  readonly subscribers: number;
  /** Which round of an interleaved repeated run (--repeat), from 1; absent in a single-round run. */
  readonly round?: number;
  readonly ok: boolean;
  readonly failure?: string;
  readonly open?: OpenFigures;
  readonly memory?: MemoryFigures;
  readonly step?: StepFigures;
  /** The relay only: streams per object after the step. */
  readonly objects?: ObjectWork;
  /** Last lines the server printed when something failed. */
  readonly serverOutput?: string;
}

export interface SweepPoint extends StepFigures {
  readonly sustainable: boolean;
  readonly reason: string;
}

export interface SweepResult {
  readonly system: string;
  readonly subscribers: number;
  readonly points: SweepPoint[];
  /** Highest offered deliveries/s that met the criterion (0 if none). */
  readonly sustainableDeliveriesPerSecond: number;
  readonly failure?: string;
}

/** A run merged into another's report (--include): its results file and what it measured. */
interface IncludedRun {
  readonly file: string;
  readonly startedAt: string;
  readonly durationSeconds?: number;
  readonly relayCommit?: string;
  readonly systems: string[];
}

export interface BenchResults {
  readonly mode: "full" | "smoke";
  /** The relay-fanout system's FANOUT_THRESHOLD / FANOUT_SIZE. */
  readonly fanout?: { readonly threshold: number; readonly size: number };
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: Record<string, string>;
  readonly versions: Record<string, string>;
  readonly settings: Record<string, unknown>;
  readonly sizes: SizeResult[];
  readonly sweeps: SweepResult[];
  /** Other runs whose size runs were merged into this report (--include). */
  readonly includedRuns?: IncludedRun[];
  /** The relay under wrangler dev, for the dev-proxy analysis. */
  readonly devProxy: SizeResult[];
}
