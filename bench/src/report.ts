/** The markdown table of a run, as the README and docs/performance.md show it. */
import type { Figure, RunReport } from './types.js';

function formatNumber(value: number, unit: string): string {
  if (!Number.isFinite(value)) return 'n/a';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  const text = value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  return unit === '' ? text : `${text} ${unit}`;
}

function row(figure: Figure): string {
  const baseline = figure.baseline
    ? `${formatNumber(figure.baseline.value, figure.baseline.unit)} (${figure.baseline.label})`
    : '—';
  const ratio = figure.ratio === undefined ? '—' : formatNumber(figure.ratio, '');
  const target = figure.target ? `${figure.target.text} ${figure.target.met ? '✅' : '❌'}` : '—';
  return `| ${figure.label} | ${formatNumber(figure.value, figure.unit)} | ${baseline} | ${ratio} | ${target} |`;
}

export function machineLine(report: RunReport): string {
  const m = report.machine;
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.os}; Node ${m.node}; nats-server ${m.natsServer}`;
}

export function renderMarkdown(report: RunReport): string {
  const lines = [
    `Run ${report.startedAt} (${report.mode} mode${report.commit ? `, commit ${report.commit.slice(0, 7)}` : ''}), ${Math.round(report.durationMs / 1000)} s in all.`,
    `Machine: ${machineLine(report)}.`,
    '',
  ];
  for (const result of report.results) {
    const sizes = Object.entries(result.sizes ?? {})
      .map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`)
      .join(', ');
    lines.push(
      `### ${result.title}`,
      '',
      `Sizes: ${sizes || '—'}; took ${Math.round(result.durationMs / 1000)} s.`,
      '',
    );
    if (result.error) {
      lines.push(`**Failed:** ${result.error}`, '');
      continue;
    }
    lines.push(
      '| figure | value | baseline (same run) | ratio | target |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const figure of result.figures ?? []) lines.push(row(figure));
    for (const note of result.notes ?? []) lines.push('', `- ${note}`);
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
