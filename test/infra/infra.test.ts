/**
 * The deployment files in `infra/`, checked without a container engine or a Kubernetes cluster (the
 * development machines have neither): every nats-server config is accepted by the real nats-server
 * (`-t`), the cluster configs agree with each other and actually form a cluster, and the compose file and
 * the Kubernetes manifests say what Threadline needs — pinned NATS images of at least 2.10, only the
 * THREADLINE_* variables the services read, every service with enough replicas, probes and health checks
 * on the ops server's port, selectors, references and the kustomization's file list.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { ensureThreadlineStreams, SESSION_RECORD_MAX_BYTES } from '@threadline/event-log';
import { connectToNats } from '@threadline/nats';
import { freePorts, natsServerBinary } from '@threadline/nats-harness';
import { readSettings as readOpsSettings } from '@threadline/ops-service';
import { readSettings as readProjectorSettings } from '@threadline/projector-service';
import {
  compareServerVersions,
  MIN_NATS_SERVER_VERSION,
  parseServerVersion,
  type ServerVersion,
  StreamNames,
} from '@threadline/protocol';
import { readSettings as readSchedulerSettings } from '@threadline/scheduler-service';
import { readSettings as readWorkerSettings } from '@threadline/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import {
  type ConfMap,
  confString,
  confStrings,
  confValue,
  confVariables,
  hostPort,
  k8sBytes,
  natsSize,
  parseNatsConf,
} from './natsConf.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const INFRA = join(ROOT, 'infra');
const COMPOSE_DIR = join(INFRA, 'compose');
const K8S_DIR = join(INFRA, 'k8s');

/** The fsync policy infra/nats/README.md and ADR 0020 document, for every config. */
const SYNC_POLICY = 'always';
/**
 * The oldest image the files may pin: 2.10 is Threadline's floor (ADR 0001), and 2.10.20–2.10.22 could
 * lose whole streams after process crashes (fixed in 2.10.23, Jepsen's NATS 2.12.1 analysis).
 */
const NATS_IMAGE_FLOOR = '2.10.23';
/** Variables the services read that a deployment must never set: fault injection is for tests only. */
const TEST_ONLY_VARIABLES = ['THREADLINE_FAULT'];

// ───────────────────────────── what the code says ─────────────────────────────

const read = (path: string) => readFileSync(path, 'utf8');

function filesUnder(dir: string, suffixes: string[]): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile() && suffixes.some((s) => path.endsWith(s)))
    .sort();
}

/** The services: every folder of services/ with a `src/main.ts`. */
const SERVICES = readdirSync(join(ROOT, 'services'))
  .filter((name) => existsSync(join(ROOT, 'services', name, 'src', 'main.ts')))
  .sort();

/** Every THREADLINE_* variable the services read: the string literals of their settings modules. */
const SETTINGS_SOURCES = [
  join(ROOT, 'packages', 'service-runtime', 'src', 'settings.ts'),
  ...SERVICES.map((s) => join(ROOT, 'services', s, 'src', 'settings.ts')),
];
const KNOWN_VARIABLES = new Set(
  SETTINGS_SOURCES.flatMap((file) => [...read(file).matchAll(/'(THREADLINE_[A-Z0-9_]+)'/g)].map((m) => m[1])),
);

/** Each service's own instance id variable (`idVariable: 'THREADLINE_WORKER_ID'` in its settings). */
const ID_VARIABLES = new Map(
  SERVICES.map((s) => {
    const match = /idVariable:\s*'(THREADLINE_[A-Z0-9_]+)'/.exec(
      read(join(ROOT, 'services', s, 'src', 'settings.ts')),
    );
    if (!match) throw new Error(`services/${s}/src/settings.ts names no idVariable`);
    return [s, match[1] as string];
  }),
);

/** The paths the ops HTTP server answers (liveness and readiness), from its source. */
const OPS_SERVER_SOURCE = read(join(ROOT, 'packages', 'service-runtime', 'src', 'opsServer.ts'));

/** At least this many instances of each service in a deployment: two workers and two schedulers. */
const MINIMUM_INSTANCES: Record<string, number> = { worker: 2, scheduler: 2, projector: 1, ops: 1 };

/** `node services/<name>/dist/main.js` → `<name>`; anything else → undefined. */
function serviceOfCommand(command: readonly string[] | undefined): string | undefined {
  if (command?.length !== 2 || command[0] !== 'node') return undefined;
  return /^services\/([a-z-]+)\/dist\/main\.js$/.exec(command[1] as string)?.[1];
}

function version(text: string): ServerVersion {
  const parsed = parseServerVersion(text);
  if (!parsed) throw new Error(`no version in ${text}`);
  return parsed;
}

/** A `nats:` image must name a full version (no floating tags) of at least the floor. */
function checkNatsImage(image: string, where: string): string {
  const match = /^nats:(\d+\.\d+\.\d+)(-[a-z0-9.]+)?$/.exec(image);
  expect(match, `${where}: ${image} is not a pinned nats:<x.y.z>[-variant] image`).not.toBeNull();
  const pinned = (match as RegExpExecArray)[1] as string;
  expect(
    compareServerVersions(version(pinned), version(MIN_NATS_SERVER_VERSION)),
    `${where}: ${image} is older than Threadline's floor ${MIN_NATS_SERVER_VERSION}`,
  ).toBeGreaterThanOrEqual(0);
  expect(
    compareServerVersions(version(pinned), version(NATS_IMAGE_FLOOR)),
    `${where}: ${image} is older than ${NATS_IMAGE_FLOOR}`,
  ).toBeGreaterThanOrEqual(0);
  return image;
}

/** Each service's own settings reader: what the service does with its environment at start. */
const SETTINGS_READERS: Record<
  string,
  (env: Record<string, string>) => { replicas: number; metricsPort: number; metricsHost: string }
> = {
  worker: readWorkerSettings,
  projector: readProjectorSettings,
  scheduler: readSchedulerSettings,
  ops: readOpsSettings,
};

/** A pod's name, for variables set from `metadata.name` (the downward API). */
const SAMPLE_POD_NAME = 'threadline-worker-7d9f8b6c5-x2x9q';

/** The checks every service environment must pass, whatever the platform. */
function checkThreadlineEnvironment(
  service: string,
  env: ReadonlyMap<string, string>,
  where: string,
  natsNodes: readonly string[],
  replicas: number,
): void {
  // The service itself accepts it (valid numbers, URLs, ids …) and reads what the deployment means.
  const reader = SETTINGS_READERS[service];
  expect(reader, `no settings reader for ${service} in this test`).toBeDefined();
  const values = Object.fromEntries(
    [...env].map(([k, v]) => [k, v === 'fieldRef:metadata.name' ? SAMPLE_POD_NAME : v]),
  );
  let settings: ReturnType<NonNullable<typeof reader>> | undefined;
  expect(() => {
    settings = reader?.(values);
  }, `${where}: ${service} refuses its environment`).not.toThrow();
  expect(settings?.replicas, `${where}: replicas as the service reads them`).toBe(replicas);
  for (const name of env.keys()) {
    if (!name.startsWith('THREADLINE_')) continue;
    expect(KNOWN_VARIABLES.has(name), `${where}: ${name} is read by no service (typo?)`).toBe(true);
    expect(TEST_ONLY_VARIABLES, `${where}: ${name} is for tests only`).not.toContain(name);
  }
  const urls = (env.get('THREADLINE_NATS_URL') ?? '').split(',').map((u) => u.trim());
  expect(
    urls.map((u) => /^nats:\/\/([^:/]+:\d+)$/.exec(u)?.[1] ?? `not a nats:// URL: ${u}`).sort(),
    `${where}: THREADLINE_NATS_URL must list every NATS node`,
  ).toEqual([...natsNodes].sort());
  expect(env.get('THREADLINE_REPLICAS'), `${where}: THREADLINE_REPLICAS`).toBe(String(replicas));
  const port = Number(env.get('THREADLINE_METRICS_PORT'));
  expect(
    Number.isInteger(port) && port > 0,
    `${where}: THREADLINE_METRICS_PORT must be set (the probes need the ops server)`,
  ).toBe(true);
  expect(
    env.get('THREADLINE_METRICS_HOST'),
    `${where}: THREADLINE_METRICS_HOST must be 0.0.0.0 to be reached from outside the container`,
  ).toBe('0.0.0.0');
}

function expectServedPath(path: string) {
  expect(OPS_SERVER_SOURCE, `the ops server does not answer ${path}`).toContain(`'${path}'`);
}

// ───────────────────────────── nats-server ─────────────────────────────

let natsBin = '';

function natsCheck(file: string, env: Record<string, string>): Promise<{ ok: boolean; output: string }> {
  // Only the variables given: a reference the platform does not define must fail here too.
  return new Promise((done) => {
    execFile(
      natsBin,
      ['-t', '-c', file],
      { env: { PATH: process.env.PATH ?? '', ...env } },
      (error, out, err) => done({ ok: error === null, output: `${out}${err}`.trim() }),
    );
  });
}

async function expectAccepted(file: string, env: Record<string, string> = {}) {
  const verdict = await natsCheck(file, env);
  expect(verdict.ok, `nats-server -t -c ${relative(ROOT, file)}: ${verdict.output}`).toBe(true);
}

/** Checks one config's text by writing it to a temporary file (a ConfigMap's config). */
async function expectTextAccepted(text: string, name: string, env: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'threadline-infra-'));
  try {
    const file = join(dir, name);
    await writeFile(file, text);
    await expectAccepted(file, env);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What every Threadline nats-server config states, whichever platform it is for. */
function checkThreadlineNatsSettings(conf: ConfMap, where: string) {
  expect(confValue(conf, 'jetstream'), `${where}: JetStream must be enabled`).toBeTypeOf('object');
  expect(confString(conf, 'jetstream.sync_interval'), `${where}: the documented fsync policy`).toBe(
    SYNC_POLICY,
  );
  expect(confString(conf, 'jetstream.store_dir'), `${where}: an explicit store`).not.toBe('');
  expect(
    natsSize(confString(conf, 'max_payload')),
    `${where}: max_payload must take a whole session record (SESSION_RECORD_MAX_BYTES)`,
  ).toBe(SESSION_RECORD_MAX_BYTES);
}

const NATS_DIR = join(INFRA, 'nats');
const SINGLE = join(NATS_DIR, 'single.conf');
const CLUSTER = [1, 2, 3].map((i) => join(NATS_DIR, 'cluster', `n${i}.conf`));
const conf = (file: string) => parseNatsConf(read(file), relative(ROOT, file));

beforeAll(async () => {
  natsBin = process.env.NATS_SERVER_BIN ?? (await natsServerBinary()).path;
});

describe('the nats-server configs in infra/nats', () => {
  it('are every .conf in infra/ outside the compose folder, and nats-server -t accepts each one', async () => {
    const all = filesUnder(INFRA, ['.conf']);
    const plain = all.filter((f) => !f.startsWith(`${COMPOSE_DIR}/`));
    expect(plain).toEqual([...CLUSTER, SINGLE].sort());
    for (const file of plain) {
      expect(confVariables(conf(file)), `${relative(ROOT, file)} is run as is: no $VARIABLES`).toEqual([]);
      await expectAccepted(file);
    }
  });

  it('single.conf: one node on loopback, JetStream with the documented fsync policy', () => {
    const single = conf(SINGLE);
    checkThreadlineNatsSettings(single, 'single.conf');
    expect(confValue(single, 'cluster'), 'single.conf is one node').toBeUndefined();
    expect(hostPort(confString(single, 'listen'))).toEqual({ host: '127.0.0.1', port: 4222 });
    expect(hostPort(confString(single, 'http'))).toEqual({ host: '127.0.0.1', port: 8222 });
  });

  it('cluster/n1–n3.conf agree: one cluster name, distinct names, ports and stores, routes to the other two', () => {
    const nodes = CLUSTER.map((file) => ({ file: relative(ROOT, file), conf: conf(file) }));
    const names = new Set(nodes.map((n) => confString(n.conf, 'cluster.name')));
    expect(names.size, 'one cluster name').toBe(1);
    const distinct = (what: string, values: string[]) =>
      expect(new Set(values).size, `distinct ${what}: ${values.join(', ')}`).toBe(nodes.length);
    distinct(
      'server names',
      nodes.map((n) => confString(n.conf, 'server_name')),
    );
    distinct(
      'stores',
      nodes.map((n) => confString(n.conf, 'jetstream.store_dir')),
    );
    const ports = nodes.flatMap((n) =>
      ['listen', 'http', 'cluster.listen'].map((key) => hostPort(confString(n.conf, key)).port),
    );
    expect(new Set(ports).size, `every port distinct: ${ports.join(', ')}`).toBe(ports.length);
    for (const [i, node] of nodes.entries()) {
      checkThreadlineNatsSettings(node.conf, node.file);
      expect(hostPort(confString(node.conf, 'listen')).host, `${node.file}: loopback`).toBe('127.0.0.1');
      expect(hostPort(confString(node.conf, 'listen')).port).toBe(4222 + i);
      expect(hostPort(confString(node.conf, 'cluster.listen')).port).toBe(6222 + i);
      expect(hostPort(confString(node.conf, 'http')).port).toBe(8222 + i);
      const routes = confStrings(node.conf, 'cluster.routes').map((r) => {
        expect(r, `${node.file}: routes are nats-route:// URLs`).toMatch(/^nats-route:\/\//);
        const { host, port } = hostPort(r);
        return `${host}:${port}`;
      });
      const others = nodes
        .filter((_, j) => j !== i)
        .map((n) => {
          const { host, port } = hostPort(confString(n.conf, 'cluster.listen'));
          return `${host}:${port}`;
        });
      expect(routes.sort(), `${node.file}: routes to exactly the other two nodes`).toEqual(others.sort());
    }
  });

  describe('started as real servers (ports and stores moved to free ones and a temporary folder)', () => {
    const running: ChildProcess[] = [];
    let work = '';

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'threadline-infra-run-'));
    });
    afterAll(async () => {
      await Promise.all(running.map(stopProcess));
      if (work) await rm(work, { recursive: true, force: true });
    });

    /**
     * Starts `files` with every loopback port moved consistently (routes keep pointing at the right
     * nodes) to free ones and each store into `work`, and waits until `ready` holds for every node. Ports
     * are reserved before the servers bind them, so another process may take one in between: when a
     * server exits because its port is taken, the whole set is started again on fresh ports.
     */
    async function start(files: string[], ready: (node: Launched) => Promise<void>): Promise<Launched[]> {
      for (let attempt = 1; ; attempt++) {
        const nodes = await launch(files, attempt);
        try {
          for (const node of nodes) await ready(node);
          return nodes;
        } catch (error) {
          const portTaken = nodes.some(
            (n) =>
              n.proc.exitCode !== null && existsSync(n.log) && /address already in use/.test(read(n.log)),
          );
          await Promise.all(nodes.map((n) => stopProcess(n.proc)));
          if (attempt >= 3 || !portTaken) throw error;
        }
      }
    }

    async function launch(files: string[], attempt: number): Promise<Launched[]> {
      const texts = files.map(read);
      const old = [...new Set(texts.flatMap((t) => [...t.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => m[1])))];
      const fresh = await freePorts(old.length);
      const port = new Map(old.map((p, i) => [p, fresh[i] as number]));
      return Promise.all(
        files.map(async (file, i) => {
          const name = `${relative(NATS_DIR, file).replace(/[/.]/g, '-')}-${attempt}`;
          let stores = 0;
          const text = (texts[i] as string)
            .replace(/127\.0\.0\.1:(\d+)/g, (_, p: string) => `127.0.0.1:${port.get(p)}`)
            .replace(/^(\s*store_dir:\s*)("[^"]*"|\S+)/m, (_, key: string) => {
              stores++;
              return `${key}${JSON.stringify(join(work, name))}`;
            });
          expect(stores, `${relative(ROOT, file)}: one store_dir to move`).toBe(1);
          const moved = join(work, `${name}.conf`);
          const log = join(work, `${name}.log`);
          await writeFile(moved, text);
          const proc = startProcess(natsBin, ['-c', moved, '-l', log]);
          running.push(proc);
          const parsed = parseNatsConf(text, moved);
          return {
            name: confString(parsed, 'server_name'),
            url: `nats://${confString(parsed, 'listen')}`,
            monitor: `http://${confString(parsed, 'http')}`,
            proc,
            log,
          };
        }),
      );
    }

    async function expectVarz(node: { name: string; monitor: string }) {
      const varz = (await (await fetch(`${node.monitor}/varz`)).json()) as {
        server_name: string;
        max_payload: number;
        jetstream?: { config?: { sync_always?: boolean; store_dir?: string } };
      };
      expect(varz.server_name).toBe(node.name);
      expect(varz.max_payload, 'max_payload as the server reads it').toBe(SESSION_RECORD_MAX_BYTES);
      expect(varz.jetstream?.config?.sync_always, `${node.name}: fsync on every write`).toBe(true);
      expect(varz.jetstream?.config?.store_dir?.startsWith(work)).toBe(true);
    }

    it('the 3-node cluster forms, elects a meta leader and takes Threadline R3 streams', async () => {
      const nodes = await start(CLUSTER, (node) => waitForMetaLeader(node, CLUSTER.length, 20_000));
      for (const node of nodes) await expectVarz(node);
      const nc = await connectToNats({ servers: nodes.map((n) => n.url), name: 'threadline-infra-test' });
      try {
        await ensureThreadlineStreams(nc, { replicas: 3 });
        const info = await (await jetstreamManager(nc)).streams.info(StreamNames.sessions);
        expect(info.config.num_replicas).toBe(3);
        expect([info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((r) => r.name)].sort()).toEqual(
          nodes.map((n) => n.name).sort(),
        );
      } finally {
        await nc.close();
      }
    }, 40_000);

    it('the single node starts with JetStream and takes Threadline streams', async () => {
      const [node] = await start([SINGLE], (n) => waitForHealthy(n, 20_000));
      if (!node) throw new Error('not started');
      await expectVarz(node);
      const nc = await connectToNats({ servers: node.url, name: 'threadline-infra-test' });
      try {
        const report = await ensureThreadlineStreams(nc, { replicas: 1 });
        expect(report).toBeDefined();
      } finally {
        await nc.close();
      }
    }, 30_000);
  });
});

// ───────────────────────────── compose ─────────────────────────────

interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string };
  command?: string | string[];
  hostname?: string;
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[] };
  deploy?: { replicas?: number };
}

const composeFile = join(COMPOSE_DIR, 'compose.yaml');
const compose = parse(read(composeFile), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
};

function composeEnv(service: ComposeService): Map<string, string> {
  const env = service.environment ?? {};
  const entries = Array.isArray(env)
    ? env.map((line) => {
        const at = line.indexOf('=');
        return [line.slice(0, at), line.slice(at + 1)] as [string, string];
      })
    : Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)] as [string, string]);
  return new Map(entries);
}

const composeCommand = (s: ComposeService) =>
  typeof s.command === 'string' ? s.command.split(/\s+/) : s.command;

/** Bind mounts and named volumes as `{ source, target }`. */
function composeMounts(service: ComposeService): { source: string; target: string }[] {
  return (service.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return { source: v.source ?? '', target: v.target ?? '' };
    const [source = '', target = ''] = v.split(':');
    return { source, target };
  });
}

describe('infra/compose/compose.yaml', () => {
  const services = Object.entries(compose.services);
  const natsServices = services.filter(([, s]) => s.image?.startsWith('nats:'));
  const threadline = services.filter(([, s]) => serviceOfCommand(composeCommand(s)) !== undefined);

  /** The one config every nats service mounts, parsed, with its path. */
  function natsConfigOf(name: string, service: ComposeService) {
    const command = composeCommand(service) ?? [];
    const at = command.findIndex((a) => a === '--config' || a === '-c');
    expect(at, `${name}: command names its config (--config <file>)`).toBeGreaterThanOrEqual(0);
    const target = command[at + 1];
    const mount = composeMounts(service).find((m) => m.target === target);
    expect(mount, `${name}: ${target} is mounted from a file in infra/compose`).toBeDefined();
    const file = resolve(COMPOSE_DIR, (mount as { source: string }).source);
    expect(existsSync(file), `${name}: ${relative(ROOT, file)} exists`).toBe(true);
    return { file, conf: parseNatsConf(read(file), relative(ROOT, file)) };
  }

  it('every service is a NATS node or a Threadline service', () => {
    const other = services.filter(([n]) => ![...natsServices, ...threadline].some(([m]) => m === n));
    expect(other.map(([n]) => n)).toEqual([]);
  });

  it('runs three NATS nodes on pinned images ≥ 2.10 whose config nats-server accepts', async () => {
    expect(natsServices.length).toBe(3);
    const configs = new Set<string>();
    for (const [name, service] of natsServices) {
      checkNatsImage(service.image as string, `compose ${name}`);
      const { file, conf: natsConf } = natsConfigOf(name, service);
      configs.add(file);
      checkThreadlineNatsSettings(natsConf, `${relative(ROOT, file)} (${name})`);
      const env = Object.fromEntries(composeEnv(service));
      for (const variable of confVariables(natsConf))
        expect(env[variable], `${name}: ${relative(ROOT, file)} needs $${variable}`).toBeDefined();
      await expectAccepted(file, env);
    }
    // Every .conf under infra/compose is one of them: none is left unchecked.
    expect(filesUnder(COMPOSE_DIR, ['.conf'])).toEqual([...configs].sort());
    expect(new Set(natsServices.map(([, s]) => s.image)).size, 'one NATS version').toBe(1);
  });

  it('the NATS nodes form one cluster: distinct names, routes to every node, stores on named volumes', () => {
    const nodes = natsServices.map(([name, service]) => {
      const natsConf = natsConfigOf(name, service).conf;
      const env = composeEnv(service);
      const serverName = confString(natsConf, 'server_name');
      return {
        name,
        host: service.hostname ?? name,
        serverName: serverName.startsWith('$') ? env.get(serverName.slice(1)) : serverName,
        conf: natsConf,
        service,
      };
    });
    expect(new Set(nodes.map((n) => n.serverName)).size, 'distinct server names').toBe(nodes.length);
    expect(new Set(nodes.map((n) => confString(n.conf, 'cluster.name'))).size, 'one cluster').toBe(1);
    for (const node of nodes) {
      const port = hostPort(confString(node.conf, 'cluster.listen')).port;
      const routes = confStrings(node.conf, 'cluster.routes').map((r) => {
        const { host, port: p } = hostPort(r);
        return `${host}:${p}`;
      });
      const expected = nodes.map((n) => `${n.host}:${port}`);
      // Routes to every node (the node's own route is dropped by the server), and nowhere else.
      expect(
        routes.filter((r) => r !== `${node.host}:${port}`).sort(),
        `${node.name}: routes to the other nodes`,
      ).toEqual(expected.filter((r) => r !== `${node.host}:${port}`).sort());
      expect(
        routes.every((r) => expected.includes(r)),
        `${node.name}: routes only to nodes`,
      ).toBe(true);
      const store = confString(node.conf, 'jetstream.store_dir');
      const volume = composeMounts(node.service).find(
        (m) => store === m.target || store.startsWith(`${m.target}/`),
      );
      expect(volume, `${node.name}: the store ${store} is on a mounted volume`).toBeDefined();
      const source = (volume as { source: string }).source;
      expect(
        !source.startsWith('.') && !source.startsWith('/') && source in (compose.volumes ?? {}),
        `${node.name}: the store is on a named volume declared under volumes: (${source})`,
      ).toBe(true);
    }
    expect(
      new Set(
        nodes.map((n) =>
          composeMounts(n.service)
            .map((m) => m.source)
            .join(),
        ),
      ).size,
    ).toBe(3);
  });

  it('runs every service, two workers and two schedulers at least, built from infra/docker/Dockerfile', () => {
    const count = new Map<string, number>();
    for (const [name, service] of threadline) {
      const which = serviceOfCommand(composeCommand(service)) as string;
      expect(SERVICES, `${name}: services/${which} does not exist`).toContain(which);
      count.set(which, (count.get(which) ?? 0) + (service.deploy?.replicas ?? 1));
      const context = resolve(COMPOSE_DIR, service.build?.context ?? '.');
      expect(context, `${name}: builds from the repository root`).toBe(ROOT);
      expect(join(context, service.build?.dockerfile ?? 'Dockerfile')).toBe(
        join(INFRA, 'docker', 'Dockerfile'),
      );
    }
    for (const service of SERVICES)
      expect(count.get(service) ?? 0, `instances of ${service}`).toBeGreaterThanOrEqual(
        MINIMUM_INSTANCES[service] ?? 1,
      );
  });

  it('gives the services only variables they read: every NATS node, 3 replicas, distinct ids', () => {
    const nodes = natsServices.map(([name, service]) => {
      const port = hostPort(confString(natsConfigOf(name, service).conf, 'listen')).port;
      return `${service.hostname ?? name}:${port}`;
    });
    const ids = new Map<string, string[]>();
    for (const [name, service] of threadline) {
      const which = serviceOfCommand(composeCommand(service)) as string;
      const env = composeEnv(service);
      checkThreadlineEnvironment(which, env, `compose ${name}`, nodes, nodes.length);
      for (const [other, variable] of ID_VARIABLES)
        if (other !== which) expect(env.has(variable), `${name} sets ${other}'s ${variable}`).toBe(false);
      const id = env.get(ID_VARIABLES.get(which) as string);
      if (id !== undefined) {
        expect(service.deploy?.replicas ?? 1, `${name}: one fixed id for several replicas`).toBe(1);
        ids.set(which, [...(ids.get(which) ?? []), id]);
      }
    }
    for (const [which, list] of ids) expect(new Set(list).size, `distinct ${which} ids`).toBe(list.length);
  });

  it('checks health on /readyz at THREADLINE_METRICS_PORT and starts the services after healthy NATS nodes', () => {
    expectServedPath('/readyz');
    for (const [name, service] of threadline) {
      const test = [service.healthcheck?.test ?? []].flat().join(' ');
      const port = composeEnv(service).get('THREADLINE_METRICS_PORT');
      expect(test, `${name}: health check on the ops server's /readyz`).toContain(`127.0.0.1:${port}/readyz`);
      const depends = service.depends_on ?? {};
      for (const [node] of natsServices) {
        const condition = Array.isArray(depends) ? undefined : depends[node]?.condition;
        expect(condition, `${name} waits for ${node} to be healthy`).toBe('service_healthy');
      }
    }
    for (const [name, service] of natsServices)
      expect([service.healthcheck?.test ?? []].flat().join(' '), `${name}: health check`).toMatch(
        /http:\/\/127\.0\.0\.1:8222\/healthz/,
      );
  });
});

// ───────────────────────────── Dockerfile ─────────────────────────────

describe('infra/docker/Dockerfile', () => {
  const dockerfile = read(join(INFRA, 'docker', 'Dockerfile'));

  it('uses Node 20 and the pnpm version package.json pins, and runs a service by default', () => {
    const pinned = (JSON.parse(read(join(ROOT, 'package.json'))) as { packageManager: string })
      .packageManager;
    const pnpm = [...dockerfile.matchAll(/pnpm@([\d.]+)/g)].map((m) => `pnpm@${m[1]}`);
    expect(pnpm.length).toBeGreaterThan(0);
    for (const used of pnpm) expect(used, 'the pinned pnpm (package.json packageManager)').toBe(pinned);
    expect(dockerfile).toMatch(/^ARG NODE_VERSION=20(\.\d+)*$/m);
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from).toMatch(/^node:\$\{NODE_VERSION\}-/);
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile);
    expect(serviceOfCommand(JSON.parse(cmd?.[1] ?? 'null') as string[])).toBe('worker');
  });

  it('has an ignore file keeping local state out of the build context', () => {
    const ignore = read(join(INFRA, 'docker', 'Dockerfile.dockerignore'));
    for (const entry of ['**/node_modules', '**/dist', '.cache', '.threadline', '.git'])
      expect(ignore.split('\n'), entry).toContain(entry);
  });
});

// ───────────────────────────── Kubernetes ─────────────────────────────

interface K8sContainer {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath?: string } } }[];
  envFrom?: { configMapRef?: { name?: string } }[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string }[];
  livenessProbe?: K8sProbe;
  readinessProbe?: K8sProbe;
  startupProbe?: K8sProbe;
}
interface K8sProbe {
  httpGet?: { path?: string; port?: number | string };
}
interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: {
    replicas?: number;
    serviceName?: string;
    podManagementPolicy?: string;
    clusterIP?: string;
    publishNotReadyAddresses?: boolean;
    selector?: { matchLabels?: Record<string, string> } & Record<string, unknown>;
    template?: {
      metadata?: { labels?: Record<string, string> };
      spec?: {
        containers?: K8sContainer[];
        volumes?: { name: string; configMap?: { name?: string } }[];
      };
    };
    volumeClaimTemplates?: {
      metadata?: { name?: string };
      spec?: { resources?: { requests?: { storage?: string } } };
    }[];
  };
}

const k8sFiles = filesUnder(K8S_DIR, ['.yaml', '.yml']);
const kustomizationFile = join(K8S_DIR, 'kustomization.yaml');
const k8sObjects = k8sFiles
  .filter((f) => f !== kustomizationFile)
  .flatMap((file) =>
    parseAllDocuments(read(file)).map((doc, i) => {
      if (doc.errors.length) throw new Error(`${relative(ROOT, file)}: ${doc.errors[0]?.message}`);
      return { where: `${relative(ROOT, file)}#${i + 1}`, object: doc.toJS() as K8sObject };
    }),
  );
const ofKind = (kind: string) => k8sObjects.filter((o) => o.object.kind === kind).map((o) => o.object);
const configMap = (name: string | undefined) => ofKind('ConfigMap').find((c) => c.metadata?.name === name);
const workloads = () => [...ofKind('Deployment'), ...ofKind('StatefulSet')];
const labelsMatch = (selector: Record<string, string> | undefined, labels: Record<string, string> = {}) =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** A container's environment: its own entries and its ConfigMaps' (envFrom); fieldRefs as `fieldRef:<path>`. */
function containerEnv(container: K8sContainer): Map<string, string> {
  const env = new Map<string, string>();
  for (const from of container.envFrom ?? []) {
    const map = configMap(from.configMapRef?.name);
    expect(map, `ConfigMap ${from.configMapRef?.name} (envFrom) exists`).toBeDefined();
    for (const [k, v] of Object.entries(map?.data ?? {})) env.set(k, String(v));
  }
  for (const entry of container.env ?? [])
    env.set(entry.name, entry.value ?? `fieldRef:${entry.valueFrom?.fieldRef?.fieldPath ?? '?'}`);
  return env;
}

/** The port a probe targets, as a number (a named port resolved through the container's ports). */
function probePort(container: K8sContainer, probe: K8sProbe | undefined): number | undefined {
  const port = probe?.httpGet?.port;
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

describe('infra/k8s', () => {
  it('every object has apiVersion, kind and a unique metadata.name', () => {
    expect(k8sObjects.length).toBeGreaterThan(0);
    const seen = new Set<string>();
    for (const { where, object } of k8sObjects) {
      expect(object.apiVersion, `${where}: apiVersion`).toMatch(/^[a-z0-9./]+$/);
      expect(object.kind, `${where}: kind`).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(object.metadata?.name, `${where}: metadata.name`).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      const id = `${object.kind}/${object.metadata?.name}`;
      expect(seen.has(id), `${where}: ${id} is defined twice`).toBe(false);
      seen.add(id);
    }
  });

  it('kustomization.yaml lists exactly the manifest files, all of which exist', () => {
    const kustomization = parse(read(kustomizationFile)) as { kind?: string; resources?: string[] };
    expect(kustomization.kind).toBe('Kustomization');
    const listed = (kustomization.resources ?? []).map((r) => resolve(K8S_DIR, r));
    for (const file of listed) expect(existsSync(file), `${relative(ROOT, file)} exists`).toBe(true);
    expect(new Set(listed).size, 'no file listed twice').toBe(listed.length);
    expect([...listed].sort()).toEqual(k8sFiles.filter((f) => f !== kustomizationFile).sort());
  });

  it('selectors match their pods, and every ConfigMap, volume and named port referenced exists', () => {
    const pods = workloads().map((w) => w.spec?.template?.metadata?.labels);
    for (const workload of workloads()) {
      const name = `${workload.kind}/${workload.metadata?.name}`;
      expect(
        labelsMatch(workload.spec?.selector?.matchLabels, workload.spec?.template?.metadata?.labels),
        `${name}: selector matches the template's labels`,
      ).toBe(true);
      const pod = workload.spec?.template?.spec;
      const volumes = new Set([
        ...(pod?.volumes ?? []).map((v) => v.name),
        ...(workload.spec?.volumeClaimTemplates ?? []).map((v) => v.metadata?.name),
      ]);
      for (const volume of pod?.volumes ?? [])
        if (volume.configMap)
          expect(
            configMap(volume.configMap.name),
            `${name}: ConfigMap ${volume.configMap.name}`,
          ).toBeDefined();
      expect(pod?.containers?.length, `${name}: containers`).toBeGreaterThan(0);
      for (const container of pod?.containers ?? []) {
        containerEnv(container);
        for (const mount of container.volumeMounts ?? [])
          expect(volumes.has(mount.name), `${name}: volume ${mount.name}`).toBe(true);
        for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe])
          if (probe) expect(probePort(container, probe), `${name}: the probe's port`).toBeDefined();
      }
    }
    for (const kind of ['Service', 'PodDisruptionBudget'])
      for (const object of ofKind(kind)) {
        const selector = (object.spec?.selector?.matchLabels ?? object.spec?.selector) as Record<
          string,
          string
        >;
        expect(
          pods.some((labels) => labelsMatch(selector, labels)),
          `${kind}/${object.metadata?.name}: selects pods of a workload`,
        ).toBe(true);
      }
  });

  describe('the NATS StatefulSet', () => {
    const [sts] = ofKind('StatefulSet');
    const name = sts?.metadata?.name as string;
    const replicas = sts?.spec?.replicas ?? 1;
    const container = sts?.spec?.template?.spec?.containers?.find((c) => c.image?.startsWith('nats:'));

    /** The config the pod runs: `--config <path>` resolved through its ConfigMap mount. */
    function podConfig() {
      const args = [...(container?.command ?? []), ...(container?.args ?? [])];
      const at = args.findIndex((a) => a === '--config' || a === '-c');
      expect(at, 'the container names its config').toBeGreaterThanOrEqual(0);
      const path = args[at + 1] as string;
      const mount = container?.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`));
      const volume = sts?.spec?.template?.spec?.volumes?.find((v) => v.name === mount?.name);
      const map = configMap(volume?.configMap?.name);
      const text = map?.data?.[posix.relative(mount?.mountPath ?? '', path)];
      expect(text, `${path} comes from a ConfigMap key`).toBeTypeOf('string');
      return {
        text: text as string,
        conf: parseNatsConf(text as string, `ConfigMap ${map?.metadata?.name}`),
      };
    }

    /** The environment of pod `index`: fieldRefs and $(VAR) references resolved as the kubelet does. */
    function podEnv(index: number): Record<string, string> {
      const env: Record<string, string> = {};
      for (const entry of container?.env ?? []) {
        if (entry.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[entry.name] = `${name}-${index}`;
        else if (entry.value !== undefined)
          env[entry.name] = entry.value.replace(
            /\$\(([A-Z_][A-Z0-9_]*)\)/g,
            (all, v: string) => env[v] ?? all,
          );
      }
      return env;
    }

    it('is three pods of a pinned NATS image ≥ 2.10, started in parallel, behind a headless Service', () => {
      expect(sts, 'one StatefulSet').toBeDefined();
      expect(ofKind('StatefulSet').length).toBe(1);
      expect(replicas).toBe(3);
      checkNatsImage(container?.image ?? '', `StatefulSet ${name}`);
      const composeImages = Object.values(compose.services).flatMap((s) =>
        s.image?.startsWith('nats:') ? [s.image] : [],
      );
      expect(composeImages, 'the same NATS version in compose and Kubernetes').toContain(container?.image);
      // OrderedReady would wait for pod 0's readiness, which needs the other pods (a meta leader).
      expect(sts?.spec?.podManagementPolicy).toBe('Parallel');
      const service = ofKind('Service').find((s) => s.metadata?.name === sts?.spec?.serviceName);
      expect(service, `the serviceName ${sts?.spec?.serviceName} exists`).toBeDefined();
      expect(service?.spec?.clusterIP, 'headless').toBe('None');
      expect(service?.spec?.publishNotReadyAddresses, 'routes resolve before readiness').toBe(true);
      expect(
        labelsMatch(service?.spec?.selector as Record<string, string>, sts?.spec?.template?.metadata?.labels),
      ).toBe(true);
    });

    it('runs a config nats-server accepts, with every $VARIABLE defined by the pod', async () => {
      const { text, conf: natsConf } = podConfig();
      checkThreadlineNatsSettings(natsConf, 'the StatefulSet config');
      for (const index of [0, replicas - 1]) {
        const env = podEnv(index);
        for (const variable of confVariables(natsConf))
          expect(env[variable], `the pod defines $${variable}`).toBeDefined();
        await expectTextAccepted(text, 'nats.conf', env);
      }
    });

    it('routes to every pod by its DNS name, advertises its own, exposes the ports and keeps the store on its claim', () => {
      const { conf: natsConf } = podConfig();
      const serviceName = sts?.spec?.serviceName as string;
      const clusterPort = hostPort(confString(natsConf, 'cluster.listen')).port;
      const clientPort = hostPort(confString(natsConf, 'listen')).port;
      const pods = Array.from({ length: replicas }, (_, i) => `${name}-${i}.${serviceName}`);
      const routes = confStrings(natsConf, 'cluster.routes').map((r) => {
        const { host, port } = hostPort(r);
        return `${host}:${port}`;
      });
      expect(routes.sort(), 'a route to every pod').toEqual(pods.map((p) => `${p}:${clusterPort}`).sort());
      const env = podEnv(1);
      const resolveVar = (value: string) => (value.startsWith('$') ? env[value.slice(1)] : value);
      const advertise = confValue(natsConf, 'cluster.advertise');
      if (typeof advertise === 'string')
        expect(resolveVar(advertise), 'advertises its own route').toBe(`${pods[1]}:${clusterPort}`);
      const clientAdvertise = confValue(natsConf, 'client_advertise');
      if (typeof clientAdvertise === 'string')
        expect(resolveVar(clientAdvertise), 'advertises its own client URL').toBe(`${pods[1]}:${clientPort}`);
      const ports = (container?.ports ?? []).map((p) => p.containerPort).sort();
      expect(ports).toEqual(
        [clientPort, clusterPort, hostPort(confString(natsConf, 'http')).port].sort((a, b) => a - b),
      );
      const store = confString(natsConf, 'jetstream.store_dir');
      const claims = sts?.spec?.volumeClaimTemplates ?? [];
      const mount = container?.volumeMounts?.find(
        (m) => store === m.mountPath || store.startsWith(`${m.mountPath}/`),
      );
      const claim = claims.find((c) => c.metadata?.name === mount?.name);
      expect(claim, `the store ${store} is on a PersistentVolumeClaim`).toBeDefined();
      const limit = confValue(natsConf, 'jetstream.max_file_store');
      const size = k8sBytes(claim?.spec?.resources?.requests?.storage ?? '0');
      if (typeof limit === 'string')
        expect(natsSize(limit), 'max_file_store below the claim, so JetStream stops first').toBeLessThan(
          size,
        );
      expect(container?.startupProbe?.httpGet?.path ?? container?.readinessProbe?.httpGet?.path).toMatch(
        /^\/healthz/,
      );
    });

    it('the services connect to every pod with 3 replicas, run with enough instances and probe their ops port', () => {
      const { conf: natsConf } = podConfig();
      const clientPort = hostPort(confString(natsConf, 'listen')).port;
      const nodes = Array.from(
        { length: replicas },
        (_, i) => `${name}-${i}.${sts?.spec?.serviceName}:${clientPort}`,
      );
      expectServedPath('/healthz');
      expectServedPath('/readyz');
      const count = new Map<string, number>();
      for (const deployment of ofKind('Deployment')) {
        const where = `Deployment/${deployment.metadata?.name}`;
        const [main, ...sidecars] = deployment.spec?.template?.spec?.containers ?? [];
        expect(sidecars, `${where}: one container`).toEqual([]);
        const which = serviceOfCommand(main?.command);
        expect(SERVICES, `${where}: runs node services/<service>/dist/main.js`).toContain(which);
        const instances = deployment.spec?.replicas ?? 1;
        count.set(which as string, (count.get(which as string) ?? 0) + instances);
        const env = containerEnv(main as K8sContainer);
        checkThreadlineEnvironment(which as string, env, where, nodes, replicas);
        for (const [other, variable] of ID_VARIABLES)
          if (other !== which) expect(env.has(variable), `${where} sets ${other}'s ${variable}`).toBe(false);
        const id = env.get(ID_VARIABLES.get(which as string) as string);
        if (id !== undefined && instances > 1)
          expect(id, `${where}: each replica needs its own id (the pod's name)`).toBe(
            'fieldRef:metadata.name',
          );
        const port = Number(env.get('THREADLINE_METRICS_PORT'));
        expect(main?.livenessProbe?.httpGet?.path, `${where}: liveness`).toBe('/healthz');
        expect(main?.readinessProbe?.httpGet?.path, `${where}: readiness`).toBe('/readyz');
        expect(probePort(main as K8sContainer, main?.livenessProbe), `${where}: liveness port`).toBe(port);
        expect(probePort(main as K8sContainer, main?.readinessProbe), `${where}: readiness port`).toBe(port);
      }
      for (const service of SERVICES)
        expect(count.get(service) ?? 0, `instances of ${service}`).toBeGreaterThanOrEqual(
          MINIMUM_INSTANCES[service] ?? 1,
        );
      // Shared variables in a ConfigMap must not hold an instance id (every replica would share it).
      for (const map of ofKind('ConfigMap'))
        for (const variable of ID_VARIABLES.values())
          expect(Object.keys(map.data ?? {}), `ConfigMap ${map.metadata?.name}`).not.toContain(variable);
    });
  });
});

// ───────────────────────────── the docs ─────────────────────────────

describe('the docs', () => {
  it('infra/nats/README.md names every config and states the fsync policy the configs use', () => {
    const readme = read(join(NATS_DIR, 'README.md'));
    for (const file of filesUnder(INFRA, ['.conf'])) {
      const name = file.startsWith(`${NATS_DIR}/`) ? relative(NATS_DIR, file) : relative(ROOT, file);
      expect(readme, `README names ${name}`).toContain(name);
    }
    expect(readme).toContain(`sync_interval: ${SYNC_POLICY}`);
    const adr = readdirSync(join(ROOT, 'docs', 'adr')).find((f) => f.startsWith('0020-'));
    expect(adr, 'ADR 0020 exists').toBeDefined();
    expect(read(join(ROOT, 'docs', 'adr', adr as string))).toContain(`sync_interval: ${SYNC_POLICY}`);
  });
});

// ───────────────────────────── processes ─────────────────────────────

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find(
  (p) => process.platform === 'linux' && existsSync(p),
);

/** Starts a process that the kernel kills if this one dies (as @threadline/nats-harness does). */
function startProcess(bin: string, args: string[]): ChildProcess {
  const [cmd, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', bin, ...args]] : [bin, args];
  const child = spawn(cmd, argv, { stdio: 'ignore' });
  process.once('exit', () => child.kill('SIGKILL'));
  return child;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(timer);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A nats-server the test started from a config. */
interface Launched {
  name: string;
  url: string;
  monitor: string;
  proc: ChildProcess;
  log: string;
}

/** Polls `check` until it returns true; fails at once, with the server's log, if the server exits. */
async function poll(node: Launched, what: string, timeoutMs: number, check: () => Promise<string | true>) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (node.proc.exitCode !== null) {
      const log = existsSync(node.log) ? read(node.log).split('\n').slice(-15).join('\n') : '(no log)';
      throw new Error(`${node.name} exited (${node.proc.exitCode}) before ${what}:\n${log}`);
    }
    try {
      const result = await check();
      if (result === true) return;
      last = result;
    } catch (error) {
      last = String(error);
    }
    await sleep(100);
  }
  throw new Error(`${node.name}: not ${what} within ${timeoutMs} ms (last: ${last})`);
}

function waitForHealthy(node: Launched, timeoutMs: number): Promise<void> {
  return poll(node, 'healthy', timeoutMs, async () => {
    const res = await fetch(`${node.monitor}/healthz`);
    return res.ok || `${res.status} ${await res.text()}`;
  });
}

function waitForMetaLeader(node: Launched, size: number, timeoutMs: number): Promise<void> {
  return poll(node, `in a ${size}-node cluster with a JetStream meta leader`, timeoutMs, async () => {
    const jsz = (await (await fetch(`${node.monitor}/jsz`)).json()) as {
      meta_cluster?: { leader?: string; cluster_size?: number };
    };
    const meta = jsz.meta_cluster;
    return (meta?.leader !== undefined && (meta.cluster_size ?? 0) >= size) || JSON.stringify(meta ?? {});
  });
}
