import type { Benchmark } from '../types.js';
import { audit } from './audit.js';
import { failover } from './failover.js';
import { ingest } from './ingest.js';
import { population } from './population.js';
import { rebuild } from './rebuild.js';

/** Every benchmark, in the order the issue lists them (and `pnpm bench` runs them). */
export const BENCHMARKS: readonly Benchmark[] = [ingest, population, audit, rebuild, failover];
