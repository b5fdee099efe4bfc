import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { readCredentialFile } from '@threadline/devstack';
import { NatsSessionLog } from '@threadline/event-log';
import { connectToNats } from '@threadline/nats';
import { OpsService, Subjects } from '@threadline/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import {
  capture,
  expectCtrlCStopsEverything,
  groupAlive,
  repoRoot,
  waitUntil,
} from '../support/processes.js';

// The README's start command, run as a user would: in its own process group (a terminal's foreground
// job), then Ctrl-C, which a terminal delivers as SIGINT to the whole group.
describe('the start command (npm start)', () => {
  let dataDir = '';
  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('comes up, prints its endpoints, serves JetStream, and Ctrl-C leaves no process behind', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'threadline-start-'));
    const run = capture('npm', ['start'], {
      cwd: repoRoot,
      detached: true, // own process group, like a terminal job
      env: {
        ...process.env,
        THREADLINE_DATA_DIR: dataDir,
        THREADLINE_NATS_PORT: '0',
        THREADLINE_HTTP_PORT: '0',
      },
    });
    const pgid = run.child.pid as number;
    try {
      const [, url] = await run.waitFor(/NATS\s+(nats:\/\/127\.0\.0\.1:\d+)/, 180_000);
      const [, monitor] = await run.waitFor(/Monitoring\s+(http:\/\/127\.0\.0\.1:\d+)/, 5_000);
      await run.waitFor(/Press Ctrl-C to stop everything/, 5_000);
      expect(run.output()).toContain(`JetStream data ${join(dataDir, 'nats')}`);
      // It runs with one NATS user per role and says where each one's credentials are (never a password).
      const credentials = join(dataDir, 'credentials');
      expect(run.output()).toContain(join(credentials, 'publisher.env'));
      const admin = await readCredentialFile(join(credentials, 'admin.env'));
      expect(admin.natsUrl).toBe(url);
      expect(run.output()).not.toContain(admin.password);
      await expect(connectToNats({ servers: url as string })).rejects.toThrow(/Authorization/i);

      // It really serves: a client passes the version floor and JetStream answers.
      const nc = await connectToNats(admin.connectOptions());
      const account = await (await jetstreamManager(nc)).getAccountInfo();
      expect(account.streams).toBeGreaterThanOrEqual(0);

      // The session worker runs: a chat event published as an adapter would becomes a session record.
      await run.waitFor(/Session worker worker-1 \(pid \d+\)/, 5_000);
      // So do the projector and the scheduler, each its own process with its own log.
      await run.waitFor(/Projector projector-1 \(pid \d+\), log .*projector-1\.log/, 5_000);
      await run.waitFor(/Scheduler scheduler-1 \(pid \d+\), log .*scheduler-1\.log/, 5_000);
      await run.waitFor(/Ops service ops-1 \(pid \d+\), log .*ops-1\.log/, 5_000);
      // Each service process has its own ops server: Prometheus metrics, health and readiness.
      const metricsOf = async (name: string) =>
        (
          await run.waitFor(
            new RegExp(`Metrics\\s+(http://127\\.0\\.0\\.1:\\d+)/metrics\\s+\\(${name};`),
            5_000,
          )
        )[1];
      const ops = {
        worker: await metricsOf('worker-1'),
        projector: await metricsOf('projector-1'),
        scheduler: await metricsOf('scheduler-1'),
      };
      expect(new Set(Object.values(ops)).size).toBe(3);
      for (const base of Object.values(ops)) {
        expect((await fetch(`${base}/healthz`)).status).toBe(200);
        expect((await fetch(`${base}/readyz`)).status).toBe(200);
      }
      expect(run.output()).not.toMatch(/join this command as they are built/);
      const event = {
        v: 1,
        type: 'chat.message',
        id: 'telegram:42:1',
        channel: 'telegram',
        chatType: 'direct',
        peer: { kind: 'direct', id: 42 },
        sender: { id: '42' },
        text: 'hello',
        at: Date.now(),
      };
      await jetstream(nc).publish(Subjects.inbound('telegram', '42'), JSON.stringify(event), {
        msgID: event.id,
      });
      const log = new NatsSessionLog(nc);
      expect(await waitUntil(async () => (await log.head('agent:main:main')).seq > 0, 30_000)).toBe(true);
      for await (const record of log.read<{ facts: { type: string }[] }>('agent:main:main')) {
        expect(record.id).toBe('chat:telegram:42:1');
        expect(record.body.facts.map((f) => f.type)).toEqual(['SessionStarted', 'MessageRecorded']);
      }
      // A command from an authorized sender is answered on the conversation's delivery subject.
      const deliveries = nc.subscribe(Subjects.delivery('telegram', '42'), { timeout: 30_000 });
      const status = {
        ...event,
        id: 'telegram:42:2',
        text: '/status',
        sender: { id: '42', isAuthorized: true },
      };
      await jetstream(nc).publish(Subjects.inbound('telegram', '42'), JSON.stringify(status), {
        msgID: status.id,
      });
      for await (const m of deliveries) {
        const delivery = m.json<{ kind: string; inReplyTo: string; text: string }>();
        expect(delivery).toMatchObject({ kind: 'answer', inReplyTo: status.id });
        expect(delivery.text).toContain('Session: agent:main:main');
        break;
      }
      // The projector keeps the key's entry in the session store, named by the SHA-256 of the key.
      const sessions = await new Kvm(nc).open('threadline-sessions');
      const entryName = createHash('sha256').update('agent:main:main').digest('hex');
      let stored: { entry: { sessionKey: string; messageCount: number } } | undefined;
      const projected = await waitUntil(async () => {
        try {
          const found = await sessions.get(entryName);
          if (found?.operation === 'PUT') stored = found.json();
        } catch {
          // The projector has not created its bucket yet.
        }
        return stored !== undefined && stored.entry.messageCount >= 1;
      }, 30_000);
      expect(projected, `session store entry: ${JSON.stringify(stored)}`).toBe(true);
      expect(stored?.entry.sessionKey).toBe('agent:main:main');
      const workerMetrics = await (await fetch(`${ops.worker}/metrics`)).text();
      expect(workerMetrics).toMatch(/^threadline_worker_events_applied_total [1-9]\d*$/m);
      expect(await (await fetch(`${ops.projector}/metrics`)).text()).toContain(
        'threadline_projector_leader 1\n',
      );
      const schedulerLeads = async () =>
        (await (await fetch(`${ops.scheduler}/metrics`)).text()).includes('threadline_scheduler_leader 1\n');
      expect(await waitUntil(schedulerLeads, 30_000)).toBe(true);
      // Other services ask the ops service over request/reply: the same entry.
      const shown = await nc.request(
        OpsService.sessionsShow,
        JSON.stringify({ sessionKey: 'agent:main:main' }),
        {
          timeout: 10_000,
        },
      );
      expect(shown.json<{ entry: { sessionKey: string } }>().entry.sessionKey).toBe('agent:main:main');
      await nc.close();
      const health = await fetch(`${monitor}/healthz?js-enabled-only=true`);
      expect(health.status).toBe(200);

      await expectCtrlCStopsEverything(run, pgid);
      expect(existsSync(join(dataDir, 'nats', 'jetstream'))).toBe(true); // data stays in the project folder
    } finally {
      if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
    }
  });
});
