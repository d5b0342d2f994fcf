import { defineConfig } from 'vitest/config'

// Tests that stop and restart the shared broker: they run alone, after the rest of `node`,
// or the other broker tests would see it vanish mid-test.
const BROKER_FAULT_TESTS = ['test/broker.test.ts', 'test/broker-fault.test.ts', 'test/broker-refusals.test.ts', 'test/broker-sweep.test.ts']

// A deadline for expect.poll is where a stuck run is given up, not a speed check: a loaded
// 2-core machine needs more than Vitest's default 1 s.
const expect = { poll: { timeout: 10_000 } }

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**', 'node_modules/**', ...BROKER_FAULT_TESTS],
          environment: 'node',
          expect,
          // One real broker for the whole run, shared by every project (tools/broker.ts).
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'broker-fault',
          include: BROKER_FAULT_TESTS,
          environment: 'node',
          expect,
          globalSetup: ['test/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          expect,
          // The broker, then one Slidev dev server shared by every e2e file.
          globalSetup: ['test/global-setup.ts', 'test/e2e/global-setup.ts'],
          // One Chromium at a time: the machines have two cores.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
})
