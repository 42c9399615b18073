/** @type {import('jest').Config} */
const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
};

/** @type {import('jest').Config} */
module.exports = {
  // Two cores on CI: two workers keep both busy without thrashing PostgreSQL.
  maxWorkers: 2,
  // A run-wide setting (jest reads it from the top level, not from a project).
  testTimeout: 30000,
  projects: [
    {
      // Pure rules, tested beside their modules (src/**/*.test.ts): no database,
      // no app. `npx jest src` runs only these, without starting PostgreSQL.
      ...common,
      displayName: 'unit',
      roots: ['<rootDir>/src'],
      testMatch: ['<rootDir>/src/**/*.test.ts'],
    },
    {
      // The app and the database: one real PostgreSQL for the whole run, started
      // only when at least one of these tests is selected.
      ...common,
      displayName: 'integration',
      roots: ['<rootDir>/test'],
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      // The browser test needs Chromium and a server of its own: `npm run test:browser`.
      testPathIgnorePatterns: ['<rootDir>/test/browser/'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
