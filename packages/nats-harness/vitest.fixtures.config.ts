import { packageTestConfig } from '../../vitest.shared.ts';

export default packageTestConfig({ include: ['src/fixtures/*.fixture.ts'], testTimeout: 120_000 });
