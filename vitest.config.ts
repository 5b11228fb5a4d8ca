import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Property tests run 100k+ cases through the kernel and the BigInt reference.
    testTimeout: 300_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
