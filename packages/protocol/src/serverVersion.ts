/**
 * The oldest nats-server Threadline runs on, and the check every component makes when it connects.
 *
 * Why 2.10: before 2.9.21 the per-subject optimistic-concurrency check (`Nats-Expected-Last-Subject-Sequence`)
 * is not serializable on replicated streams (nats-server issue #4320): two workers racing to append to one
 * session can both be accepted, forking its history. Threadline's single-writer guarantee rests on that
 * check. 2.10 is also the first release with a configurable fsync policy (`sync_interval`). Features newer
 * than 2.10 (per-message TTL, message schedules) are silently ignored by a 2.10 server, so Threadline does
 * not use them. See docs/adr/0001-nats-server-version-floor.md.
 */
export const MIN_NATS_SERVER_VERSION = '2.10.0';

export type ServerVersion = readonly [major: number, minor: number, patch: number];

/** Parses `2.10.27`, `v2.10.27` or `2.11.0-RC.1`; undefined when no `x.y.z` is present. */
export function parseServerVersion(text: string): ServerVersion | undefined {
  const match = /v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

export function compareServerVersions(a: ServerVersion, b: ServerVersion): -1 | 0 | 1 {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export type ServerVersionVerdict =
  | { readonly ok: true; readonly version: string }
  | { readonly ok: false; readonly version: string; readonly reason: string };

/**
 * Decides whether a server version is acceptable. Returns a verdict (never throws); the connecting
 * component turns a refusal into its error.
 */
export function checkServerVersion(reported: string | undefined): ServerVersionVerdict {
  const version = reported ?? '(not reported)';
  const parsed = reported === undefined ? undefined : parseServerVersion(reported);
  const floor = parseServerVersion(MIN_NATS_SERVER_VERSION) as ServerVersion;
  if (!parsed) {
    return {
      ok: false,
      version,
      reason: `the server's version ${JSON.stringify(version)} cannot be read, so it cannot be checked against the floor ${MIN_NATS_SERVER_VERSION}`,
    };
  }
  if (compareServerVersions(parsed, floor) >= 0) return { ok: true, version };
  return {
    ok: false,
    version,
    reason:
      `nats-server ${version} is older than ${MIN_NATS_SERVER_VERSION}, the oldest Threadline runs on. ` +
      'Before 2.9.21 two writers can both pass the same optimistic-concurrency check on a replicated stream ' +
      '(nats-server issue #4320), which would let two workers fork one session history; 2.10 also adds the ' +
      'fsync policy (sync_interval) Threadline configures. Upgrade the server to 2.10 or newer ' +
      '(docs/adr/0001-nats-server-version-floor.md).',
  };
}
