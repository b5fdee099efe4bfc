#!/usr/bin/env node
// `threadline-projector`: runs one projector replica until SIGINT or SIGTERM, then gives its lease up
// (projection written and checkpointed) and exits. Settings: see settings.ts.
// `threadline-projector rebuild [--json] [--keep] [--wait-ms <n>]`: rebuilds the projection from zero
// into fresh buckets and compares it with the live one (rebuildCommand.ts; exit 0 = equal).
import { natsCredentialsOf, runMain } from '@threadline/service-runtime';
import { parseRebuildArgs, RebuildExit, runRebuildCommand } from './rebuildCommand.js';
import { runProjector } from './run.js';
import { readSettings, SettingsError } from './settings.js';

const [command, ...args] = process.argv.slice(2);
if (command === 'rebuild') {
  const parsed = parseRebuildArgs(args);
  if (typeof parsed === 'string') {
    console.error(parsed);
    process.exit(RebuildExit.Usage);
  }
  try {
    const settings = readSettings(process.env);
    process.exit(
      await runRebuildCommand({
        natsUrl: settings.natsUrl,
        credentials: natsCredentialsOf(settings),
        ...parsed,
      }),
    );
  } catch (error) {
    console.error(
      error instanceof SettingsError ? error.message : `rebuild failed: ${(error as Error).message}`,
    );
    process.exit(error instanceof SettingsError ? RebuildExit.Usage : RebuildExit.Failed);
  }
} else if (command !== undefined) {
  console.error(`unknown command ${JSON.stringify(command)}: run it without arguments, or with "rebuild"`);
  process.exit(2);
} else {
  await runMain(() => runProjector(readSettings(process.env)));
}
