/**
 * Runs benchmarks one after another, each on a server and services of its own, and collects their
 * figures into one report. A benchmark that throws is reported as failed; the others still run.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { binaryVersionOf } from '@threadline/nats-harness';
import type { Benchmark, BenchmarkResult, Machine, Mode, RunReport } from './types.js';

export interface RunOptions {
  readonly mode: Mode;
  readonly natsBin: string;
  readonly benchmarks: readonly Benchmark[];
  /** `<benchmark id>.<size name>` → value. */
  readonly overrides?: Readonly<Record<string, number>>;
  /** Keep each benchmark's work folder (stores, logs) instead of removing it. */
  readonly keep?: boolean;
  readonly log?: (line: string) => void;
}

export async function describeMachine(natsBin: string): Promise<Machine> {
  const cores = cpus();
  return {
    cpu: cores[0]?.model.trim() ?? 'unknown',
    cores: cores.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    node: process.versions.node,
    natsServer: ((await binaryVersionOf(natsBin)) ?? 'unknown').replace(/^nats-server:\s*v?/, ''),
  };
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

/** The sizes a benchmark runs with: its mode's, with `--set <id>.<name>=<n>` applied. */
export function sizesFor(benchmark: Benchmark, mode: Mode, overrides: Readonly<Record<string, number>> = {}) {
  const sizes: Record<string, number> = { ...benchmark.sizes[mode] };
  for (const [key, value] of Object.entries(overrides)) {
    const [id, name] = key.split('.', 2);
    if (id !== benchmark.id || name === undefined) continue;
    if (!(name in sizes))
      throw new Error(
        `--set ${key}: ${benchmark.id} has no size "${name}" (it has ${Object.keys(sizes).join(', ')})`,
      );
    sizes[name] = value;
  }
  return sizes;
}

export async function runBenchmarks(options: RunOptions): Promise<RunReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const started = Date.now();
  const results: BenchmarkResult[] = [];
  const root = await mkdtemp(join(tmpdir(), 'threadline-bench-'));
  try {
    for (const benchmark of options.benchmarks) {
      const sizes = sizesFor(benchmark, options.mode, options.overrides);
      const workDir = join(root, benchmark.id);
      await mkdir(workDir, { recursive: true });
      log(
        `\n▶ ${benchmark.title} (${Object.entries(sizes)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')})`,
      );
      const t0 = performance.now();
      try {
        const outcome = await benchmark.run(
          {
            mode: options.mode,
            natsBin: options.natsBin,
            workDir,
            overrides: options.overrides ?? {},
            log: (line) => log(`  ${line}`),
          },
          sizes,
        );
        results.push({
          id: benchmark.id,
          title: benchmark.title,
          durationMs: performance.now() - t0,
          ...outcome,
        });
        for (const f of outcome.figures)
          log(
            `  ${f.label}: ${f.value.toFixed(2)} ${f.unit}${f.baseline ? ` vs ${f.baseline.value.toFixed(2)} ${f.baseline.unit} (${f.baseline.label})` : ''}${f.ratio === undefined ? '' : `, ratio ${f.ratio.toFixed(3)}`}${f.target ? `, target ${f.target.text}: ${f.target.met ? 'met' : 'MISSED'}` : ''}`,
          );
      } catch (error) {
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        log(`  ✖ failed: ${message}`);
        results.push({
          id: benchmark.id,
          title: benchmark.title,
          durationMs: performance.now() - t0,
          sizes,
          error: message.split('\n')[0] ?? message,
        });
      }
      if (options.keep) log(`  kept ${workDir}`);
      else await rm(workDir, { recursive: true, force: true });
    }
  } finally {
    if (!options.keep) await rm(root, { recursive: true, force: true });
  }
  return {
    v: 1,
    mode: options.mode,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    commit: gitCommit(),
    machine: await describeMachine(options.natsBin),
    results,
  };
}
