import { describe, expect, it } from 'vitest';
import { COMMON_DEFAULTS, readCommonSettings, SettingsError, SettingsReader } from './settings.js';

const ID = 'THREADLINE_THING_ID';

function read(env: Record<string, string | undefined>) {
  const reader = new SettingsReader(env);
  const settings = readCommonSettings(reader, { idVariable: ID, pid: 123, host: 'box' });
  reader.done('thing');
  return settings;
}

function problemsOf(run: () => unknown): SettingsError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    return error as SettingsError;
  }
  throw new Error('expected a SettingsError');
}

describe('readCommonSettings', () => {
  it('given no environment, when read, then every setting has its default and the id is <host>-<pid>', () => {
    const settings = read({});
    expect(settings).toEqual({ ...COMMON_DEFAULTS, instanceId: 'box-123' });
    expect(settings.configPath).toBeUndefined();
  });

  it('given empty values, when read, then they count as unset', () => {
    const settings = read({
      THREADLINE_NATS_URL: '',
      THREADLINE_PARTITIONS: '',
      [ID]: '',
      THREADLINE_CONFIG: '',
    });
    expect(settings).toEqual({ ...COMMON_DEFAULTS, instanceId: 'box-123' });
  });

  it('given values, when read, then they are used', () => {
    expect(
      read({
        THREADLINE_NATS_URL: 'nats://10.0.0.1:4222',
        [ID]: 'thing-a.1',
        THREADLINE_PARTITIONS: '32',
        THREADLINE_REPLICAS: '3',
        THREADLINE_LEASE_TTL_MS: '2500',
        THREADLINE_CONFIG: '/etc/threadline.json5',
      }),
    ).toEqual({
      natsUrl: 'nats://10.0.0.1:4222',
      instanceId: 'thing-a.1',
      partitions: 32,
      replicas: 3,
      leaseTtlMs: 2500,
      configPath: '/etc/threadline.json5',
      logLevel: 'info',
      metricsPort: 0,
      metricsHost: '127.0.0.1',
    });
  });

  it('given the observability variables, when read, then the log level and the ops server follow them', () => {
    expect(
      read({
        THREADLINE_LOG_LEVEL: 'debug',
        THREADLINE_METRICS_PORT: '9464',
        THREADLINE_METRICS_HOST: '0.0.0.0',
      }),
    ).toMatchObject({ logLevel: 'debug', metricsPort: 9464, metricsHost: '0.0.0.0' });
    for (const level of ['debug', 'info', 'warn', 'error'])
      expect(read({ THREADLINE_LOG_LEVEL: level }).logLevel).toBe(level);
  });

  it('given a bad log level or metrics port, when read, then the error names the variable and what it accepts', () => {
    expect(
      problemsOf(() => read({ THREADLINE_LOG_LEVEL: 'loud', THREADLINE_METRICS_PORT: '70000' })).problems,
    ).toEqual([
      'THREADLINE_LOG_LEVEL="loud": must be one of debug, info, warn, error',
      'THREADLINE_METRICS_PORT="70000": must be an integer from 0 to 65535',
    ]);
    expect(problemsOf(() => read({ THREADLINE_LOG_LEVEL: 'INFO' })).problems).toEqual([
      'THREADLINE_LOG_LEVEL="INFO": must be one of debug, info, warn, error',
    ]);
  });

  it('given the bounds, when read, then both ends are accepted', () => {
    expect(read({ THREADLINE_PARTITIONS: '1', THREADLINE_REPLICAS: '5' })).toMatchObject({
      partitions: 1,
      replicas: 5,
    });
    expect(read({ THREADLINE_PARTITIONS: '1024', THREADLINE_LEASE_TTL_MS: '500' })).toMatchObject({
      partitions: 1024,
      leaseTtlMs: 500,
    });
  });

  it('given several bad values, when read, then one error names each variable and the problem', () => {
    const error = problemsOf(() =>
      read({
        THREADLINE_PARTITIONS: '0',
        THREADLINE_REPLICAS: 'three',
        THREADLINE_LEASE_TTL_MS: '1.5',
        [ID]: 'has space',
      }),
    );
    expect(error.problems).toEqual([
      'THREADLINE_PARTITIONS="0": must be an integer from 1 to 1024',
      'THREADLINE_REPLICAS="three": must be an integer from 1 to 5',
      'THREADLINE_LEASE_TTL_MS="1.5": must be an integer from 500 to 600000',
      `${ID}="has space": 1-128 letters, digits, '-', '_', '=' or inner '.'`,
    ]);
    expect(error.message).toBe(`invalid thing settings:\n${error.problems.map((p) => `  ${p}`).join('\n')}`);
  });

  it.each([
    ['.leading-dot', false],
    ['trailing-dot.', false],
    ['inner.dot', true],
    ['a', true],
    ['x'.repeat(128), true],
    ['x'.repeat(129), false],
    ['with/slash', false],
    ['with*star', false],
    ['A_b=c-1', true],
  ])('given the id %j, when read, then it is accepted: %s', (id, ok) => {
    if (ok) expect(read({ [ID]: id }).instanceId).toBe(id);
    else expect(problemsOf(() => read({ [ID]: id })).problems).toEqual([expect.stringContaining(`${ID}=`)]);
  });
});

describe('SettingsReader', () => {
  it('given an integer variable, when read, then a value outside the range or not an integer is a problem', () => {
    const reader = new SettingsReader({ A: '7', B: '11', C: '-1', D: 'x', E: '1e1' });
    expect(reader.int('A', 1, 0, 10)).toBe(7);
    expect(reader.int('B', 1, 0, 10)).toBe(1);
    expect(reader.int('C', 2, 0, 10)).toBe(2);
    expect(reader.int('D', 3, 0, 10)).toBe(3);
    expect(reader.int('E', 4, 0, 10)).toBe(10);
    expect(reader.int('UNSET', 5, 0, 10)).toBe(5);
    expect(reader.problems).toEqual([
      'B="11": must be an integer from 0 to 10',
      'C="-1": must be an integer from 0 to 10',
      'D="x": must be an integer from 0 to 10',
    ]);
  });

  it('given problems of its own, when done, then they are listed with the others', () => {
    const reader = new SettingsReader({ N: 'no' });
    reader.int('N', 1, 1, 2);
    reader.problem('THREADLINE_OTHER="?": not allowed');
    const error = problemsOf(() => reader.done());
    expect(error.problems).toEqual([
      'N="no": must be an integer from 1 to 2',
      'THREADLINE_OTHER="?": not allowed',
    ]);
    expect(error.message).toMatch(/^invalid service settings:\n {2}N=/);
  });

  it('given no problems, when done, then nothing is thrown', () => {
    const reader = new SettingsReader({ N: '1' });
    reader.int('N', 1, 1, 2);
    expect(() => reader.done('thing')).not.toThrow();
  });
});
