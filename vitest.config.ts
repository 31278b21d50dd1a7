import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: e2e files start real servers and databases; more parallel files only add noise.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
