#!/usr/bin/env node
// `threadline-projector`: runs one projector replica until SIGINT or SIGTERM, then gives its lease up
// (projection written and checkpointed) and exits. Settings: see settings.ts.
import { runMain } from '@threadline/service-runtime';
import { runProjector } from './run.js';
import { readSettings } from './settings.js';

await runMain(() => runProjector(readSettings(process.env)));
