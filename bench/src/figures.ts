import type { Baseline, Figure } from './types.js';

/** A figure with its same-run baseline and the ratio `value / baseline`. */
export function againstBaseline(
  figure: Omit<Figure, 'baseline' | 'ratio'>,
  baseline: Baseline,
): Figure & { ratio: number } {
  return { ...figure, baseline, ratio: baseline.value === 0 ? Number.NaN : figure.value / baseline.value };
}

/** Marks a figure against a bound: `atLeast` for rates and ratios, `atMost` for times and sizes. */
export function withTarget(
  figure: Figure,
  bound: { of: 'value' | 'ratio'; atLeast?: number; atMost?: number; text: string },
): Figure {
  const x = bound.of === 'ratio' ? figure.ratio : figure.value;
  const met =
    x !== undefined &&
    Number.isFinite(x) &&
    (bound.atLeast === undefined || x >= bound.atLeast) &&
    (bound.atMost === undefined || x <= bound.atMost);
  return { ...figure, target: { text: bound.text, met } };
}

/** The p-th percentile (0–100) of already sorted values, nearest rank. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  // The epsilon keeps float noise (99.9 / 100 * 1000 = 999.0000000000001) from moving up a rank.
  const rank = Math.ceil((p / 100) * sorted.length - 1e-9);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

/** Events per second from a count and the milliseconds it took. */
export function perSecond(count: number, ms: number): number {
  return ms <= 0 ? Number.NaN : (count * 1000) / ms;
}
