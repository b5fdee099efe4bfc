#!/usr/bin/env node
/**
 * `pnpm bench [--quick] [--only ingest,latency] [--set ingest.events=50000] [--out DIR] [--keep]`
 *
 * Runs the benchmarks and writes `<out>/<timestamp>-<mode>.json` and `.md`; a full run also writes
 * `latest.json` and `latest.md` (committed: the README and docs/performance.md show them). Quick mode runs
 * small sizes to prove the harness works — its figures mean nothing — and writes under
 * `bench/results/quick/` (not committed) unless `--out` says otherwise. Exits 1 if a benchmark failed;
 * a missed target is a finding, not a failure.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { natsServerBinary } from '@threadline/nats-harness';
import { BENCHMARKS } from './benchmarks/index.js';
import { renderMarkdown } from './report.js';
import { runBenchmarks } from './run.js';
import type { Mode, RunReport } from './types.js';

export const USAGE =
  'usage: pnpm bench [--quick] [--only <id>[,<id>…]] [--set <id>.<size>=<n>]… [--out <dir>] [--keep]';

export interface CliArgs {
  mode: Mode;
  only: string[] | undefined;
  overrides: Record<string, number>;
  out: string | undefined;
  keep: boolean;
}

/** Parses the command line; throws with the usage on anything it does not know. */
export function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = { mode: 'full', only: undefined, overrides: {}, out: undefined, keep: false };
  const known = new Set(BENCHMARKS.map((b) => b.id));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return v;
    };
    if (arg === '--') continue;
    else if (arg === '--quick') args.mode = 'quick';
    else if (arg === '--keep') args.keep = true;
    else if (arg === '--out') args.out = value();
    else if (arg === '--only') {
      args.only = value().split(',').filter(Boolean);
      const unknown = args.only.filter((id) => !known.has(id));
      if (unknown.length > 0)
        throw new Error(`--only: no benchmark ${unknown.join(', ')} (there are ${[...known].join(', ')})`);
    } else if (arg === '--set') {
      const match = /^([a-z-]+)\.([A-Za-z]+)=(\d+(?:\.\d+)?)$/.exec(value());
      if (!match) throw new Error(`--set takes <id>.<size>=<number>, e.g. ingest.events=50000\n${USAGE}`);
      args.overrides[`${match[1]}.${match[2]}`] = Number(match[3]);
    } else throw new Error(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
  }
  return args;
}

const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));

/**
 * Writes `<dir>/<timestamp>-<mode>.json` and `.md`, and with `latest` also `latest.json` and `latest.md`
 * (what the README and docs/performance.md show). Returns the files written.
 */
export async function writeResults(report: RunReport, dir: string, latest: boolean): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const markdown = renderMarkdown(report);
  const files: [string, string][] = [
    [`${stamp}-${report.mode}.json`, json],
    [`${stamp}-${report.mode}.md`, markdown],
    ...(latest
      ? ([
          ['latest.json', json],
          ['latest.md', markdown],
        ] as [string, string][])
      : []),
  ];
  for (const [name, text] of files) await writeFile(join(dir, name), text);
  return files.map(([name]) => join(dir, name));
}

async function main(): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const nats = await natsServerBinary();
  const benchmarks = BENCHMARKS.filter((b) => args.only === undefined || args.only.includes(b.id));
  const report = await runBenchmarks({
    mode: args.mode,
    natsBin: nats.path,
    benchmarks,
    overrides: args.overrides,
    keep: args.keep,
  });
  const out = resolve(args.out ?? (args.mode === 'quick' ? join(resultsDir, 'quick') : resultsDir));
  const written = await writeResults(report, out, report.mode === 'full' && args.only === undefined);
  console.log(`\n${renderMarkdown(report)}`);
  console.log(`written: ${written.join(', ')}`);
  const failed = report.results.filter((r) => r.error !== undefined);
  if (failed.length > 0) {
    console.error(`✖ ${failed.length} benchmark(s) failed: ${failed.map((r) => r.id).join(', ')}`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  process.exitCode = await main();
