/**
 * What a bench run does, from the command line: the full run (N = 1,000,
 * 5,000, 10,000, rate sweeps, the wrangler dev comparison, docs) or the
 * smoke run (every system, tiny sizes, no docs) that CI uses so the
 * harness cannot rot.
 */
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";

export interface Plan {
  readonly mode: "full" | "smoke";
  readonly systems: string[];
  /** Systems that get a rate sweep (the others run the size runs only). */
  readonly sweepSystems: string[];
  /** FANOUT_THRESHOLD / FANOUT_SIZE of the relay-fanout system. */
  readonly fanout: { readonly threshold: number; readonly size: number };
  /** N for the latency table. */
  readonly sizes: number[];
  /** Rounds of the size runs, interleaved (every system at every N, then again): the write-up reports medians. */
  readonly repeat: number;
  /** Events per size run and their rate. */
  readonly events: number;
  readonly ratePerSecond: number;
  readonly payloadBytes: number;
  /** N at which each system's rate sweep runs (empty: no sweep). */
  readonly sweepSizes: number[];
  /** Offered deliveries per second of the sweep's first step; each next step doubles it. */
  readonly sweepStartDeliveries: number;
  readonly sweepMaxSteps: number;
  readonly sweepStepSeconds: number;
  /** A step is sustainable if every event arrived, nothing failed, and p99 stayed under this. */
  readonly sweepMaxP99Ms: number;
  readonly sweepMinEventsPerStep: number;
  /** N for the relay under wrangler dev (the dev-proxy analysis); empty: skipped. */
  readonly devProxySizes: number[];
  /**
   * If the relay cannot open the largest N, the largest N one workerd process can hold under the
   * open-file limit (it keeps two descriptors per connection), run once to show the channel itself copes.
   */
  readonly relayCeiling: number | undefined;
  /** The ceiling run's events and rate: a rate one channel object sustains at that N. */
  readonly ceilingEvents: number;
  readonly ceilingRate: number;
  /** Before starting, wait up to this long for the machine to go quiet (other jobs skew every figure). */
  readonly quietWaitMs: number;
  readonly subscribersPerWorker: number;
  readonly maxWorkers: number;
  readonly openConcurrency: number;
  readonly publishConnections: number;
  readonly settleMs: number;
  readonly stallMs: number;
  readonly serverCpus: string | undefined;
  readonly clientCpus: string | undefined;
  /** Where results JSON goes; docs are written only by the full run. */
  readonly resultsDir: string;
  readonly writeDocs: boolean;
  /** Results files whose size runs are merged into the report (e.g. a separate split-process run). */
  readonly include: string[];
  /** Re-render the docs from this results file instead of measuring. */
  readonly reportOnly: string | undefined;
  /** Fail (and stop every server) if the run takes longer than this; undefined: no limit. */
  readonly budgetSeconds: number | undefined;
}

/**
 * The smoke run's guard against a hang, not a timing: it takes 41-48 s on a loaded 2-core machine,
 * and a slower one must not turn CI red for being slow (a server that hangs is stopped all the same).
 */
const SMOKE_BUDGET_SECONDS = 180;

const USAGE = `Usage: node bench/run.ts [--smoke] [options]

  --smoke               every system at tiny sizes (and a two-step sweep, and wrangler dev at N=20);
                        docs rendered to the results directory only; exit 1 on any loss or failure
  --systems LIST        relay,relay-direct,relay-fanout,nchan,node (default: all five; the smoke run adds
                        sub-multi8,mercure-1of8); the relay's delivery modes:
                        relay = hibernating (the default mode, every subscriber on the channel object),
                        relay-direct = direct mode, relay-fanout = hibernating with fan-out objects;
                        the subscription kinds (bench/systems/relay-subscriptions.ts): sub-single, sub-multi8,
                        mercure-exact, mercure-pattern8, mercure-1of8
  --sweep-systems LIST  systems that get the rate sweep (default relay,nchan,node)
  --fanout T/S          FANOUT_THRESHOLD/FANOUT_SIZE of relay-fanout (default 250/250, smoke 20/15)
  --quiet-wait S        wait up to S seconds for the machine to go quiet first (default 600, smoke 0)
  --sizes LIST          subscriber counts (default 1000,5000,10000)
  --repeat R            size runs R times, interleaved (round 1: every system at every N; round 2: ...);
                        the modes table reports medians (default 1)
  --events N            events per size run (default 60)
  --rate R              events per second in size runs (default 5)
  --sweep-sizes LIST    N for the publish-rate sweep (default 1000,5000,10000; "none" to skip)
  --dev-proxy LIST      N for the relay under wrangler dev (default 1000,4000,5000; "none" to skip)
  --pin | --no-pin      server on CPU 0, load generator on CPU 1 (default: --pin when 2+ CPUs)
  --no-docs             do not rewrite docs/BENCHMARKS.md
  --out DIR             results directory (default bench/results, smoke: bench/results/tmp)
  --include FILE        merge another results file's size runs into the report (repeatable)
  --report-only FILE    re-render docs/BENCHMARKS.md from a results file, measure nothing
  --budget S            fail, stopping every server, if the run takes more than S seconds
                        (default: smoke ${SMOKE_BUDGET_SECONDS}, full none; "none" for no limit)
`;

export function planFromArgs(argv: string[]): Plan {
  const { values } = parseArgs({
    args: argv,
    options: {
      smoke: { type: "boolean", default: false },
      systems: { type: "string" },
      "sweep-systems": { type: "string" },
      fanout: { type: "string" },
      "quiet-wait": { type: "string" },
      sizes: { type: "string" },
      events: { type: "string" },
      repeat: { type: "string" },
      rate: { type: "string" },
      "sweep-sizes": { type: "string" },
      "report-only": { type: "string" },
      include: { type: "string", multiple: true },
      "dev-proxy": { type: "string" },
      pin: { type: "boolean" },
      "no-pin": { type: "boolean" },
      "no-docs": { type: "boolean", default: false },
      out: { type: "string" },
      budget: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const smoke = values.smoke;
  const pin = values["no-pin"] ? false : (values.pin ?? availableParallelism() >= 2);
  const list = (value: string | undefined, fallback: number[]) =>
    value === undefined
      ? fallback
      : value === "none"
        ? []
        : value.split(",").map((item) => positiveInteger(item, value));
  return {
    mode: smoke ? "smoke" : "full",
    // The smoke run also runs a multi-channel stream and the Mercure hub, so their harness paths cannot rot.
    systems: (
      values.systems ?? `relay,relay-direct,relay-fanout,nchan,node${smoke ? ",sub-multi8,mercure-1of8" : ""}`
    ).split(","),
    sweepSystems: (values["sweep-systems"] ?? "relay,nchan,node").split(","),
    fanout: parseFanout(values.fanout ?? (smoke ? "20/15" : "250/250")),
    sizes: list(values.sizes, smoke ? [50] : [1_000, 5_000, 10_000]),
    repeat: positiveInteger(values.repeat ?? "1", "--repeat"),
    events: positiveInteger(values.events ?? (smoke ? "10" : "60"), "--events"),
    ratePerSecond: positiveInteger(values.rate ?? (smoke ? "20" : "5"), "--rate"),
    payloadBytes: 100,
    sweepSizes: list(values["sweep-sizes"], smoke ? [50] : [1_000, 5_000, 10_000]),
    sweepStartDeliveries: smoke ? 250 : 10_000,
    sweepMaxSteps: smoke ? 2 : 8,
    sweepStepSeconds: smoke ? 1 : 3,
    sweepMaxP99Ms: 500,
    sweepMinEventsPerStep: smoke ? 5 : 10,
    devProxySizes: list(values["dev-proxy"], smoke ? [20] : [1_000, 4_000, 5_000]),
    relayCeiling: smoke ? undefined : 9_900,
    ceilingEvents: 20,
    ceilingRate: 0.5,
    quietWaitMs:
      values["quiet-wait"] === undefined
        ? smoke
          ? 0
          : 10 * 60_000
        : values["quiet-wait"] === "0"
          ? 0
          : positiveInteger(values["quiet-wait"], "--quiet-wait") * 1000,
    subscribersPerWorker: 2_500,
    maxWorkers: 4,
    openConcurrency: 256,
    publishConnections: 16,
    settleMs: smoke ? 200 : 1_500,
    stallMs: smoke ? 5_000 : 10_000,
    serverCpus: pin ? "0" : undefined,
    clientCpus: pin ? "1" : undefined,
    resultsDir: values.out ?? (smoke ? "bench/results/tmp" : "bench/results"),
    writeDocs: !smoke && !values["no-docs"],
    reportOnly: values["report-only"],
    include: values.include ?? [],
    budgetSeconds:
      values.budget === "none"
        ? undefined
        : values.budget !== undefined
          ? positiveInteger(values.budget, "--budget")
          : smoke
            ? SMOKE_BUDGET_SECONDS
            : undefined,
  };
}

function parseFanout(text: string): { threshold: number; size: number } {
  const [threshold, size] = text.split("/");
  if (threshold === undefined || size === undefined) throw new Error(`--fanout: expected T/S, got "${text}"`);
  return { threshold: positiveInteger(threshold, "--fanout"), size: positiveInteger(size, "--fanout") };
}

function positiveInteger(text: string, what: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new Error(`${what}: expected a positive whole number, got "${text}"`);
  return value;
}
