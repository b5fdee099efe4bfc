#!/usr/bin/env node
// `threadline-worker`: runs one session worker until SIGINT or SIGTERM, then hands its partitions over
// (checkpoints written, actors passivated, leases released) and exits. Settings: see settings.ts.
import { runMain } from '@threadline/service-runtime';
import { runWorker } from './run.js';
import { readSettings } from './settings.js';

await runMain(() => runWorker(readSettings(process.env)));
