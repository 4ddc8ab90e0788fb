/**
 * The seed of this run's randomized tests. vitest.config.ts picks it (from
 * TEST_SEED, or at random), prints it, and hands it to workerd as a binding.
 */
import { env } from "cloudflare:test";

export const SEED = Number(env.TEST_SEED);
if (!Number.isSafeInteger(SEED)) throw new Error(`TEST_SEED binding missing or not an integer: ${env.TEST_SEED}`);
