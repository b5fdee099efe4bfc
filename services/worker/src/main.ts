#!/usr/bin/env node
// `threadline-worker`: runs one session worker until SIGINT or SIGTERM, then hands its partitions over
// (checkpoints written, actors passivated, leases released) and exits. Settings: see settings.ts.
import { runWorker } from './run.js';
import { readSettings, SettingsError } from './settings.js';

try {
  const running = await runWorker(readSettings(process.env));
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      running.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(error);
          process.exit(1);
        },
      );
    });
  }
} catch (error) {
  console.error(error instanceof SettingsError ? error.message : error);
  process.exit(error instanceof SettingsError ? 2 : 1);
}
