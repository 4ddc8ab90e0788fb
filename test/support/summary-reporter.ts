/**
 * Prints one closing line, `N passed, N failed[, N skipped]`, after all
 * projects ran, so CI (and people) can read the whole run's count at a glance,
 * preceded by the seed of the run's randomized tests (TEST_SEED replays it).
 */
import type { Reporter, TestModule } from "vitest/node";
import { replayHint } from "./seed.ts";

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed += 1;
        else if (state === "failed") failed += 1;
        else skipped += 1;
      }
      // A file that failed to load has no tests to count, but is a failure.
      if (module.state() === "failed" && module.children.size === 0) failed += 1;
    }
    failed += unhandledErrors.length;
    const hint = replayHint(process.env.TEST_SEED);
    process.stdout.write(`\n${hint}\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
  }
}
