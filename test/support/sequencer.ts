/**
 * The order test files start in, several at a time (vitest.config.ts, maxWorkers). The run ends
 * when its last file does, so:
 * 1. the longest e2e files start first (measured alone here: deploy-config 35-45 s, faults 25-75 s,
 *    resume-gap 25-35 s; most others 5-15 s);
 * 2. then the workerd projects, each project's files one after another: a worker that ends a file
 *    takes the next one of the same project into the same workerd (isolate: false), so few
 *    workerds start, and their CPU-bound files run while the e2e files above mostly wait;
 * 3. then the other e2e and browser files, and the unit files.
 * Within each part vitest's own order holds (its cache of last durations, longest first). A fresh
 * clone has no cache, so the longest are named.
 */
import { BaseSequencer, type TestSpecification } from "vitest/node";

const LONGEST = ["test/e2e/deploy-config.test.ts", "test/e2e/faults.test.ts", "test/e2e/resume-gap.test.ts"];

const rank = (spec: TestSpecification): number => {
  const index = LONGEST.findIndex((file) => spec.moduleId.endsWith(file));
  if (index !== -1) return index;
  return spec.project.name.startsWith("worker") ? LONGEST.length : LONGEST.length + 1;
};

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    // A stable sort: vitest's order holds within each rank (so a project's files stay together).
    return sorted
      .map((spec, index) => ({ spec, index }))
      .sort((a, b) => rank(a.spec) - rank(b.spec) || a.index - b.index)
      .map(({ spec }) => spec);
  }
}
