/**
 * Coordinator side of the subscribers: forks the worker processes, splits
 * N between them, and merges what they report into one view.
 */
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { Histogram, type LatencySummary } from "../lib/histogram.ts";
import type { OpenedMessage, ProgressMessage, ReportMessage, WorkerCommand, WorkerMessage } from "./protocol.ts";

const WORKER = join(import.meta.dirname, "subscriber-worker.ts");

export interface PoolOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly subscribers: number;
  readonly workers: number;
  /** Connections being opened at once, over all workers. */
  readonly openConcurrency: number;
  /** taskset CPU list for the worker processes, or undefined. */
  readonly cpus: string | undefined;
}

export interface OpenResult {
  readonly opened: number;
  readonly failed: number;
  /** First connect → last subscriber's response headers. */
  readonly allOpenMs: number;
  /** Per subscriber: connect → response headers. */
  readonly each: LatencySummary;
  readonly errors: string[];
}

export interface StepReport {
  readonly received: number;
  readonly complete: number;
  readonly dropped: number;
  readonly duplicates: number;
  readonly reordered: number;
  readonly stale: number;
  readonly latency: Histogram;
  readonly firstReceiveUs: number;
  readonly lastReceiveUs: number;
  /** CPU the subscriber workers used during the step, in seconds. */
  readonly cpuSeconds: number;
  readonly errors: string[];
}

interface Worker {
  readonly child: ChildProcess;
  readonly waiting: Map<WorkerMessage["type"], (message: WorkerMessage) => void>;
}

export class SubscriberPool {
  private readonly workers: Worker[];

  private constructor(workers: Worker[]) {
    this.workers = workers;
  }

  static async open(options: PoolOptions): Promise<{ pool: SubscriberPool; open: OpenResult }> {
    const count = Math.max(1, Math.min(options.workers, options.subscribers));
    const workers: Worker[] = [];
    for (let i = 0; i < count; i++) workers.push(startWorker(options.cpus));
    const pool = new SubscriberPool(workers);
    const shares = workers.map(
      (_, i) => Math.floor(options.subscribers / count) + (i < options.subscribers % count ? 1 : 0),
    );
    const perWorker = Math.max(1, Math.floor(options.openConcurrency / count));
    let replies: OpenedMessage[];
    try {
      replies = await Promise.all(
        workers.map((worker, i) => {
          const command: WorkerCommand = {
            type: "open",
            host: options.host,
            port: options.port,
            path: options.path,
            count: shares[i]!,
            concurrency: perWorker,
          };
          return pool.ask<OpenedMessage>(worker, command, "opened");
        }),
      );
    } catch (error) {
      await pool.close();
      throw error;
    }
    const each = new Histogram();
    for (const reply of replies) each.merge(reply.openTimes);
    const firstStartUs = Math.min(...replies.map((r) => r.firstStartUs));
    const lastOpenUs = Math.max(...replies.map((r) => r.lastOpenUs));
    return {
      pool,
      open: {
        opened: sum(replies.map((r) => r.opened)),
        failed: sum(replies.map((r) => r.failed)),
        allOpenMs: Math.round(lastOpenUs - firstStartUs) / 1000,
        each: each.summary(),
        errors: replies.flatMap((r) => r.errors).slice(0, 20),
      },
    };
  }

  /** Every worker starts counting events of `step`, each subscriber expecting `expected`. */
  startStep(step: number, expected: number): void {
    for (const worker of this.workers) worker.child.send({ type: "step", step, expected } satisfies WorkerCommand);
  }

  async progress(): Promise<{ received: number; complete: number; dropped: number }> {
    const replies = await Promise.all(
      this.workers.map((w) => this.ask<ProgressMessage>(w, { type: "progress" }, "progress")),
    );
    return {
      received: sum(replies.map((r) => r.received)),
      complete: sum(replies.map((r) => r.complete)),
      dropped: sum(replies.map((r) => r.dropped)),
    };
  }

  async report(): Promise<StepReport> {
    const replies = await Promise.all(
      this.workers.map((w) => this.ask<ReportMessage>(w, { type: "report" }, "report")),
    );
    const latency = new Histogram();
    for (const reply of replies) latency.merge(reply.latency);
    const received = replies.filter((r) => r.firstReceiveUs > 0);
    return {
      received: sum(replies.map((r) => r.received)),
      complete: sum(replies.map((r) => r.complete)),
      dropped: sum(replies.map((r) => r.dropped)),
      duplicates: sum(replies.map((r) => r.duplicates)),
      reordered: sum(replies.map((r) => r.reordered)),
      stale: sum(replies.map((r) => r.stale)),
      latency,
      firstReceiveUs: received.length === 0 ? 0 : Math.min(...received.map((r) => r.firstReceiveUs)),
      lastReceiveUs: Math.max(0, ...replies.map((r) => r.lastReceiveUs)),
      cpuSeconds: sum(replies.map((r) => r.cpuUs)) / 1e6,
      errors: replies.flatMap((r) => r.errors).slice(0, 20),
    };
  }

  /** PIDs of the worker processes (their CPU is the load generator's). */
  pids(): number[] {
    return this.workers.map((w) => w.child.pid).filter((pid): pid is number => pid !== undefined);
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.child.exitCode !== null || !worker.child.connected) return resolve();
            worker.child.once("exit", () => resolve());
            worker.child.send({ type: "close" } satisfies WorkerCommand);
            setTimeout(() => worker.child.kill("SIGKILL"), 10_000).unref();
          }),
      ),
    );
  }

  private ask<T extends WorkerMessage>(worker: Worker, command: WorkerCommand, replyType: T["type"]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onExit = () =>
        reject(new Error(`subscriber worker ${worker.child.pid} exited while waiting for "${replyType}"`));
      worker.child.once("exit", onExit);
      worker.waiting.set(replyType, (message) => {
        worker.child.off("exit", onExit);
        resolve(message as T);
      });
      worker.child.send(command);
    });
  }
}

function startWorker(cpus: string | undefined): Worker {
  // Pinned workers start as `taskset -c <cpus> node worker.ts`; the IPC channel survives the exec.
  const child = fork(WORKER, [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    ...(cpus === undefined ? {} : { execPath: "taskset", execArgv: ["-c", cpus, process.execPath] }),
  });
  const worker: Worker = { child, waiting: new Map() };
  child.on("message", (message: WorkerMessage) => {
    const resolve = worker.waiting.get(message.type);
    worker.waiting.delete(message.type);
    resolve?.(message);
  });
  return worker;
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
