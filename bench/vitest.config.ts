import { packageTestConfig } from '../vitest.shared.ts';

// The quick run starts real processes (a nats-server and the services): one file at a time, long limits.
export default packageTestConfig({ testTimeout: 300_000 });
