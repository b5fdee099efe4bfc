#!/usr/bin/env node
// `threadline`: the operator's command line. See cli.ts for the shape and errors.ts for the exit codes.
import { runCli } from './cli.js';
import { COMMANDS } from './commands/index.js';

const code = await runCli(
  process.argv.slice(2),
  {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(text),
    isTTY: process.stderr.isTTY === true,
    env: process.env,
  },
  COMMANDS,
);
process.exitCode = code;
