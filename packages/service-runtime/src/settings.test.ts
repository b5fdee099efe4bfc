import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COMMON_DEFAULTS,
  natsCredentialsOf,
  natsServerProblem,
  natsUrlProblems,
  readCommonSettings,
  SettingsError,
  SettingsReader,
} from './settings.js';

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

describe('THREADLINE_NATS_URL', () => {
  it('given a cluster as a comma-separated list, when read, then it is kept as given (connectService splits it: natsServerList)', () => {
    const value = 'nats://127.0.0.1:4222, nats://127.0.0.1:4223 ,127.0.0.1:4224,';
    expect(read({ THREADLINE_NATS_URL: value }).natsUrl).toBe(value);
  });

  it.each([
    'nats://127.0.0.1:4222',
    'nats://nats-0.nats.svc.cluster.local:4222',
    'tls://nats.example.com:443',
    'nats://user:secret@10.0.0.1:4222',
    'nats://[::1]:4222',
    'NATS://127.0.0.1:4222',
    'nats://127.0.0.1:4222/',
    'nats://localhost',
    '127.0.0.1:4222',
    'localhost:4222',
    '[fe80::1]:4222',
    'demo.nats.io',
  ])('given the server %j, when checked, then it is accepted', (entry) => {
    expect(natsServerProblem(entry)).toBeUndefined();
    expect(read({ THREADLINE_NATS_URL: `${entry},nats://127.0.0.1:4223` }).natsUrl).toContain(entry);
  });

  it.each([
    ['http://127.0.0.1:4222', 'has the scheme http://; use nats:// or tls://'],
    ['ws://127.0.0.1:4222', 'has the scheme ws://; use nats:// or tls://'],
    ['nats://127.0.0.1:4222 nats://127.0.0.1:4223', 'is not a NATS URL (nats://host:port) or host:port'],
    ['nats://127.0.0.1:42a2', 'is not a NATS URL (nats://host:port) or host:port'],
    ['nats://', 'is not a NATS URL (nats://host:port) or host:port'],
    ['nats://host:4222/path', 'is not a NATS URL (nats://host:port) or host:port'],
    ['nats://host:70000', 'the port must be from 1 to 65535'],
    ['host:0', 'the port must be from 1 to 65535'],
  ])('given the server %j, when checked, then the problem says %j', (entry, problem) => {
    expect(natsServerProblem(entry)).toContain(problem);
  });

  it('given a list with bad entries, when read, then each bad entry is a problem naming the variable', () => {
    const value = 'nats://127.0.0.1:4222,http://127.0.0.1:4223,bad host';
    expect(problemsOf(() => read({ THREADLINE_NATS_URL: value })).problems).toEqual([
      `THREADLINE_NATS_URL=${JSON.stringify(value)}: "http://127.0.0.1:4223" has the scheme http://; use nats:// or tls://`,
      `THREADLINE_NATS_URL=${JSON.stringify(value)}: "bad host" is not a NATS URL (nats://host:port) or host:port`,
    ]);
  });

  it('given only commas, when read, then it names no server: a problem', () => {
    expect(problemsOf(() => read({ THREADLINE_NATS_URL: ' , ,' })).problems).toEqual([
      'THREADLINE_NATS_URL=" , ,": names no server (nats://host:port, several separated by commas)',
    ]);
    expect(natsUrlProblems('--server', ',')).toEqual([
      '--server=",": names no server (nats://host:port, several separated by commas)',
    ]);
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

describe('the NATS credentials variables', () => {
  const SECRET = 's3cret-Pa55word';
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'threadline-settings-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('given none, then the settings carry no credentials (a server without authorization)', () => {
    const settings = read({});
    expect(natsCredentialsOf(settings)).toEqual({});
    expect('natsUser' in settings || 'natsPassword' in settings || 'natsTlsCa' in settings).toBe(false);
  });

  it('given a user and a password (or a password file) and a CA, then the connection takes all three', async () => {
    const ca = join(dir, 'ca.pem');
    await writeFile(ca, '-----BEGIN CERTIFICATE-----\n');
    const settings = read({
      THREADLINE_NATS_USER: 'worker',
      THREADLINE_NATS_PASSWORD: SECRET,
      THREADLINE_NATS_TLS_CA: ca,
    });
    expect(settings).toMatchObject({ natsUser: 'worker', natsPassword: SECRET, natsTlsCa: ca });
    expect(natsCredentialsOf(settings)).toEqual({ user: 'worker', password: SECRET, tlsCaFile: ca });
    const file = join(dir, 'password');
    await writeFile(file, `${SECRET}\n`, { mode: 0o600 });
    expect(read({ THREADLINE_NATS_USER: 'ops', THREADLINE_NATS_PASSWORD_FILE: file })).toMatchObject({
      natsUser: 'ops',
      natsPassword: SECRET,
    });
  });

  it('given half of a pair, both password variables, a missing file or a bad user, then each is a problem naming the variables and never the password', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ THREADLINE_NATS_PASSWORD: SECRET }, /THREADLINE_NATS_PASSWORD is set without THREADLINE_NATS_USER/],
      [{ THREADLINE_NATS_USER: 'worker' }, /THREADLINE_NATS_USER is set without a password/],
      [
        {
          THREADLINE_NATS_USER: 'worker',
          THREADLINE_NATS_PASSWORD: SECRET,
          THREADLINE_NATS_PASSWORD_FILE: '/x',
        },
        /THREADLINE_NATS_PASSWORD and THREADLINE_NATS_PASSWORD_FILE are both set/,
      ],
      [
        { THREADLINE_NATS_USER: 'worker', THREADLINE_NATS_PASSWORD_FILE: join(dir, 'absent') },
        /THREADLINE_NATS_PASSWORD_FILE=.*absent: cannot read it \(ENOENT\)/,
      ],
      [
        { THREADLINE_NATS_USER: 'a.b', THREADLINE_NATS_PASSWORD: SECRET },
        /THREADLINE_NATS_USER="a\.b": 1-64 letters/,
      ],
      [
        { THREADLINE_NATS_TLS_CA: join(dir, 'no-ca.pem') },
        /THREADLINE_NATS_TLS_CA=.*no-ca\.pem: no such file/,
      ],
      [{ THREADLINE_NATS_TLS_CA: dir }, /THREADLINE_NATS_TLS_CA=.*: not a file/],
    ];
    for (const [env, problem] of cases) {
      const error = problemsOf(() => read(env));
      expect(error.problems.join('\n'), JSON.stringify(env)).toMatch(problem);
      expect(error.message).not.toContain(SECRET);
    }
  });

  it('given credentials in THREADLINE_NATS_URL and a bad entry, then the problem does not show the password', () => {
    const error = problemsOf(() => read({ THREADLINE_NATS_URL: `nats://worker:${SECRET}@host:99999` }));
    expect(error.message).toContain('nats://worker:***@host:99999');
    expect(error.message).not.toContain(SECRET);
  });
});
