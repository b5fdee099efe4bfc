import { packageTestConfig } from '../vitest.shared.ts';

// These suites start whole processes (the stack, nested verify runs): generous limits, one file at a time.
export default packageTestConfig({
  testTimeout: 240_000,
  include: ['e2e/**/*.test.ts', 'toolchain/**/*.test.ts'],
});
