/**
 * Metrics in the Prometheus text exposition format, version 0.0.4: counters and gauges with labels, no
 * client library. A service either reads its numbers from its status objects at every scrape (the
 * {@link counter} and {@link gauge} sample helpers) or keeps its own in a {@link MetricsRegistry}.
 *
 * Rates are Prometheus's business: a counter is a running total (`…_total`), and "events applied per
 * second" is `rate(threadline_worker_events_applied_total[1m])`. A counter that starts again from 0 (a new
 * process, a new tenure as leader) is a counter reset, which `rate()` and `increase()` allow for.
 */

export type MetricType = 'counter' | 'gauge';
export type Labels = Readonly<Record<string, string>>;

/** One sample of one series: the family's name, type and help, the series' labels and its value. */
export interface MetricSample {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly value: number;
  readonly labels?: Labels;
}

/** A counter's sample: a running total that only grows (name it `…_total`). */
export function counter(name: string, help: string, value: number, labels?: Labels): MetricSample {
  return labels === undefined
    ? { name, type: 'counter', help, value }
    : { name, type: 'counter', help, value, labels };
}

/** A gauge's sample: a value that goes up and down. */
export function gauge(name: string, help: string, value: number, labels?: Labels): MetricSample {
  return labels === undefined
    ? { name, type: 'gauge', help, value }
    : { name, type: 'gauge', help, value, labels };
}

/** A gauge of 1 or 0 (leader, ready, …). */
export function flag(name: string, help: string, on: boolean, labels?: Labels): MetricSample {
  return gauge(name, help, on ? 1 : 0, labels);
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A HELP text: backslash and line feed escaped. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A label value: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value as Prometheus writes it: integers plainly, `NaN`, `+Inf`, `-Inf`. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function seriesOf(sample: MetricSample): string {
  const labels = Object.entries(sample.labels ?? {});
  if (labels.length === 0) return sample.name;
  for (const [label] of labels) {
    if (!LABEL_NAME.test(label) || label.startsWith('__'))
      throw new Error(`metric ${sample.name}: invalid label name ${JSON.stringify(label)}`);
  }
  return `${sample.name}{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

/**
 * The samples as a Prometheus text page (format 0.0.4): one `# HELP` and `# TYPE` per family, its series
 * after them, families in the order they first appear. Throws on an invalid metric or label name, on one
 * name given two types or two help texts, and on a series given twice — mistakes of the code, not data.
 */
export function renderMetrics(samples: readonly MetricSample[]): string {
  const families = new Map<
    string,
    { type: MetricType; help: string; lines: string[]; series: Set<string> }
  >();
  for (const sample of samples) {
    if (!METRIC_NAME.test(sample.name)) throw new Error(`invalid metric name ${JSON.stringify(sample.name)}`);
    let family = families.get(sample.name);
    if (family === undefined) {
      family = { type: sample.type, help: sample.help, lines: [], series: new Set() };
      families.set(sample.name, family);
    } else if (family.type !== sample.type || family.help !== sample.help) {
      throw new Error(`metric ${sample.name}: one name, two types or help texts`);
    }
    const series = seriesOf(sample);
    if (family.series.has(series)) throw new Error(`metric ${sample.name}: series ${series} given twice`);
    family.series.add(series);
    family.lines.push(`${series} ${formatValue(sample.value)}`);
  }
  let text = '';
  for (const [name, family] of families) {
    text += `# HELP ${name} ${escapeHelp(family.help)}\n# TYPE ${name} ${family.type}\n`;
    for (const line of family.lines) text += `${line}\n`;
  }
  return text;
}

/** The content type of {@link renderMetrics}'s page. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The canonical key of a label set (label order does not matter). */
function labelKey(labels: Labels | undefined): string {
  return JSON.stringify(Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

abstract class Family {
  protected readonly values = new Map<string, { labels: Labels | undefined; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
  ) {
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
  }

  protected add(by: number, labels: Labels | undefined): void {
    const key = labelKey(labels);
    const entry = this.values.get(key);
    if (entry) entry.value += by;
    else this.values.set(key, { labels, value: by });
  }

  /** The current value of the series with these labels (0 if it has none yet). */
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels))?.value ?? 0;
  }

  samples(): MetricSample[] {
    return [...this.values.values()].map(({ labels, value }) =>
      labels === undefined
        ? { name: this.name, type: this.type, help: this.help, value }
        : { name: this.name, type: this.type, help: this.help, value, labels },
    );
  }
}

/** A counter kept by the service: {@link Counter.inc} only. */
export class Counter extends Family {
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }

  inc(labels?: Labels, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`counter ${this.name}: cannot add ${by}`);
    this.add(by, labels);
  }
}

/** A gauge kept by the service. */
export class Gauge extends Family {
  constructor(name: string, help: string) {
    super(name, help, 'gauge');
  }

  set(value: number, labels?: Labels): void {
    this.values.set(labelKey(labels), { labels, value });
  }

  inc(labels?: Labels, by = 1): void {
    this.add(by, labels);
  }

  dec(labels?: Labels, by = 1): void {
    this.add(-by, labels);
  }
}

/**
 * The metrics of one process: counters and gauges it keeps itself, and collectors that read samples from
 * elsewhere (status objects) at every scrape.
 */
export class MetricsRegistry {
  readonly #families = new Map<string, Family>();
  readonly #collectors: (() => readonly MetricSample[])[] = [];

  counter(name: string, help: string): Counter {
    return this.#register(new Counter(name, help));
  }

  gauge(name: string, help: string): Gauge {
    return this.#register(new Gauge(name, help));
  }

  /** Adds samples read at every scrape. */
  collect(collector: () => readonly MetricSample[]): void {
    this.#collectors.push(collector);
  }

  samples(): MetricSample[] {
    return [
      ...[...this.#families.values()].flatMap((f) => f.samples()),
      ...this.#collectors.flatMap((c) => c()),
    ];
  }

  render(): string {
    return renderMetrics(this.samples());
  }

  #register<F extends Family>(family: F): F {
    if (this.#families.has(family.name)) throw new Error(`metric ${family.name} is registered already`);
    this.#families.set(family.name, family);
    return family;
  }
}
