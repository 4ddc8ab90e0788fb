/** Messages between the coordinator (bench/run.ts) and its subscriber worker processes. */
import type { HistogramSnapshot } from "../lib/histogram.ts";

export interface OpenCommand {
  readonly type: "open";
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly count: number;
  /** Connections being set up at once by this worker (keeps SYN queues from overflowing). */
  readonly concurrency: number;
}

/** Starts counting a new batch of events; `expected` is how many each subscriber should get. */
interface StepCommand {
  readonly type: "step";
  readonly step: number;
  readonly expected: number;
}

export type WorkerCommand =
  | OpenCommand
  | StepCommand
  | { readonly type: "progress" }
  | { readonly type: "report" }
  | { readonly type: "close" };

export interface OpenedMessage {
  readonly type: "opened";
  readonly opened: number;
  readonly failed: number;
  /** Monotonic µs of the first connect and of the last completed open. */
  readonly firstStartUs: number;
  readonly lastOpenUs: number;
  /** Per connection: connect start → response headers. */
  readonly openTimes: HistogramSnapshot;
  readonly errors: string[];
}

export interface ProgressMessage {
  readonly type: "progress";
  /** Distinct bench events received in the current step, over all subscribers. */
  readonly received: number;
  /** Subscribers that have every expected event of the step. */
  readonly complete: number;
  /** Connections that ended or failed after opening. */
  readonly dropped: number;
}

export interface ReportMessage {
  readonly type: "report";
  readonly step: number;
  readonly received: number;
  readonly complete: number;
  readonly dropped: number;
  /** Events seen twice by one subscriber (none expected from any system). */
  readonly duplicates: number;
  /**
   * Events that arrived after a later-sent one. Not an error: concurrent publishes
   * reach the server in any order, and every system numbers them as they arrive.
   */
  readonly reordered: number;
  /** Events of another step arriving late. */
  readonly stale: number;
  readonly latency: HistogramSnapshot;
  readonly firstReceiveUs: number;
  readonly lastReceiveUs: number;
  /** CPU this worker used since the step began (user + system), µs. */
  readonly cpuUs: number;
  readonly errors: string[];
}

export type WorkerMessage = OpenedMessage | ProgressMessage | ReportMessage | { readonly type: "closed" };
