#!/usr/bin/env node
// `threadline-ops`: answers the ops requests (tl.ops.v1.*) as one replica of the NATS service `threadline`
// until SIGINT or SIGTERM, then finishes the requests it is answering and exits. Settings: see settings.ts.
import { runMain } from '@threadline/service-runtime';
import { runOps } from './run.js';
import { readSettings } from './settings.js';

await runMain(() => runOps(readSettings(process.env)));
