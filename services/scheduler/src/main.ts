#!/usr/bin/env node
// `threadline-scheduler`: runs one scheduler replica until SIGINT or SIGTERM, then gives its lead up
// (timer index written and checkpointed) and exits. Settings: see settings.ts.
import { runMain } from '@threadline/service-runtime';
import { runScheduler } from './run.js';
import { readSettings } from './settings.js';

await runMain(() => runScheduler(readSettings(process.env)));
