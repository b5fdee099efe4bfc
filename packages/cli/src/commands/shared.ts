/**
 * What the operations commands share: reading streams and buckets that may not exist yet (nothing
 * started; from @threadline/ops, which holds the operations themselves), parsing numeric options, and
 * formatting ages and tables.
 */
import { usageError } from '../errors.js';

export { isStreamNotFound, manager, readBucketIfPresent, streamInfo } from '@threadline/ops';

/** A whole number ≥ 1 given as an option's text, else a usage error naming the option. */
export function positiveInteger(option: string, value: unknown): number {
  const text = String(value);
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw usageError(`${option} needs a positive whole number, got ${JSON.stringify(value)}`);
  return n;
}

/** `5s`, `12m`, `3h`, `4d` since `at` (0 for a time in the future); `-` without a time. */
export function formatAge(at: number | null | undefined, now: number): string {
  if (at === null || at === undefined) return '-';
  const seconds = Math.max(0, Math.floor((now - at) / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

/** An epoch-ms time as ISO 8601 (UTC, to the second), `-` without one. */
export function formatTime(at: number | null | undefined): string {
  if (at === null || at === undefined || !Number.isFinite(at)) return '-';
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** One line: newlines and runs of whitespace as single spaces, cut to `max` characters with an ellipsis. */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const chars = [...flat];
  return chars.length <= max ? flat : `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** Left-aligned columns, two spaces apart, the header first. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const format = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [format(headers), ...rows.map(format)];
}
