/**
 * One seed per test run for every randomized test: TEST_SEED if given (to
 * replay a failure), otherwise a random one. It is stored back into
 * process.env so every process of the run (vitest's workers, workerd's
 * binding) sees the same value, and the summary line prints it.
 */
export function testSeed(): number {
  const given = process.env.TEST_SEED;
  if (given !== undefined && given !== "") {
    const seed = Number(given);
    if (!Number.isSafeInteger(seed)) throw new Error(`TEST_SEED must be an integer, not ${JSON.stringify(given)}`);
    return seed;
  }
  const seed = Math.floor(Math.random() * 2 ** 31);
  process.env.TEST_SEED = String(seed);
  return seed;
}

export const replayHint = (seed: string | undefined) =>
  seed === undefined ? "" : `property seed: ${seed} (replay: TEST_SEED=${seed} npm test)`;
