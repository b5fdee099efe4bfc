import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { driveSharedClock } from '@threadline/clock';
import { readCredentialFile } from '@threadline/devstack';
import { NatsSessionLog } from '@threadline/event-log';
import { connectToNats } from '@threadline/nats';
import { Subjects } from '@threadline/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import {
  capture,
  expectCtrlCStopsEverything,
  groupAlive,
  repoRoot,
  waitUntil,
} from '../support/processes.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const IDLE_MINUTES = 30;

// The services follow the shared test clock from their own real time at start and only ever forward, so
// the test's instant lies ahead of it: 09:30 UTC the day after tomorrow — fixed for the run, set before
// anything is published, and from then on the only time any service sees.
const T0 = (Math.floor(Date.now() / DAY) + 2) * DAY + 9 * 60 * MINUTE + 30 * MINUTE;

interface Fact {
  type: string;
  at: number;
  sessionId?: string | null;
  reason?: string;
}

// The durable timer path end to end, through the README's start command: the worker records the idle
// expiry timer, the scheduler fires it when the shared clock passes its due time, and the worker records
// the expiry — with no message arriving to trigger it.
describe('an idle session expires by its timer (npm start, shared test clock)', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('records SessionExpired at exactly lastActivity + 30 min + 1 ms once the clock passes it, and Ctrl-C leaves no process behind', async () => {
    dir = await mkdtemp(join(tmpdir(), 'threadline-timers-'));
    const dataDir = join(dir, 'data');
    const config = join(dir, 'threadline.json5');
    await writeFile(
      config,
      `{ clock: { mode: 'test' }, session: { reset: { mode: 'idle', idleMinutes: ${IDLE_MINUTES} } } }\n`,
    );
    const run = capture('npm', ['start'], {
      cwd: repoRoot,
      detached: true, // own process group, like a terminal job
      env: {
        ...process.env,
        THREADLINE_DATA_DIR: dataDir,
        THREADLINE_NATS_PORT: '0',
        THREADLINE_HTTP_PORT: '0',
        THREADLINE_CONFIG: config,
      },
    });
    const pgid = run.child.pid as number;
    try {
      const [, url] = await run.waitFor(/NATS\s+(nats:\/\/127\.0\.0\.1:\d+)/, 180_000);
      await run.waitFor(/Press Ctrl-C to stop everything/, 5_000);
      expect(run.output()).toMatch(/Session worker worker-1 \(pid \d+\)/);
      expect(run.output()).toMatch(/Projector projector-1 \(pid \d+\)/);
      expect(run.output()).toMatch(/Scheduler scheduler-1 \(pid \d+\)/);

      const admin = await readCredentialFile(join(dataDir, 'credentials', 'admin.env'));
      expect(admin.natsUrl).toBe(url);
      const nc = await connectToNats(admin.connectOptions());
      const clock = await driveSharedClock(nc, { start: T0 });
      expect(await clock.now()).toBe(T0);
      // The followers learn the new time through a KV watch: let it arrive before anything happens.
      await new Promise((resolve) => setTimeout(resolve, 1_000));

      const event = {
        v: 1,
        type: 'chat.message',
        id: 'telegram:42:1',
        channel: 'telegram',
        chatType: 'direct',
        peer: { kind: 'direct', id: 42 },
        sender: { id: '42' },
        text: 'hello',
        at: T0,
      };
      await jetstream(nc).publish(Subjects.inbound('telegram', '42'), JSON.stringify(event), {
        msgID: event.id,
      });
      const log = new NatsSessionLog(nc);
      const history = async () => {
        const facts: Fact[] = [];
        for await (const record of log.read<{ facts: Fact[] }>('agent:main:main'))
          facts.push(...record.body.facts);
        return facts;
      };
      expect(await waitUntil(async () => (await log.head('agent:main:main')).seq > 0, 30_000)).toBe(true);
      const first = await history();
      const started = first.find((f) => f.type === 'SessionStarted');
      const message = first.find((f) => f.type === 'MessageRecorded');
      // The worker stamped the message with the shared clock's time: the session's last activity.
      expect(message?.at, JSON.stringify(first)).toBe(T0);
      const lastActivity = message?.at as number;
      expect(first.some((f) => f.type === 'SessionExpired')).toBe(false);

      // Half an hour and a minute later — on the shared clock only — the timer is due and fires.
      await clock.advance((IDLE_MINUTES + 1) * MINUTE);
      let facts: Fact[] = [];
      const expired = await waitUntil(async () => {
        facts = await history();
        return facts.some((f) => f.type === 'SessionExpired');
      }, 60_000);
      const schedulerLog = await readFile(join(dataDir, 'logs', 'scheduler-1.log'), 'utf8').catch(() => '');
      expect(expired, `history: ${JSON.stringify(facts)}\nscheduler log:\n${schedulerLog.slice(-3000)}`).toBe(
        true,
      );
      expect(facts.filter((f) => f.type === 'SessionExpired')).toEqual([
        {
          type: 'SessionExpired',
          at: lastActivity + IDLE_MINUTES * MINUTE + 1,
          sessionId: started?.sessionId,
          reason: 'idle',
        },
      ]);
      // Nothing else arrived: the one message is the only one in the history.
      expect(facts.filter((f) => f.type === 'MessageRecorded')).toHaveLength(1);
      expect(schedulerLog).toMatch(/"msg":"scheduler started"/);
      await nc.close();

      await expectCtrlCStopsEverything(run, pgid);
    } finally {
      if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
    }
  });
});
