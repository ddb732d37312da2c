// Global fast-check settings: every property runs at least 1,000 times (the issues' floor), and a
// failure prints the seed and path that reproduce it (fast-check's default report includes both).
// CORRAL_FC_SEED replays one failing run: CORRAL_FC_SEED=<seed> npx vitest run <file>.
import fc from "fast-check"

const seedText = process.env.CORRAL_FC_SEED
fc.configureGlobal({
  numRuns: 1000,
  ...(seedText === undefined ? {} : { seed: Number(seedText) }),
})
