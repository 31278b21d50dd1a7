import { defineConfig } from 'vitest/config';

/** The chart's runtime test builds an image and runs a dozen pods: the whole machine, for minutes. */
const CHART_RUNTIME = 'test/e2e/chart-runtime.test.ts';

export default defineConfig({
  test: {
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: e2e files start real servers and databases; more parallel files only add noise.
    maxWorkers: 2,
    reporters: ['default'],
    // Two groups, one after the other, so the timing-sensitive tests never share the cores with the
    // image build and the chart's pods.
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: [CHART_RUNTIME], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'chart-runtime', include: [CHART_RUNTIME], sequence: { groupOrder: 1 } } },
    ],
  },
});
