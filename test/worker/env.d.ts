import type { RawConfig } from "../../src/config";

declare global {
  namespace Cloudflare {
    /** The generated bindings (worker-configuration.d.ts) plus every optional setting, as the tests set them. */
    interface Env extends RawConfig {
      /** The run's seed for randomized tests (see vitest.config.ts). */
      readonly TEST_SEED: string;
    }
  }
}
