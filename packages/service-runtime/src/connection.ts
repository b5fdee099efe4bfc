import type { NatsConnection } from '@nats-io/transport-node';
import { type Clock, chooseClock, followSharedClock } from '@threadline/clock';
import { connectToNats, credentialOptions, type NatsCredentials, natsServerList } from '@threadline/nats';
import type { ThreadlineConfig } from '@threadline/session-core';

/**
 * Connects to NATS (version floor enforced) as `threadline-<service>-<instanceId>`. `natsUrl` is one
 * server or a comma-separated list of a cluster's (`nats://a:4222,nats://b:4222`): the client connects to
 * one of them and, when it goes away, fails over to the others (and to the ones the cluster tells it of).
 * With `credentials` it connects as that NATS user (its role's permissions, its private inbox) and, with
 * a CA, over TLS verified against it (`natsCredentialsOf(settings)` takes them from a service's settings).
 */
export function connectService(options: {
  natsUrl: string;
  service: string;
  instanceId: string;
  credentials?: NatsCredentials;
}): Promise<NatsConnection> {
  return connectToNats({
    servers: natsServerList(options.natsUrl),
    name: `threadline-${options.service}-${options.instanceId}`,
    ...credentialOptions(options.credentials ?? {}),
  });
}

export interface ServiceClock {
  readonly clock: Clock;
  /** Ends the shared clock's watch (nothing to do for the system clock). */
  stop(): Promise<void>;
}

/**
 * The clock the config asks for: the system clock, or — `clock.mode: 'test'` outside production — the
 * shared test clock in NATS, which every process of a test run follows and the test drives
 * (`driveSharedClock`). A production config never gets the test clock (`chooseClock` refuses it too).
 */
export async function serviceClock(
  nc: NatsConnection,
  config: ThreadlineConfig,
  /** Replicas of the shared clock's bucket if this process creates it (`THREADLINE_REPLICAS`). */
  replicas = 1,
): Promise<ServiceClock> {
  if (config.clock.mode === 'test' && !config.production) {
    const shared = await followSharedClock(nc, { start: Date.now(), replicas });
    return { clock: shared.clock, stop: shared.stop };
  }
  const clock = chooseClock(config, () => {
    throw new Error('unreachable: the test clock is chosen above');
  });
  return { clock, stop: async () => {} };
}
