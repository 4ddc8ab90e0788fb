import type { Env as RelayEnv } from "../../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends RelayEnv {
      /** The run's seed for randomized tests (see vitest.config.ts). */
      readonly TEST_SEED: string;
    }
  }
}
