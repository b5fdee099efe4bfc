import { describe, expect, it } from 'vitest';
import { againstBaseline, percentile, perSecond, withTarget } from './figures.js';
import { parseArgs } from './main.js';
import { latencySummary } from './raw.js';
import { renderMarkdown } from './report.js';
import { sizesFor } from './run.js';
import { parseMetrics } from './stack.js';
import { chatEvent, chatText } from './traffic.js';
import { defineBenchmark, type RunReport } from './types.js';

const toy = defineBenchmark({
  id: 'toy',
  title: 'Toy',
  sizes: { quick: { events: 10, window: 2 }, full: { events: 1000, window: 50 } },
  run: async (_context, sizes) => ({ sizes, figures: [] }),
});

describe('figures', () => {
  it('given a figure and its baseline, then the ratio is value ÷ baseline', () => {
    const f = againstBaseline(
      { id: 'x.rate', label: 'x', value: 300, unit: '/s' },
      { label: 'raw', value: 1200, unit: '/s' },
    );
    expect(f.ratio).toBe(0.25);
    expect(
      againstBaseline({ id: 'x', label: 'x', value: 1, unit: '' }, { label: 'raw', value: 0, unit: '' })
        .ratio,
    ).toBeNaN();
  });

  it('given a bound, then the target is met only inside it', () => {
    const f = againstBaseline(
      { id: 'x', label: 'x', value: 300, unit: '/s' },
      { label: 'raw', value: 1200, unit: '/s' },
    );
    expect(withTarget(f, { of: 'ratio', atLeast: 0.5, text: 'ratio ≥ 0.5' }).target).toEqual({
      text: 'ratio ≥ 0.5',
      met: false,
    });
    expect(withTarget(f, { of: 'ratio', atLeast: 0.25, text: 'ratio ≥ 0.25' }).target?.met).toBe(true);
    expect(withTarget(f, { of: 'value', atMost: 299, text: '≤ 299' }).target?.met).toBe(false);
    const nan = { id: 'y', label: 'y', value: Number.NaN, unit: 'ms' };
    expect(withTarget(nan, { of: 'value', atMost: 25, text: '≤ 25' }).target?.met).toBe(false);
  });

  it('percentiles are nearest-rank over sorted values', () => {
    const xs = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(500);
    expect(percentile(xs, 99)).toBe(990);
    expect(percentile(xs, 99.9)).toBe(999);
    expect(percentile(xs, 100)).toBe(1000);
    expect(percentile([], 50)).toBeNaN();
    expect(latencySummary([5, 1, 3])).toMatchObject({ count: 3, p50: 3, max: 5 });
    expect(perSecond(500, 250)).toBe(2000);
  });
});

describe('command line', () => {
  it('defaults to the full mode and every benchmark', () => {
    expect(parseArgs([])).toMatchObject({ mode: 'full', only: undefined, keep: false });
  });

  it('reads --quick, --only, --set, --out and --keep', () => {
    const args = parseArgs([
      '--quick',
      '--only',
      'ingest,failover',
      '--set',
      'ingest.events=5000',
      '--out',
      '/tmp/x',
      '--keep',
    ]);
    expect(args).toEqual({
      mode: 'quick',
      only: ['ingest', 'failover'],
      overrides: { 'ingest.events': 5000 },
      out: '/tmp/x',
      keep: true,
    });
  });

  it('refuses what it does not know, naming it', () => {
    expect(() => parseArgs(['--fast'])).toThrow(/unknown argument "--fast"/);
    expect(() => parseArgs(['--only', 'ingest,warp'])).toThrow(/no benchmark warp/);
    expect(() => parseArgs(['--set', 'ingest.events'])).toThrow(/--set takes/);
    expect(() => parseArgs(['--out'])).toThrow(/--out needs a value/);
  });

  it('applies a size override to its benchmark only, and refuses an unknown size', () => {
    expect(sizesFor(toy, 'quick', { 'toy.events': 99, 'other.events': 5 })).toEqual({
      events: 99,
      window: 2,
    });
    expect(sizesFor(toy, 'full')).toEqual({ events: 1000, window: 50 });
    expect(() => sizesFor(toy, 'quick', { 'toy.sessions': 1 })).toThrow(/toy has no size "sessions"/);
  });
});

describe('report', () => {
  const report: RunReport = {
    v: 1,
    mode: 'full',
    startedAt: '2026-11-25T04:00:00.000Z',
    durationMs: 61_000,
    commit: 'abcdef0123',
    machine: { cpu: 'CPU', cores: 2, memoryGiB: 24, os: 'Linux', node: '20.20.2', natsServer: '2.10.27' },
    results: [
      {
        id: 'toy',
        title: 'Toy',
        durationMs: 1000,
        sizes: { events: 1000 },
        figures: [
          withTarget(
            againstBaseline(
              { id: 'toy.rate', label: 'Toy rate', value: 600, unit: 'events/s' },
              { label: 'raw', value: 1000, unit: 'msg/s' },
            ),
            { of: 'ratio', atLeast: 0.5, text: 'ratio ≥ 0.5' },
          ),
        ],
        notes: ['a note'],
      },
      { id: 'broken', title: 'Broken', durationMs: 5, sizes: {}, error: 'Error: boom' },
    ],
  };

  it('renders one row per figure with its baseline, ratio and target, and a failed benchmark as failed', () => {
    const md = renderMarkdown(report);
    expect(md).toContain('Machine: CPU, 2 cores, 24 GiB; Linux; Node 20.20.2; nats-server 2.10.27.');
    expect(md).toContain('| Toy rate | 600 events/s | 1,000 msg/s (raw) | 0.6 | ratio ≥ 0.5 ✅ |');
    expect(md).toContain('- a note');
    expect(md).toContain('**Failed:** Error: boom');
    expect(md).toContain('commit abcdef0');
  });
});

describe('traffic and metrics', () => {
  it('sizes chat events to the body size asked for, with word-like text', () => {
    for (const size of [200, 300, 1000]) {
      const body = chatEvent('peer', 'id-1', 1_700_000_000_000, size);
      expect(Math.abs(body.length - size)).toBeLessThanOrEqual(2);
      expect(JSON.parse(new TextDecoder().decode(body)).text).toMatch(/^[a-z ]+$/);
    }
    expect(chatText(3, 40).length).toBeLessThanOrEqual(40);
  });

  it('parses Prometheus text', () => {
    const m = parseMetrics('# HELP x y\n# TYPE x gauge\nthreadline_resident{worker="w"} 42\nup 1\n');
    expect(m.get('threadline_resident{worker="w"}')).toBe(42);
    expect(m.get('up')).toBe(1);
    expect(m.size).toBe(2);
  });
});
