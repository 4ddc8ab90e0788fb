/**
 * `npm run soak [-- --subscribers 300 --events 450 --rate 50 --restart-at 4,14,24 --seed 1]`
 *
 * A churn soak of one channel on a local `wrangler dev` (the `npm run dev` settings, state persisted
 * to a temporary folder, on a free loopback port): subscribers that keep dropping and reopening
 * their streams with `Last-Event-ID`, publishers whose every event has its own `Idempotency-Key`
 * and is retried until 201, and the `wrangler dev` process stopped and started again on the same
 * port (state kept) at the given times. At the end it prints, per subscriber, the ids missing,
 * duplicated and out of order, the publish retries, and the channel's subscriber count against the
 * streams really open; it exits 1 when anything was lost or duplicated (or a publish never landed).
 *
 * Flags (defaults in brackets):
 *   --subscribers N [300]       --events N [450]           --rate N events/s in all [50]
 *   --publishers N [3]          --restart-at S,S… seconds after publishing starts, "" for none [4,14,24]
 *   --object-restart-at S,S…    the channel's object reset through the test hooks (RELAY_TEST_HOOKS) [none]
 *   --churn-min S [3]           --churn-max S [8]          each stream lives a random time in between
 *                               (0.2-2 s, as the suite's chaos test runs 60, overloads one local process at 300)
 *   --seed N [random]           --direct (DIRECT_CHANNEL_PREFIXES: the channel in direct mode)
 *   --fanout-threshold N [10]   --fanout-size N [5]        (FANOUT_THRESHOLD, FANOUT_SIZE: fan-out objects of a few)
 *   --var KEY=VALUE (repeatable, any other setting; HEARTBEAT_MS is 1000 unless given)
 *   --kill SIGTERM|SIGKILL [SIGTERM]
 *   --publish-timeout MS [5000] --retry-ms MS [500] pause before a retry
 *   --settle S [30]             how long, at most, every subscriber may take to get every event, and the
 *                               channel's count to equal the streams open once the churn stops
 *   --max-seconds S [240]
 *   --log FILE [tmp]            wrangler's output goes there
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { localVars } from "./dev-vars.ts";
import { freePort, stopProcessGroup } from "./ports.ts";

const ROOT = resolve(import.meta.dirname, "..");
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");

const { values: flags } = parseArgs({
  options: {
    subscribers: { type: "string", default: "300" },
    events: { type: "string", default: "450" },
    rate: { type: "string", default: "50" },
    publishers: { type: "string", default: "3" },
    "restart-at": { type: "string", default: "4,14,24" },
    "object-restart-at": { type: "string", default: "" },
    "churn-min": { type: "string", default: "3" },
    "churn-max": { type: "string", default: "8" },
    seed: { type: "string" },
    direct: { type: "boolean", default: false },
    "fanout-threshold": { type: "string", default: "10" },
    "fanout-size": { type: "string", default: "5" },
    var: { type: "string", multiple: true, default: [] },
    kill: { type: "string", default: "SIGTERM" },
    "publish-timeout": { type: "string", default: "5000" },
    "retry-ms": { type: "string", default: "500" },
    settle: { type: "string", default: "30" },
    "max-seconds": { type: "string", default: "240" },
    log: { type: "string" },
  },
});

const SUBSCRIBERS = Number(flags.subscribers);
const EVENTS = Number(flags.events);
const RATE = Number(flags.rate);
const PUBLISHERS = Number(flags.publishers);
const RESTARTS = (flags["restart-at"] ?? "")
  .split(",")
  .filter((part) => part.trim() !== "")
  .map((part) => Number(part) * 1000);
const OBJECT_RESTARTS = (flags["object-restart-at"] ?? "")
  .split(",")
  .filter((part) => part.trim() !== "")
  .map((part) => Number(part) * 1000);
const CHURN_MIN_MS = Number(flags["churn-min"]) * 1000;
const CHURN_MAX_MS = Number(flags["churn-max"]) * 1000;
const SEED = flags.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(flags.seed);
const PUBLISH_TIMEOUT_MS = Number(flags["publish-timeout"]);
const RETRY_MS = Number(flags["retry-ms"]);
const SETTLE_MS = Number(flags.settle) * 1000;
const MAX_MS = Number(flags["max-seconds"]) * 1000;
const KILL = flags.kill === "SIGKILL" ? "SIGKILL" : "SIGTERM";
for (const [name, value] of Object.entries({ SUBSCRIBERS, EVENTS, RATE, PUBLISHERS, SEED })) {
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name.toLowerCase()} must be a whole number`);
}

/** mulberry32: the churn is reproducible from the seed (the timing of the machine is not). */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(SEED);

const sleep = (ms: number) => new Promise<void>((resolveSleep) => setTimeout(resolveSleep, ms));
const startedAt = Date.now();
const elapsed = () => ((Date.now() - startedAt) / 1000).toFixed(1).padStart(6);

// ---------------------------------------------------------------------------------------------
// The relay: wrangler dev with the `npm run dev` settings, on a free port, state kept across restarts.

const vars: Record<string, string> = { ...localVars() };
const channel = `soak-${SEED}-${Date.now().toString(36)}`;
if (flags.direct) vars.DIRECT_CHANNEL_PREFIXES = "soak-";
// A stream whose client left is noticed when a write to it fails, a heartbeat tick at the latest; locally
// (wrangler dev does not pass a client's disconnect on) hundreds of churning clients would otherwise hold
// thousands of such streams open for two ticks of the default 15 s, and the process runs out of descriptors.
vars.HEARTBEAT_MS = "1000";
if (OBJECT_RESTARTS.length > 0) vars.RELAY_TEST_HOOKS = "true";
if (flags["fanout-threshold"] !== undefined) vars.FANOUT_THRESHOLD = flags["fanout-threshold"];
if (flags["fanout-size"] !== undefined) vars.FANOUT_SIZE = flags["fanout-size"];
for (const pair of flags.var) {
  const at = pair.indexOf("=");
  if (at < 1) throw new Error(`--var takes KEY=VALUE, got "${pair}"`);
  vars[pair.slice(0, at)] = pair.slice(at + 1);
}
const TOKEN = vars.PUBLISH_TOKENS!.split(",")[0]!.trim();
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const persistDir = mkdtempSync(join(tmpdir(), "sse-relay-soak-"));
const logPath = flags.log ?? join(tmpdir(), `soak-${SEED}.log`);
const logFile = createWriteStream(logPath);
let relay: ChildProcess | undefined;
let relayRuns = 0;

async function startRelay(): Promise<void> {
  relayRuns += 1;
  const inspectorPort = await freePort();
  const args = [WRANGLER, "dev", "--ip", "127.0.0.1", "--port", String(port)];
  args.push("--inspector-port", String(inspectorPort), "--persist-to", persistDir);
  for (const [key, value] of Object.entries(vars)) args.push("--var", `${key}:${value}`);
  logFile.write(`\n===== soak: relay start #${relayRuns} at ${elapsed()} s =====\n`);
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1", BROWSER: "none" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group, so stopping it also ends workerd
  });
  relay = child;
  child.stdout?.pipe(logFile, { end: false });
  child.stderr?.pipe(logFile, { end: false });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}; see ${logPath}`);
    try {
      const response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`wrangler dev did not become healthy within 60 s; see ${logPath}`);
}

async function stopRelay(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
  const running = relay;
  relay = undefined;
  if (running) await stopProcessGroup(running, port, signal);
}

// ---------------------------------------------------------------------------------------------
// Subscribers: raw fetch + eventsource-parser, resuming with Last-Event-ID.

interface Subscriber {
  readonly index: number;
  /** The last id seen (an event's, or a relay.position's): sent as Last-Event-ID. */
  lastId: string | null;
  /** How many times each event id arrived. */
  readonly seen: Map<number, number>;
  /** Events that arrived with an id at or below the highest id seen before them. */
  outOfOrder: number;
  highest: number;
  connects: number;
  refusals: Map<number, number>;
  errors: number;
  /** Requests the relay did not answer within CONNECT_TIMEOUT_MS. */
  unanswered: number;
  /** Streams the relay ended (not the churn). */
  ends: number;
  /** A stream is open (response headers received, not yet ended). */
  open: boolean;
  positions: number;
  otherEvents: Map<string, number>;
}

let churning = true;
let running = true;
const subscribers: Subscriber[] = [];

/**
 * A subscriber waits this long for the relay to answer, then gives up and tries again after
 * RECONNECT_AFTER_FAILURE_MS, as a browser's EventSource does after a failed connection. The churn
 * drops streams, not requests still waiting: abandoning every unanswered request after 0.2-2 s and
 * asking again at once is a storm no real client makes, and `wrangler dev` keeps serving abandoned
 * requests (it does not pass their abort on), so an overloaded machine never caught up.
 */
const CONNECT_TIMEOUT_MS = 15_000;
const RECONNECT_AFTER_FAILURE_MS = 1_000;

async function runSubscriber(sub: Subscriber): Promise<void> {
  while (running) {
    const controller = new AbortController();
    const lifetime = CHURN_MIN_MS + random() * (CHURN_MAX_MS - CHURN_MIN_MS);
    let timer: ReturnType<typeof setTimeout> | undefined = setTimeout(() => controller.abort(), CONNECT_TIMEOUT_MS);
    const stopHolding = () => controller.abort();
    holdRelease.add(stopHolding);
    try {
      const headers: Record<string, string> = { Accept: "text/event-stream" };
      if (sub.lastId !== null) headers["Last-Event-ID"] = sub.lastId;
      const response = await fetch(`${base}/v1/channels/${channel}/events`, { headers, signal: controller.signal });
      if (response.status !== 200 || response.body === null) {
        sub.refusals.set(response.status, (sub.refusals.get(response.status) ?? 0) + 1);
        await response.body?.cancel();
        await sleep(200);
        continue;
      }
      sub.connects += 1;
      sub.open = true;
      // The stream lives its churn lifetime from the moment it opened.
      clearTimeout(timer);
      timer = churning ? setTimeout(() => controller.abort(), lifetime) : undefined;
      const parser = createParser({ onEvent: (message) => onMessage(sub, message) });
      const decoder = new TextDecoder();
      const reader = response.body.getReader();
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        parser.feed(decoder.decode(read.value, { stream: true }));
      }
      sub.ends += 1; // the relay ended the stream: resume shortly, as EventSource would
      await sleep(100);
    } catch (error) {
      if (controller.signal.aborted) {
        if (!sub.open) {
          sub.unanswered += 1;
          if (running) await sleep(RECONNECT_AFTER_FAILURE_MS);
        }
      } else {
        sub.errors += 1;
        if ((error as Error).name !== "AbortError") await sleep(100);
      }
    } finally {
      sub.open = false;
      clearTimeout(timer);
      holdRelease.delete(stopHolding);
    }
  }
}
/** Aborts of the streams open now (used when the churn stops and at the end). */
const holdRelease = new Set<() => void>();

function onMessage(sub: Subscriber, message: EventSourceMessage): void {
  if (message.event === "relay.position") {
    sub.positions += 1;
    if (message.id !== undefined) sub.lastId = message.id;
    return;
  }
  if (message.event !== undefined && message.event !== "message") {
    sub.otherEvents.set(message.event, (sub.otherEvents.get(message.event) ?? 0) + 1);
    if (message.id !== undefined) sub.lastId = message.id;
    return;
  }
  if (message.id === undefined) {
    sub.otherEvents.set("(no id)", (sub.otherEvents.get("(no id)") ?? 0) + 1);
    return;
  }
  sub.lastId = message.id;
  const id = Number(message.id);
  if (id <= sub.highest) sub.outOfOrder += sub.seen.has(id) ? 0 : 1;
  sub.highest = Math.max(sub.highest, id);
  sub.seen.set(id, (sub.seen.get(id) ?? 0) + 1);
}

// ---------------------------------------------------------------------------------------------
// Publishers: each event its own Idempotency-Key, retried until 201 with a timeout per try.

const publishedIds = new Set<number>();
const retries = { timeout: 0, network: 0, status: new Map<number, number>() };
let published = 0;
let replayed = 0;
let failedPublishes = 0;
/** Each event: when it was first sent and when it landed (s after publishing started). */
const landings: { sent: number; landed: number; tries: number }[] = [];
let publishStart = 0;

async function publishOne(publisher: number, n: number): Promise<void> {
  const key = `soak-${SEED}-p${publisher}-${n}`;
  const body = JSON.stringify({ data: JSON.stringify({ publisher, n }) });
  const sent = Date.now();
  for (let tries = 1; running; tries++) {
    try {
      const response = await fetch(`${base}/v1/channels/${channel}/events`, {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json", "Idempotency-Key": key },
        body,
        signal: AbortSignal.timeout(PUBLISH_TIMEOUT_MS),
      });
      const text = await response.text();
      if (response.status === 201) {
        publishedIds.add(Number((JSON.parse(text) as { id: string }).id));
        published += 1;
        if (response.headers.get("Idempotent-Replayed") === "true") replayed += 1;
        landings.push({ sent: (sent - publishStart) / 1000, landed: (Date.now() - publishStart) / 1000, tries });
        return;
      }
      retries.status.set(response.status, (retries.status.get(response.status) ?? 0) + 1);
    } catch (error) {
      const name = (error as Error).name;
      if (name === "TimeoutError" || name === "AbortError") retries.timeout += 1;
      else retries.network += 1;
    }
    await sleep(RETRY_MS);
  }
  failedPublishes += 1;
}

/** Open loop: each event goes out at its time whether or not the earlier ones have landed. */
async function runPublisher(publisher: number, count: number): Promise<void> {
  const interval = (1000 * PUBLISHERS) / RATE;
  const sends: Promise<void>[] = [];
  for (let n = 0; n < count && running; n++) {
    const due = publishStart + publisher * (1000 / RATE) + n * interval;
    if (due > Date.now()) await sleep(due - Date.now());
    sends.push(publishOne(publisher, n));
  }
  await Promise.all(sends);
}

/** How long /healthz takes to answer (ms), or why it did not. */
async function healthLatency(): Promise<string> {
  const start = Date.now();
  try {
    const response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(10_000) });
    await response.text();
    return `${Date.now() - start}ms`;
  } catch (error) {
    return (error as Error).name;
  }
}

async function channelStats(): Promise<Record<string, unknown> | string> {
  try {
    const response = await fetch(`${base}/v1/channels/${channel}`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
      signal: AbortSignal.timeout(3_000),
    });
    if (!response.ok) return `HTTP ${response.status}`;
    return (await response.json()) as Record<string, unknown>;
  } catch (error) {
    return (error as Error).name;
  }
}

const connectedNow = () => subscribers.filter((sub) => sub.open).length;
const complete = (sub: Subscriber) => [...publishedIds].every((id) => sub.seen.has(id));

function progressLine(stats: Record<string, unknown> | string, health: string): string {
  const tops = subscribers.map((sub) => sub.highest);
  const statsPart =
    typeof stats === "string"
      ? `stats=${stats}`
      : `stats.subscribers=${stats.subscribers} last=${stats.lastEventId} fanouts=${(stats.fanouts as unknown[]).length}`;
  return (
    `[${elapsed()} s] published ${published}/${EVENTS} retries ${retries.timeout}t/${retries.network}n/` +
    `${[...retries.status.values()].reduce((a, b) => a + b, 0)}s  open ${connectedNow()}/${SUBSCRIBERS}  ` +
    `${statsPart}  sub-highest ${Math.min(...tops)}..${Math.max(...tops)}  healthz ${health}  ` +
    `unanswered ${subscribers.reduce((sum, sub) => sum + sub.unanswered, 0)}`
  );
}

// ---------------------------------------------------------------------------------------------

let exitCode = 0;
// Stopped from outside (Ctrl-C, a test's own timeout): the relay runs in its own process group, so
// stop it here too rather than leave wrangler and workerd behind.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`soak: ${signal}; stopping the relay`);
    running = false;
    void stopRelay("SIGTERM")
      .catch(() => {})
      .finally(() => {
        rmSync(persistDir, { recursive: true, force: true });
        process.exit(130);
      });
  });
}
const hardStop = setTimeout(() => {
  console.error(`soak: --max-seconds ${MAX_MS / 1000} passed; stopping`);
  running = false;
  for (const release of holdRelease) release();
}, MAX_MS);
try {
  console.log(
    `soak: seed ${SEED}; channel ${channel} (${flags.direct ? "direct" : "hibernating"}); ` +
      `${SUBSCRIBERS} subscribers churning ${CHURN_MIN_MS / 1000}-${CHURN_MAX_MS / 1000} s; ` +
      `${PUBLISHERS} publishers, ${EVENTS} events at ${RATE}/s; restarts at ${RESTARTS.map((ms) => ms / 1000).join(",") || "none"} s (${KILL}); ` +
      `port ${port}; wrangler log ${logPath}`,
  );
  const extra = Object.keys(vars).filter((key) => !(key in localVars()));
  if (extra.length > 0) console.log(`soak: extra settings ${extra.map((key) => `${key}=${vars[key]}`).join(" ")}`);
  await startRelay();
  for (let index = 0; index < SUBSCRIBERS; index++) {
    subscribers.push({
      index,
      lastId: null,
      seen: new Map(),
      outOfOrder: 0,
      highest: 0,
      connects: 0,
      refusals: new Map(),
      errors: 0,
      ends: 0,
      unanswered: 0,
      open: false,
      positions: 0,
      otherEvents: new Map(),
    });
  }
  const subscriberRuns = subscribers.map((sub) => runSubscriber(sub));
  // Every subscriber connected once before the first event (they then resume from a known id).
  const connectDeadline = Date.now() + 20_000;
  while (subscribers.some((sub) => sub.connects === 0) && Date.now() < connectDeadline) await sleep(50);

  publishStart = Date.now();
  const perPublisher = Array.from(
    { length: PUBLISHERS },
    (_, p) => Math.floor(EVENTS / PUBLISHERS) + (p < EVENTS % PUBLISHERS ? 1 : 0),
  );
  const publishing = Promise.all(perPublisher.map((count, p) => runPublisher(p, count)));
  const restarting = (async () => {
    for (const at of RESTARTS) {
      const wait = publishStart + at - Date.now();
      if (wait > 0) await sleep(wait);
      if (!running) return;
      const before = Date.now();
      console.log(`[${elapsed()} s] restart: stopping wrangler dev (${KILL})`);
      await stopRelay(KILL);
      await startRelay();
      console.log(`[${elapsed()} s] restart: wrangler dev healthy again after ${Date.now() - before} ms`);
    }
  })();
  const restartingObject = (async () => {
    for (const at of OBJECT_RESTARTS) {
      const wait = publishStart + at - Date.now();
      if (wait > 0) await sleep(wait);
      if (!running) return;
      const response = await fetch(`${base}/__test/channels/${channel}/restart`, { method: "POST" }).catch(
        (error: Error) => error,
      );
      const outcome = response instanceof Error ? response.name : `HTTP ${response.status}`;
      console.log(`[${elapsed()} s] object restart: ${outcome}`);
    }
  })();
  const ticker = setInterval(async () => {
    const [stats, health] = await Promise.all([channelStats(), healthLatency()]);
    console.log(progressLine(stats, health));
  }, 1_000);
  await Promise.all([publishing, restarting, restartingObject]);
  const publishedAt = Date.now();
  console.log(`[${elapsed()} s] all publishes done (${published} landed, ${failedPublishes} never)`);
  while (Date.now() - publishedAt < SETTLE_MS && running && !subscribers.every(complete)) await sleep(200);
  clearInterval(ticker);

  // Stop the churn: every subscriber holds one stream; compare the channel's count to them.
  churning = false;
  for (const release of holdRelease) release();
  // Streams whose clients left are only noticed when a write to them fails (a heartbeat tick at the
  // latest): the count must come down to the streams really open within the settle time.
  const countDeadline = Date.now() + SETTLE_MS;
  const countIs = async (wanted: () => number) => {
    let stats = await channelStats();
    while (Date.now() < countDeadline && (typeof stats === "string" || stats.subscribers !== wanted())) {
      await sleep(200);
      stats = await channelStats();
    }
    return stats;
  };
  const heldStats = await countIs(() => (connectedNow() === SUBSCRIBERS ? SUBSCRIBERS : -1));
  const held = connectedNow();
  running = false;
  for (const release of holdRelease) release();
  await Promise.all(subscriberRuns);
  const afterStats = await countIs(() => 0);
  clearTimeout(hardStop);

  // -------------------------------------------------------------------------------------------
  const expected = [...publishedIds].sort((a, b) => a - b);
  let lossy = 0;
  let duplicatedTotal = 0;
  let missingTotal = 0;
  let outOfOrderTotal = 0;
  let unexpectedTotal = 0;
  const lines: string[] = [];
  for (const sub of subscribers) {
    const missing = expected.filter((id) => !sub.seen.has(id));
    const duplicated = [...sub.seen.values()].reduce((sum, count) => sum + count - 1, 0);
    const unexpected = [...sub.seen.keys()].filter((id) => !publishedIds.has(id)).length;
    missingTotal += missing.length;
    duplicatedTotal += duplicated;
    outOfOrderTotal += sub.outOfOrder;
    unexpectedTotal += unexpected;
    const bad = missing.length + duplicated + sub.outOfOrder + unexpected > 0;
    if (bad) lossy += 1;
    const refusals = [...sub.refusals].map(([status, count]) => `${status}x${count}`).join(",") || "none";
    const other = [...sub.otherEvents].map(([name, count]) => `${name}x${count}`).join(",");
    if (bad || sub.index < 3) {
      const firstMissing = missing.length > 0 ? ` (first missing ${missing[0]}, last seen ${sub.highest})` : "";
      lines.push(
        `  sub ${String(sub.index).padStart(3)}: missing ${missing.length}${firstMissing} duplicated ${duplicated} ` +
          `out-of-order ${sub.outOfOrder} unexpected ${unexpected}; connects ${sub.connects} refusals ${refusals} ` +
          `errors ${sub.errors} unanswered ${sub.unanswered} ends ${sub.ends} positions ${sub.positions}${other ? ` other ${other}` : ""}`,
      );
    }
  }
  const tries = landings.map((landing) => landing.tries);
  const slowest = landings.reduce((max, landing) => Math.max(max, landing.landed - landing.sent), 0);
  const statsCount = (stats: Record<string, unknown> | string) =>
    typeof stats === "string" ? stats : String(stats.subscribers);
  console.log("\n== soak result ==");
  console.log(
    `seed ${SEED}, ${flags.direct ? "direct" : "hibernating"}, ${SUBSCRIBERS} subscribers, ${EVENTS} events, ` +
      `restarts ${RESTARTS.length}, object restarts ${OBJECT_RESTARTS.length}`,
  );
  console.log(lines.join("\n") || "  (no subscriber shown)");
  console.log(
    `subscribers exact (every event once, in order): ${SUBSCRIBERS - lossy}/${SUBSCRIBERS}; ` +
      `missing ${missingTotal}, duplicated ${duplicatedTotal}, out-of-order ${outOfOrderTotal}, unexpected ${unexpectedTotal} (in all)`,
  );
  console.log(
    `publishes: ${published}/${EVENTS} landed (${failedPublishes} never, ${replayed} answered as idempotent replays); ` +
      `retries ${retries.timeout} timeouts, ${retries.network} network errors, ` +
      `${[...retries.status].map(([status, count]) => `${count}x HTTP ${status}`).join(", ") || "0 HTTP errors"}; ` +
      `max tries ${Math.max(0, ...tries)}, slowest landing ${slowest.toFixed(1)} s; distinct ids ${publishedIds.size}`,
  );
  const countsExact = statsCount(heldStats) === String(held) && held === SUBSCRIBERS && statsCount(afterStats) === "0";
  console.log(
    `subscriber count: stats ${statsCount(heldStats)} with ${held} streams open (churn stopped); ` +
      `stats ${statsCount(afterStats)} once all ${SUBSCRIBERS} closed; ${countsExact ? "exact" : "NOT EXACT"}; ` +
      `connects ${subscribers.reduce((sum, sub) => sum + sub.connects, 0)}`,
  );
  if (typeof afterStats !== "string") console.log(`stats at the end: ${JSON.stringify(afterStats)}`);
  if (lossy > 0 || failedPublishes > 0 || publishedIds.size !== published || !countsExact) exitCode = 1;
  console.log(exitCode === 0 ? "PASS" : "FAIL");
} catch (error) {
  console.error(error);
  exitCode = 2;
} finally {
  running = false;
  for (const release of holdRelease) release();
  await stopRelay("SIGTERM").catch(() => {});
  logFile.end();
  rmSync(persistDir, { recursive: true, force: true });
}
process.exit(exitCode);
