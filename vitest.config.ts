import { defineConfig } from 'vitest/config';

/**
 * Three tiers, each runnable alone (`npm run test:unit`, `test:integration`, `test:e2e`); `npm test` runs them all.
 * - unit: in-process, no Java, no broker, no build; under a minute.
 * - integration: against real servers the tests start (one Kafka for the run, PostgreSQL, the IAM API, TLS webhooks);
 *   files run in parallel on fresh topic and group names.
 * - e2e: the built CLI (dist/) as a user runs it.
 */
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: true,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'], globalSetup: ['test/helpers/broker-setup.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'] } },
    ],
  },
});
