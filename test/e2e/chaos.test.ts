/**
 * Chaos kept in the suite: the churn soak (scripts/soak.ts, `npm run soak`)
 * at a size the suite can afford, in both delivery modes. 60 subscribers
 * keep dropping and reopening their streams (every 0.2–2 s) with
 * Last-Event-ID; 3 publishers send 300 events at 50/s, each with its own
 * Idempotency-Key, retried until 201; the channel's object is reset through
 * the test hooks 1.5 s in and `wrangler dev` is killed and started again on
 * the same port (state kept) 3.5 s in, both while events are published. It passes only when every subscriber
 * ends with every accepted event exactly once, in order, and the channel's
 * subscriber count comes down to the streams really open (60 while they are
 * held, 0 once they close). The churn is random, from the run's seed.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { expect, it } from "vitest";
import { testSeed } from "../support/seed";

const ROOT = resolve(import.meta.dirname, "../..");
/** A failure guard, never a measurement: the soak is stopped (and so fails) if it runs this long. */
const SOAK_GUARD_MS = 270_000;

/** Runs the soak to its end (it stops its own relay), returning its exit code and output. */
function soak(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ["scripts/soak.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    // Past the test's own timeout vitest would leave the soak running: stop it first (it then stops its relay).
    const guard = setTimeout(() => child.kill("SIGTERM"), SOAK_GUARD_MS);
    child.on("exit", (code) => {
      clearTimeout(guard);
      done({ code, output });
    });
  });
}

const SCENARIO = [
  "--subscribers",
  "60",
  "--events",
  "300",
  "--rate",
  "50",
  // Both while events are still being published (300 at 50/s take 6 s).
  "--object-restart-at",
  "1.5",
  "--restart-at",
  "3.5",
  "--churn-min",
  "0.2",
  "--churn-max",
  "2",
  // Streams whose clients left are noticed at the next heartbeat write: a short one lets the count settle.
  "--var",
  "HEARTBEAT_MS=1000",
  // Failure guards, not measurements: generous for a slow machine.
  "--settle",
  "60",
  "--max-seconds",
  "150",
  "--seed",
  String(testSeed()),
];

it.each([
  // The channel itself holds the streams.
  ["hibernating", ["--fanout-threshold", "1000"]],
  // Past 10 streams, fan-out objects of 5 hold them: pushes, re-announcements and catch-up through them.
  ["hibernating with fan-out objects", ["--fanout-threshold", "10", "--fanout-size", "5"]],
  ["direct", ["--direct", "--fanout-threshold", "1000"]],
])(
  "%s: 60 churning subscribers, retried idempotent publishes, a process and an object restart: every event exactly once, counts exact",
  async (_, mode) => {
    const { code, output } = await soak([...SCENARIO, ...mode]);
    const summary = output.slice(output.indexOf("== soak result =="));
    expect(summary, output.slice(-6_000)).toContain("subscribers exact (every event once, in order): 60/60");
    expect(summary).toContain("publishes: 300/300 landed (0 never");
    expect(summary).toMatch(
      /subscriber count: stats 60 with 60 streams open \(churn stopped\); stats 0 once all 60 closed; exact/,
    );
    expect(code, summary).toBe(0);
  },
  // Above the soak's own hard stop (--max-seconds 150) plus its count settle (60 s) and relay stop.
  300_000,
);
