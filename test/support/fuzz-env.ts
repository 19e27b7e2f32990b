// Settings of the randomized tests, from the environment: FUZZ_SEED replays a failure, FUZZ_RUNS scales the count.

export function fuzzSeed(fallback: number): number {
  const raw = process.env.FUZZ_SEED
  return raw === undefined || raw === '' ? fallback : Number(raw)
}

export function fuzzRuns(fallback: number): number {
  const raw = process.env.FUZZ_RUNS
  return raw === undefined || raw === '' ? fallback : Number(raw)
}
