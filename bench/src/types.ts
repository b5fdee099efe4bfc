/**
 * What a benchmark reports. Every figure is measured in the run that reports it; where it has a
 * baseline, the baseline was measured in the same run, on the same server, with the same payload size and
 * in-flight window, and the ratio between the two is the figure to compare across machines.
 */

export type Mode = 'quick' | 'full';

export interface Baseline {
  /** What was measured raw, e.g. `raw JetStream acknowledged publishes`. */
  readonly label: string;
  readonly value: number;
  readonly unit: string;
}

export interface Target {
  /** The target as the issue states it, e.g. `ratio ≥ 0.5`. */
  readonly text: string;
  readonly met: boolean;
}

export interface Figure {
  /** Stable id across runs: `<benchmark>.<figure>`, e.g. `ingest.rate`. */
  readonly id: string;
  readonly label: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline?: Baseline;
  /** `value / baseline.value` (or the inverse where the figure says so in its label). */
  readonly ratio?: number;
  readonly target?: Target;
}

export interface BenchmarkOutcome {
  /** The sizes it ran with (sessions, events, window, …). */
  readonly sizes: Readonly<Record<string, number>>;
  readonly figures: readonly Figure[];
  /** Anything a reader needs to interpret the figures (what the baseline is, what bounds a figure). */
  readonly notes?: readonly string[];
}

export interface BenchmarkResult extends Partial<BenchmarkOutcome> {
  readonly id: string;
  readonly title: string;
  readonly durationMs: number;
  /** Set when the benchmark failed: its figures are then missing, and the run exits non-zero. */
  readonly error?: string;
}

export interface BenchContext {
  readonly mode: Mode;
  /** The nats-server binary every benchmark starts its own server with. */
  readonly natsBin: string;
  /** A fresh folder for this benchmark (stores, logs, configs); removed afterwards unless kept. */
  readonly workDir: string;
  /** Sizes given on the command line (`--set ingest.events=20000`), by name without the benchmark id. */
  readonly overrides: Readonly<Record<string, number>>;
  log(line: string): void;
}

export interface Benchmark<S extends string = string> {
  /** Short id, used by `--only` and in figure ids. */
  readonly id: string;
  readonly title: string;
  /** Sizes by mode; `--set <id>.<name>=<n>` overrides one. */
  readonly sizes: Readonly<Record<Mode, Readonly<Record<S, number>>>>;
  run(context: BenchContext, sizes: Readonly<Record<S, number>>): Promise<BenchmarkOutcome>;
}

/** Declares a benchmark with its size names checked (`sizes.events` is a number, never undefined). */
export function defineBenchmark<S extends string>(benchmark: Benchmark<S>): Benchmark {
  return benchmark as unknown as Benchmark;
}

export interface RunReport {
  readonly v: 1;
  readonly mode: Mode;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly commit: string | null;
  readonly machine: Machine;
  readonly results: readonly BenchmarkResult[];
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly natsServer: string;
}
