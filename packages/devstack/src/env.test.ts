import { describe, expect, it } from 'vitest';
import { DevstackSettingsError, readLocalClusterEnv, readLocalStackEnv } from './env.js';

function problemsOf(read: () => unknown): readonly string[] {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(DevstackSettingsError);
    return (error as DevstackSettingsError).problems;
  }
  throw new Error('expected a DevstackSettingsError');
}

describe('readLocalStackEnv (npm start)', () => {
  it('given nothing, when read, then it is .threadline on 4222 and 8222', () => {
    expect(readLocalStackEnv({})).toEqual({ dataDir: '.threadline', natsPort: 4222, httpPort: 8222 });
  });

  it('given ports and a folder, when read, then they are used; 0 means a free port', () => {
    expect(
      readLocalStackEnv({
        THREADLINE_DATA_DIR: '/tmp/tl',
        THREADLINE_NATS_PORT: '0',
        THREADLINE_HTTP_PORT: '9000',
      }),
    ).toEqual({ dataDir: '/tmp/tl', natsPort: 0, httpPort: 9000 });
  });

  it('given a bad port, when read, then the problem names the variable', () => {
    expect(problemsOf(() => readLocalStackEnv({ THREADLINE_NATS_PORT: '70000' }))).toEqual([
      'THREADLINE_NATS_PORT: expected a port number from 0 to 65535, got "70000"',
    ]);
  });
});

describe('readLocalClusterEnv (npm run cluster)', () => {
  it('given nothing, when read, then it is .threadline/cluster, nodes from 4222 and 8222, 2 workers and 2 schedulers', () => {
    expect(readLocalClusterEnv({})).toEqual({
      dataDir: '.threadline/cluster',
      natsPort: 4222,
      httpPort: 8222,
      workers: 2,
      schedulers: 2,
    });
  });

  it('given values, when read, then they are used; ports 0 mean free ports', () => {
    expect(
      readLocalClusterEnv({
        THREADLINE_DATA_DIR: '/tmp/tlcluster',
        THREADLINE_NATS_PORT: '0',
        THREADLINE_HTTP_PORT: '0',
        THREADLINE_WORKERS: '3',
        THREADLINE_SCHEDULERS: '1',
      }),
    ).toEqual({ dataDir: '/tmp/tlcluster', natsPort: 0, httpPort: 0, workers: 3, schedulers: 1 });
    expect(readLocalClusterEnv({ THREADLINE_NATS_PORT: '65533', THREADLINE_WORKERS: '64' })).toMatchObject({
      natsPort: 65533,
      workers: 64,
    });
  });

  it('given bad counts and ports, when read, then every problem names its variable and what it accepts', () => {
    expect(
      problemsOf(() =>
        readLocalClusterEnv({
          THREADLINE_NATS_PORT: '65534',
          THREADLINE_HTTP_PORT: '-1',
          THREADLINE_WORKERS: '0',
          THREADLINE_SCHEDULERS: 'two',
        }),
      ),
    ).toEqual([
      'THREADLINE_NATS_PORT: expected 0 (free ports) or a port number from 1 to 65533 (the nodes take it and the next two), got "65534"',
      'THREADLINE_HTTP_PORT: expected 0 (free ports) or a port number from 1 to 65533 (the nodes take it and the next two), got "-1"',
      'THREADLINE_WORKERS: expected an integer from 1 to 64, got "0"',
      'THREADLINE_SCHEDULERS: expected an integer from 1 to 64, got "two"',
    ]);
    for (const bad of ['1.5', '1e1', '65']) {
      expect(problemsOf(() => readLocalClusterEnv({ THREADLINE_WORKERS: bad }))).toEqual([
        `THREADLINE_WORKERS: expected an integer from 1 to 64, got ${JSON.stringify(bad)}`,
      ]);
    }
  });
});
