/**
 * The seed of this run's randomized tests, for unit tests type-checked as
 * Worker code (no Node types): vitest.config.ts picks it (TEST_SEED, or at
 * random), prints it, and provides it to the unit project.
 */
import { inject } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    testSeed: number;
  }
}

export const SEED = inject("testSeed");
if (!Number.isSafeInteger(SEED)) throw new Error(`the unit project provides no testSeed: ${String(SEED)}`);
