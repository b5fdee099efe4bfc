import { packageTestConfig } from '../../vitest.shared.ts';

export default packageTestConfig({
  testTimeout: 60_000,
  include: ['src/**/*.test.ts', 'examples/**/*.test.ts'],
});
