import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { testSeed } from "./test/support/seed.ts";

/**
 * Two projects, one `vitest run`:
 * - worker: unit and integration tests inside workerd (the Worker, its
 *   Durable Objects and SQLite storage, exactly as wrangler.toml declares
 *   them), with small limits so pruning, buffering and heartbeats show fast;
 * - e2e: Node tests that start `wrangler dev` on a free port (with a real
 *   redis-server and the Upstash bridge where needed) and read streams with
 *   the `eventsource` client;
 * - browser: Debian's Chromium driven by playwright-core against the same.
 */
export default defineConfig({
  test: {
    reporters: ["default", "./test/support/summary-reporter.ts"],
    projects: [
      {
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
                MAX_BUFFERED_BYTES: "32768",
                SUBSCRIBE_JWT_SECRET: "test-subscribe-secret-0123456789abcdef",
                PUBLISH_JWT_SECRET: "test-publish-secret-0123456789abcdef",
                MAX_SUBSCRIBERS_PER_CHANNEL: "8",
                IDEMPOTENCY_TTL_SECONDS: "3600",
                TEST_SEED: String(testSeed()),
              },
            },
          }),
        ],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          testTimeout: 20_000,
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
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
