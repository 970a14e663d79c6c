import {defineConfig} from 'vitest/config'

// The long chaos run (`npm run test:chaos`): kill, fault and bad-input trials against the real
// binary, one file at a time so trials do not compete for the CPU they are timed against.
// CBHS_CHAOS_SEED replays a run; CBHS_CHAOS_TRIALS sets the kill trials per command (default 20).
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    allowOnly: false,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 3_600_000,
    hookTimeout: 600_000,
    disableConsoleIntercept: true,
    globalSetup: ['test/support/global-setup.ts'],
  },
})
