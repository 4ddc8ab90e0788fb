import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_ISSUER } from "./test/support/mercure-token.ts";
import LongestFirst from "./test/support/sequencer.ts";
import { testSeed } from "./test/support/seed.ts";

/** Test channel names start with a lowercase letter: this prefix list puts them all in direct mode. */
const ALL_TEST_CHANNELS = "abcdefghijklmnopqrstuvwxyz".split("").join(",");

/**
 * Workers tests inside workerd (the Worker, its Durable Objects and SQLite
 * storage, exactly as wrangler.toml declares them), with small limits so
 * pruning, buffering, heartbeats and fan-out show fast. In hibernating mode
 * channels past 4 subscribers spread them over fan-out objects of 2.
 */
function workerProject(
  name: string,
  overrides: Record<string, string>,
  files: { include?: string[]; exclude?: string[] },
) {
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            PUBLISH_TOKENS: "test-token,rotated-token",
            ALLOWED_ORIGINS: "https://app.example.com,https://*.example.org",
            HEARTBEAT_MS: "200",
            RETRY_MS: "500",
            HISTORY_LIMIT: "20",
            MAX_EVENT_BYTES: "8192",
            MAX_BODY_BYTES: "65536",
            MAX_BATCH_EVENTS: "50",
            STREAM_BUFFER_BYTES: "32768",
            STREAM_CPU_BUDGET_MS: "300000",
            SUBSCRIBE_JWT_SECRET: "test-subscribe-secret-0123456789abcdef",
            PUBLISH_JWT_SECRET: "test-publish-secret-0123456789abcdef",
            MAX_SUBSCRIBERS_PER_CHANNEL: "8",
            FANOUT_THRESHOLD: "4",
            FANOUT_SIZE: "2",
            IDEMPOTENCY_TTL_SECONDS: "3600",
            REPLAY_MAX_BYTES_PER_STREAM: "100000",
            MAX_STREAMS_PER_CLIENT: "3",
            REPLAY_CONCURRENCY: "2",
            PRESENCE_CHANNEL_PREFIXES: "seen-,private-seen-",
            PRESENCE_INTERVAL_MS: "1000",
            MERCURE_PUBLISHER_JWT_KEY: "test-mercure-publisher-key-0123456789",
            MERCURE_SUBSCRIBER_JWT_KEY: "test-mercure-subscriber-key-0123456789",
            MERCURE_PUBLISHER_JWT_ISSUER: TEST_ISSUER,
            MERCURE_ANONYMOUS: "true",
            MERCURE_PUBLISH_ORIGINS: "https://app.example.com",
            MERCURE_CORS_ORIGINS: "https://app.example.com,https://*.example.org",
            TEST_SEED: String(testSeed()),
            ...overrides,
          },
        },
      }),
    ],
    test: {
      name,
      include: files.include ?? ["test/worker/**/*.test.ts"],
      exclude: files.exclude ?? [],
      testTimeout: 20_000,
      // A workerd serves file after file of its project, not one file each: starting workerd and
      // importing the relay's modules into it took about 3 s a file (about 200 s of the suite's run),
      // the tests themselves 1 s. (With files running side by side, a project has a few workerds:
      // test/support/sequencer.ts keeps each project's files together so they are reused.) The files
      // share that workerd's Durable Objects as a file's tests always shared them: each test's channel
      // name is its own (freshChannel), which keeps them apart.
      isolate: false,
    },
  };
}

/**
 * Projects, one `vitest run`:
 * - worker, worker-direct, worker-fanout: see workerProject;
 * - e2e: Node tests that start `wrangler dev` on a free port (with a real
 *   redis-server and the Upstash bridge where needed) and read streams with
 *   the `eventsource` client;
 * - e2e-chaos: the churn soaks (test/e2e/chaos.test.ts), last and alone;
 * - browser: Debian's Chromium driven by playwright-core against the same;
 * - unit: pure modules in plain Node (no workerd, no relay, no browser), so
 *   they start in a second; test/unit/<area>/ mirrors the folder they test
 *   (src/sse, src/stream on a fake clock, src/channel, src/edge, src/config;
 *   test/unit/bench/: the benchmark's parser, histogram, verdicts, report;
 *   test/unit/architecture/: the folder layers of src/; test/unit/docs/;
 *   test/unit/mercure/: the hub's protocol parsing, updates and cursors).
 *   Type-checked with the Worker's tsconfig; those that read files (bench/,
 *   docs/, architecture/, config/derived.test.ts) with the Node one.
 */
export default defineConfig({
  test: {
    reporters: ["default", "./test/support/summary-reporter.ts"],
    // Files run 4 at a time, on 2 cores as on 8: e2e and browser files spend most of their time
    // waiting (for wrangler dev, Chromium, a stream's lifetime, an object's hibernation), and the
    // workerd projects' CPU-bound files run beside them. (vitest's default, one fewer than the cores,
    // ran every file of the suite one after another here: 619 s.) The order files start in is
    // test/support/sequencer.ts's. Chaos runs after all of them, alone (the e2e-chaos project).
    maxWorkers: 4,
    sequence: { sequencer: LongestFirst },
    // When a test file ends, the pool tears down its workerd isolate; background work the relay does by
    // design (a re-announcement alarm, a Worker re-dialling, a fan-out object reporting itself empty) may
    // then still be asking the runner to load a module, and that request is rejected with exactly this
    // error. It says nothing about the behaviour under test, so it alone is not counted as a failure.
    onUnhandledError: (error) =>
      !(error.name === "EnvironmentTeardownError" && /^\[vitest-worker\]: Closing rpc while/.test(error.message)),
    projects: [
      workerProject("worker", {}, { exclude: ["test/worker/fanout/**", "test/worker/direct/**"] }),
      // The same suites with every test channel in direct mode (the object holds the streams).
      workerProject(
        "worker-direct",
        { DIRECT_CHANNEL_PREFIXES: ALL_TEST_CHANNELS },
        // The Mercure matchers and tokens need no channel: once is enough (in workerd, see their files).
        { exclude: ["test/worker/fanout/**", "test/worker/hibernating/**", "test/worker/mercure-*.test.ts"] },
      ),
      // Hot channels: small fan-out objects (3 subscribers each) and room for 40 subscribers.
      workerProject(
        "worker-fanout",
        { FANOUT_THRESHOLD: "3", FANOUT_SIZE: "3", MAX_SUBSCRIBERS_PER_CHANNEL: "40" },
        { include: ["test/worker/fanout/**/*.test.ts"] },
      ),
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
          // The run's seed, as workerd gets it as a binding (test/unit/seed.ts).
          provide: { testSeed: testSeed() },
        },
      },
      {
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          exclude: ["test/e2e/chaos.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
      // The churn soaks restart their relays while 60 clients and 3 publishers press on them: with
      // other files beside them on 2 cores, a restarted relay could take past the soak's guard to
      // answer again. So they run last, alone (a group of their own, one file at a time).
      {
        test: {
          name: "e2e-chaos",
          include: ["test/e2e/chaos.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 90_000,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
