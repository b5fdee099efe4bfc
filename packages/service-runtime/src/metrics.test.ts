import { describe, expect, it } from 'vitest';
import {
  counter,
  escapeLabelValue,
  flag,
  formatValue,
  gauge,
  MetricsRegistry,
  renderMetrics,
} from './metrics.js';

describe('renderMetrics', () => {
  it('given a counter and a gauge, when rendered, then each family has its HELP and TYPE before its sample', () => {
    expect(
      renderMetrics([
        counter('threadline_things_total', 'Things done.', 42),
        gauge('threadline_queue_depth', 'Things waiting.', 7),
      ]),
    ).toBe(
      [
        '# HELP threadline_things_total Things done.',
        '# TYPE threadline_things_total counter',
        'threadline_things_total 42',
        '# HELP threadline_queue_depth Things waiting.',
        '# TYPE threadline_queue_depth gauge',
        'threadline_queue_depth 7',
        '',
      ].join('\n'),
    );
  });

  it('given labelled series of one family, when rendered, then they share one HELP and TYPE, in order', () => {
    expect(
      renderMetrics([
        counter('dead_letters_total', 'Dead letters.', 3, { code: 'too_large' }),
        gauge('leader', 'Leads.', 1),
        counter('dead_letters_total', 'Dead letters.', 0, { code: 'invalid_json', partition: '2' }),
      ]),
    ).toBe(
      [
        '# HELP dead_letters_total Dead letters.',
        '# TYPE dead_letters_total counter',
        'dead_letters_total{code="too_large"} 3',
        'dead_letters_total{code="invalid_json",partition="2"} 0',
        '# HELP leader Leads.',
        '# TYPE leader gauge',
        'leader 1',
        '',
      ].join('\n'),
    );
  });

  it('given label values and help with special characters, when rendered, then they are escaped', () => {
    const text = renderMetrics([
      gauge('odd', 'Help with \\ and\nnewline, "quotes" stay.', 1, { path: 'C:\\dir\n"x"' }),
    ]);
    expect(text).toContain('# HELP odd Help with \\\\ and\\nnewline, "quotes" stay.\n');
    expect(text).toContain('odd{path="C:\\\\dir\\n\\"x\\""} 1\n');
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });

  it('given special values, when rendered, then they are written as Prometheus reads them', () => {
    expect([NaN, Infinity, -Infinity, 0, 1.5, -2, 1e21].map(formatValue)).toEqual([
      'NaN',
      '+Inf',
      '-Inf',
      '0',
      '1.5',
      '-2',
      '1e+21',
    ]);
    expect(renderMetrics([flag('up', 'Up.', true), flag('down', 'Down.', false)])).toMatch(
      /^up 1\n[\s\S]*^down 0$/m,
    );
  });

  it('given nothing, when rendered, then the page is empty', () => {
    expect(renderMetrics([])).toBe('');
  });

  it('given mistakes, when rendered, then it refuses them', () => {
    expect(() => renderMetrics([gauge('bad-name', 'x', 1)])).toThrow(/invalid metric name "bad-name"/);
    expect(() => renderMetrics([gauge('m', 'x', 1, { 'bad-label': 'v' })])).toThrow(/invalid label name/);
    expect(() => renderMetrics([gauge('m', 'x', 1, { __reserved: 'v' })])).toThrow(/invalid label name/);
    expect(() => renderMetrics([gauge('m', 'x', 1), counter('m', 'x', 1)])).toThrow(/two types/);
    expect(() => renderMetrics([gauge('m', 'x', 1), gauge('m', 'y', 1)])).toThrow(/help texts/);
    expect(() => renderMetrics([gauge('m', 'x', 1, { a: '1' }), gauge('m', 'x', 2, { a: '1' })])).toThrow(
      /given twice/,
    );
  });
});

describe('MetricsRegistry', () => {
  it('given counters, gauges and a collector, when rendered, then all of them are on the page', () => {
    const registry = new MetricsRegistry();
    const requests = registry.counter('requests_total', 'Requests.');
    const depth = registry.gauge('depth', 'Depth.');
    requests.inc({ route: '/a' });
    requests.inc({ route: '/a' }, 2);
    requests.inc({ route: '/b' });
    depth.set(5);
    depth.dec();
    depth.inc(undefined, 3);
    registry.collect(() => [gauge('collected', 'Read at scrape time.', 9)]);
    expect(requests.get({ route: '/a' })).toBe(3);
    expect(depth.get()).toBe(7);
    expect(registry.render()).toBe(
      [
        '# HELP requests_total Requests.',
        '# TYPE requests_total counter',
        'requests_total{route="/a"} 3',
        'requests_total{route="/b"} 1',
        '# HELP depth Depth.',
        '# TYPE depth gauge',
        'depth 7',
        '# HELP collected Read at scrape time.',
        '# TYPE collected gauge',
        'collected 9',
        '',
      ].join('\n'),
    );
  });

  it('given label sets in another order, when counted, then they are one series', () => {
    const registry = new MetricsRegistry();
    const c = registry.counter('c_total', 'C.');
    c.inc({ a: '1', b: '2' });
    c.inc({ b: '2', a: '1' });
    expect(c.get({ b: '2', a: '1' })).toBe(2);
    expect(c.samples()).toHaveLength(1);
  });

  it('given a negative increment or a name taken twice, then it refuses', () => {
    const registry = new MetricsRegistry();
    const c = registry.counter('c_total', 'C.');
    expect(() => c.inc(undefined, -1)).toThrow(RangeError);
    expect(() => registry.gauge('c_total', 'again')).toThrow(/registered already/);
    expect(() => registry.gauge('not a name', 'x')).toThrow(/invalid metric name/);
  });
});
