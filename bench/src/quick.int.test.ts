import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServices } from '@threadline/devstack';
import { natsServerBinary } from '@threadline/nats-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENCHMARKS } from './benchmarks/index.js';
import { writeResults } from './main.js';
import { runBenchmarks } from './run.js';
import type { RunReport } from './types.js';

// What CI runs of the benchmarks: every one of them in quick mode, to prove the harness works end to end
// against a real nats-server and the real services. The figures of a quick run mean nothing and nothing
// here asserts a speed; it asserts that each benchmark measured something and said what it compared it to.
describe('pnpm bench --quick', () => {
  let report: RunReport;
  let out = '';
  beforeAll(async () => {
    buildServices();
    out = await mkdtemp(join(tmpdir(), 'threadline-bench-quick-'));
    report = await runBenchmarks({
      mode: 'quick',
      natsBin: (await natsServerBinary()).path,
      benchmarks: BENCHMARKS,
      log: () => {},
    });
  }, 600_000);
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('runs every benchmark without an error', () => {
    expect(report.results.map((r) => r.id)).toEqual(BENCHMARKS.map((b) => b.id));
    for (const result of report.results)
      expect(result.error, `${result.id}: ${result.error}`).toBeUndefined();
  });

  it('gives every benchmark finite figures, and every baseline a measured, positive value and its ratio', () => {
    for (const result of report.results) {
      expect(result.figures?.length, result.id).toBeGreaterThan(0);
      for (const figure of result.figures ?? []) {
        expect(Number.isFinite(figure.value), `${figure.id} = ${figure.value}`).toBe(true);
        expect(figure.id.length).toBeGreaterThan(0);
        if (figure.baseline) {
          expect(figure.baseline.value, `${figure.id} baseline`).toBeGreaterThan(0);
          expect(figure.ratio).toBeCloseTo(figure.value / figure.baseline.value, 9);
        }
      }
    }
    const withBaseline = report.results.flatMap((r) => r.figures ?? []).filter((f) => f.baseline);
    expect(withBaseline.length).toBeGreaterThanOrEqual(BENCHMARKS.length);
  });

  it('writes the JSON and the markdown table', async () => {
    const files = await writeResults(report, out, false);
    expect(files.map((f) => f.slice(out.length + 1))).toEqual([
      expect.stringMatching(/^\d{4}-\d\d-\d\dT\d{6}Z-quick\.json$/),
      expect.stringMatching(/-quick\.md$/),
    ]);
    const json = JSON.parse(await readFile(files[0] as string, 'utf8')) as RunReport;
    expect(json.results.length).toBe(BENCHMARKS.length);
    expect(json.machine.cores).toBeGreaterThan(0);
    const md = await readFile(files[1] as string, 'utf8');
    for (const b of BENCHMARKS) expect(md).toContain(`### ${b.title}`);
  });
});
