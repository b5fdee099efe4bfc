import { mergeConfig } from 'vitest/config';
import { packageTestConfig } from '../vitest.shared.ts';

// These suites start whole processes (the stack, nested verify runs): generous limits, one file at a time
// (several of them build the services and run `npm start` in the same checkout).
export default mergeConfig(
  packageTestConfig({
    testTimeout: 240_000,
    include: [
      'e2e/**/*.test.ts',
      'toolchain/**/*.test.ts',
      'chaos/**/*.test.ts',
      'cluster/**/*.test.ts',
      'infra/**/*.test.ts',
      'security/**/*.test.ts',
    ],
  }),
  { test: { fileParallelism: false } },
);
