// Shared vitest settings for every workspace package. Tests run against the packages' TypeScript
// sources (the `@threadline/source` export condition), so no build is needed before testing.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const conditions = ['@threadline/source', 'node', 'import', 'module', 'default'];

export function packageTestConfig(options: { testTimeout?: number; include?: string[] } = {}) {
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['node'] } },
    test: {
      include: options.include ?? ['src/**/*.test.ts', 'test/**/*.test.ts'],
      pool: 'forks',
      testTimeout: options.testTimeout ?? 10_000,
      hookTimeout: 60_000,
      setupFiles: [fileURLToPath(new URL('./vitest.setup.ts', import.meta.url))],
      // The JSON report lets `verify` print one closing summary line for the whole workspace.
      reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    },
  });
}
