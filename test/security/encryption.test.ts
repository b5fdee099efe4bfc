/**
 * JetStream encryption at rest (infra/nats/encryption.md, ADR 0023), on real nats-server processes with
 * the documented snippet (`infra/nats/encryption.conf.example`) in their `jetstream { }` block.
 *
 * What it shows: with a key, nothing Threadline stores — a chat event's text, a session record, a KV
 * entry, a delivery, the peer id in their subjects — appears in any file under the store, on one node and
 * in a cluster's Raft logs, also when it went through the real worker; without a key (the control, same
 * writes) it does, so the scan can fail. And what the server does on a restart: the same key serves
 * everything back; no key or a wrong key serves none of the streams (and a service then provisioning
 * over them destroys them); `prev_encryption_key` re-encrypts under a new key; a key added to a
 * plaintext store encrypts it.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ensureThreadlineStreams, GENESIS_HASH, NatsSessionLog } from '@threadline/event-log';
import {
  type RunningNatsCluster,
  type RunningNatsServer,
  startNatsCluster,
  startNatsServer,
} from '@threadline/nats-harness';
import { BucketNames, StreamNames } from '@threadline/protocol';
import { readSettings, runWorker } from '@threadline/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, waitUntil } from '../support/processes.js';

/** The snippet operators include in their `jetstream { }` block: key from `$JS_KEY`, ChaCha20-Poly1305. */
const SNIPPET = await readFile(join(repoRoot, 'infra', 'nats', 'encryption.conf.example'), 'utf8');
/** The same with the previous key, for a rotation (the snippet's commented line, switched on). */
const ROTATING = SNIPPET.replace(/^# (prev_encryption_key: \$JS_PREV_KEY)$/m, '$1');

/** A key as encryption.md says to make one: a letter, then hex. */
const newKey = () => `k${randomBytes(32).toString('hex')}`;
const token = () => randomBytes(8).toString('hex');

/** Every file under `dir` whose bytes contain `needle` (UTF-8), as paths relative to `dir`. */
async function filesHolding(dir: string, needle: string): Promise<string[]> {
  const bytes = Buffer.from(needle, 'utf8');
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if ((await readFile(path)).includes(bytes)) found.push(path.slice(dir.length + 1));
  }
  return found.sort();
}

/** The server's log since its last start (the log file is kept across restarts). */
async function lastRunLog(server: RunningNatsServer): Promise<string> {
  const log = await server.logTail(100_000);
  return log.slice(log.lastIndexOf('Starting nats-server'));
}

async function fileCount(dir: string): Promise<number> {
  return (await readdir(dir, { withFileTypes: true, recursive: true })).filter((e) => e.isFile()).length;
}

/** What one chat leaves in Threadline's store, each piece carrying `marker`; the peer id is in the subjects. */
interface Written {
  readonly marker: string;
  readonly peer: string;
  readonly sessionKey: string;
}

const KV_ENTRY = 'encryption-test';

async function writeThreadlineData(url: string): Promise<Written> {
  const marker = `tl-marker-${token()}`;
  const peer = `peer${token()}`;
  const sessionKey = `agent:main:telegram:direct:${peer}`;
  const nc = await connect({ servers: url });
  try {
    await ensureThreadlineStreams(nc);
    const js = jetstream(nc);
    await js.publish(
      `tl.in.v1.telegram.${peer}`,
      JSON.stringify({
        v: 1,
        type: 'chat.message',
        id: `telegram:default:${peer}:1`,
        channel: 'telegram',
        chatType: 'direct',
        peer: { kind: 'direct', id: peer },
        sender: { id: peer },
        text: marker,
        at: 1_776_675_600_000,
      }),
    );
    await new NatsSessionLog(nc).append({
      sessionKey,
      expectedLastSeq: 0,
      prevHash: GENESIS_HASH,
      id: `record:${token()}`,
      body: { input: { type: 'message.inbound', text: marker } },
      at: 1_776_675_600_000,
    });
    const kv = await new Kvm(nc).create(BucketNames.sessionStore, { history: 1, storage: 'file' });
    await kv.put(KV_ENTRY, JSON.stringify({ sessionKey, lastText: marker }));
    await js.publish(`tl.out.v1.telegram.${peer}`, JSON.stringify({ text: marker }));
  } finally {
    await nc.close();
  }
  return { marker, peer, sessionKey };
}

/** The chat event's text, the session record's and the KV entry's, as the server serves them back. */
async function readBack(url: string, written: Written): Promise<string[]> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const inbound = await jsm.streams.getMessage(StreamNames.inbound, { seq: 1 });
    const records = [];
    for await (const r of new NatsSessionLog(nc).read<{ input: { text: string } }>(written.sessionKey))
      records.push(r.body.input.text);
    const entry = await (await new Kvm(nc).open(BucketNames.sessionStore)).get(KV_ENTRY);
    return [
      inbound?.json<{ text: string }>().text ?? '',
      ...records,
      entry?.json<{ lastText: string }>().lastText ?? '',
    ];
  } finally {
    await nc.close();
  }
}

/** The streams the server serves (a stream it cannot decrypt is not loaded, so not listed). */
async function servedStreams(url: string): Promise<string[]> {
  const nc = await connect({ servers: url });
  try {
    const names: string[] = [];
    for await (const name of (await jetstreamManager(nc)).streams.names()) names.push(name);
    return names.sort();
  } finally {
    await nc.close();
  }
}

async function withConnection<T>(url: string, use: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: url });
  try {
    return await use(nc);
  } finally {
    await nc.close();
  }
}

const THREADLINE_STREAMS = Object.values(StreamNames).sort();

describe('JetStream encryption at rest (one node)', () => {
  const key = newKey();
  const servers: RunningNatsServer[] = [];
  let plain: RunningNatsServer;
  let encrypted: RunningNatsServer;
  let plainData: Written;
  let encryptedData: Written;
  afterAll(async () => {
    for (const server of servers) await server.dispose();
  });

  it('given the key, no store file holds the text, the peer id or the session key; without one (the control) the same writes do', async () => {
    [plain, encrypted] = await Promise.all([
      startNatsServer(),
      startNatsServer({ jetstreamConfig: SNIPPET, env: { JS_KEY: key } }),
    ]);
    servers.push(plain, encrypted);
    [plainData, encryptedData] = await Promise.all([
      writeThreadlineData(plain.url),
      writeThreadlineData(encrypted.url),
    ]);
    // A stopped server has flushed everything it holds.
    await Promise.all([plain.stop(), encrypted.stop()]);

    const plainFiles = await filesHolding(plain.storeDir, plainData.marker);
    for (const stream of [
      StreamNames.inbound,
      StreamNames.sessions,
      StreamNames.deliveries,
      `KV_${BucketNames.sessionStore}`,
    ])
      expect(plainFiles.some((f) => f.includes(`/streams/${stream}/msgs/`))).toBe(true);
    expect(await filesHolding(plain.storeDir, plainData.peer)).not.toEqual([]);

    expect(await fileCount(encrypted.storeDir)).toBeGreaterThan(20);
    for (const secret of [encryptedData.marker, encryptedData.peer, encryptedData.sessionKey])
      expect(await filesHolding(encrypted.storeDir, secret)).toEqual([]);
    expect(await lastRunLog(encrypted)).toContain('Encryption:      ChaCha20-Poly1305');
  });

  it('restarted with the same key, it serves every message back', async () => {
    await encrypted.restart();
    expect(await readBack(encrypted.url, encryptedData)).toEqual(Array(3).fill(encryptedData.marker));
  });

  it('restarted without a key or with another one, it serves none of the streams and keeps them; no Threadline service starts without a key; the right key brings everything back', async () => {
    // No key: JetStream runs, every encrypted stream is skipped, and creating one over it is refused.
    await encrypted.restart({ jetstreamConfig: '', env: {} });
    expect(await servedStreams(encrypted.url)).toEqual([]);
    expect(await lastRunLog(encrypted)).toContain(
      'Error decrypting our stream metafile: encryption not enabled',
    );
    const refused = await withConnection(encrypted.url, (nc) =>
      ensureThreadlineStreams(nc).catch((e: unknown) => e),
    );
    expect(refused).toMatchObject({ code: 'STREAM_CREATE_FAILED' });
    expect((refused as Error).message).toContain('error creating store for stream');
    expect(await lastRunLog(encrypted)).toContain('encrypted store encountered with no main key');

    // A wrong key: the same, the streams are skipped (left alone, as long as nobody provisions).
    await encrypted.restart({ jetstreamConfig: SNIPPET, env: { JS_KEY: newKey() } });
    expect(await servedStreams(encrypted.url)).toEqual([]);
    expect(await lastRunLog(encrypted)).toContain(
      'Error decrypting our stream metafile: unable to recover keys',
    );

    // The snippet with JS_KEY unset: the server refuses to start at all.
    if (process.env.JS_KEY === undefined)
      await expect(encrypted.restart({ env: {} })).rejects.toThrow(/variable reference for 'JS_KEY'/);

    await encrypted.restart({ env: { JS_KEY: key } });
    expect(await readBack(encrypted.url, encryptedData)).toEqual(Array(3).fill(encryptedData.marker));
  });

  it('rotated with prev_encryption_key, every stream is re-encrypted: then the new key alone reads everything and the old one nothing', async () => {
    const next = newKey();
    await encrypted.restart({ jetstreamConfig: ROTATING, env: { JS_KEY: next, JS_PREV_KEY: key } });
    expect(await lastRunLog(encrypted)).toContain(
      `Converting to ChaCha20-Poly1305 for stream '$G > ${StreamNames.sessions}'`,
    );
    expect(await readBack(encrypted.url, encryptedData)).toEqual(Array(3).fill(encryptedData.marker));

    await encrypted.restart({ jetstreamConfig: SNIPPET, env: { JS_KEY: next } });
    expect(await readBack(encrypted.url, encryptedData)).toEqual(Array(3).fill(encryptedData.marker));
    await encrypted.restart({ env: { JS_KEY: key } });
    expect(await servedStreams(encrypted.url)).toEqual([]);

    await encrypted.restart({ env: { JS_KEY: next } });
    expect(await servedStreams(encrypted.url)).toEqual(expect.arrayContaining(THREADLINE_STREAMS));
    await encrypted.stop();
    expect(await filesHolding(encrypted.storeDir, encryptedData.marker)).toEqual([]);
  });

  it('given a wrong key, a service that provisions creates empty streams and buckets over the encrypted ones, which are then lost to the right key too', async () => {
    const right = newKey();
    const server = await startNatsServer({ jetstreamConfig: SNIPPET, env: { JS_KEY: right } });
    servers.push(server);
    await writeThreadlineData(server.url);
    await server.restart({ env: { JS_KEY: newKey() } });
    // Nothing tells a client that streams were skipped: they are simply not there, so a service starting
    // now creates its streams and buckets afresh, as on a new server.
    const report = await withConnection(server.url, async (nc) => {
      await new Kvm(nc).create(BucketNames.sessionStore, { history: 1, storage: 'file' });
      return ensureThreadlineStreams(nc);
    });
    expect(report.status).toBe('created');

    await server.restart({ env: { JS_KEY: right } });
    expect(await servedStreams(server.url)).toEqual([]);
    expect(await lastRunLog(server)).toContain(
      'Error decrypting our stream metafile: unable to recover keys',
    );
  });

  it('given a plaintext store, when the server starts with a key, then it encrypts every stream and the text leaves the files', async () => {
    await plain.restart({ jetstreamConfig: SNIPPET, env: { JS_KEY: newKey() } });
    expect(await lastRunLog(plain)).toContain(`Encrypting stream '$G > ${StreamNames.sessions}'`);
    expect(await readBack(plain.url, plainData)).toEqual(Array(3).fill(plainData.marker));
    await plain.stop();
    expect(await filesHolding(plain.storeDir, plainData.marker)).toEqual([]);
  });
});

describe('JetStream encryption at rest (a 3-node cluster, streams at three replicas)', () => {
  const started: RunningNatsCluster[] = [];
  afterAll(async () => {
    for (const cluster of started) await cluster.dispose();
  });

  /** Streams and a KV bucket at R3 with one chat event and one entry carrying the marker; then stopped. */
  async function write(cluster: RunningNatsCluster): Promise<string> {
    const marker = `tl-marker-${token()}`;
    await withConnection(cluster.urls.join(','), async (nc) => {
      await ensureThreadlineStreams(nc, { replicas: 3 });
      await jetstream(nc).publish('tl.in.v1.telegram.42', JSON.stringify({ text: marker }));
      const kv = await new Kvm(nc).create(BucketNames.sessionStore, {
        history: 1,
        storage: 'file',
        replicas: 3,
      });
      await kv.put(KV_ENTRY, JSON.stringify({ lastText: marker }));
    });
    for (let i = 0; i < cluster.nodes.length; i++) await cluster.stop(i);
    return marker;
  }

  it('given a key per node, no node holds the text in its streams or its Raft logs; without keys (the control) every node does in both', async () => {
    const [plain, encrypted] = await Promise.all([
      startNatsCluster(),
      // Each node a key of its own: they need not share one.
      startNatsCluster({ jetstreamConfig: SNIPPET, env: () => ({ JS_KEY: newKey() }) }),
    ]);
    started.push(plain, encrypted);
    const [plainMarker, encryptedMarker] = await Promise.all([write(plain), write(encrypted)]);
    const [plainNodes, encryptedNodes] = [plain.nodes, encrypted.nodes];

    for (const node of plainNodes) {
      const files = await filesHolding(node.storeDir, plainMarker);
      expect(files.some((f) => f.includes(`/streams/${StreamNames.inbound}/msgs/`))).toBe(true);
      // The Raft write-ahead logs of the stream groups (under $SYS/_js_/) hold the messages as well.
      expect(files.some((f) => f.includes('/_js_/'))).toBe(true);
    }
    for (const node of encryptedNodes) {
      expect(await fileCount(node.storeDir)).toBeGreaterThan(20);
      expect(await filesHolding(node.storeDir, encryptedMarker)).toEqual([]);
    }
  });
});

describe('JetStream encryption at rest (the real worker)', () => {
  it('given a chat message through the worker to its session record, no store file holds its text', async () => {
    const server = await startNatsServer({ jetstreamConfig: SNIPPET, env: { JS_KEY: newKey() } });
    try {
      const marker = `tl-marker-${token()}`;
      const worker = await runWorker(
        readSettings({
          THREADLINE_NATS_URL: server.url,
          THREADLINE_WORKER_ID: 'encryption-worker',
          THREADLINE_PARTITIONS: '1',
          THREADLINE_LEASE_TTL_MS: '1000',
        }),
        () => {},
      );
      let text = '';
      try {
        await withConnection(server.url, async (nc) => {
          await jetstream(nc).publish(
            'tl.in.v1.telegram.7',
            JSON.stringify({
              v: 1,
              type: 'chat.message',
              id: `telegram:7:${token()}`,
              channel: 'telegram',
              chatType: 'direct',
              peer: { kind: 'direct', id: 7 },
              sender: { id: '7' },
              text: marker,
              at: Date.now(),
            }),
          );
          // Under the default dmScope (main) the DM lands in the agent's main session.
          const log = new NatsSessionLog(nc);
          expect(await waitUntil(async () => (await log.head('agent:main:main')).seq > 0, 20_000)).toBe(true);
          for await (const record of log.read('agent:main:main')) text += JSON.stringify(record.body);
        });
      } finally {
        await worker.stop();
      }
      // The worker recorded the message (the text is in the record it serves back) ...
      expect(text).toContain(marker);
      await server.stop();
      // ... and nothing it wrote — inbound, routed event, record, snapshot, checkpoints — shows it on disk.
      expect(await filesHolding(server.storeDir, marker)).toEqual([]);
    } finally {
      await server.dispose();
    }
  });
});
