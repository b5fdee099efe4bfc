/**
 * Create-or-verify provisioning of Threadline's streams. Missing streams are created; existing ones are
 * compared field by field and every difference is reported — never "fixed". Changing a live stream's
 * storage, subjects or limits can lose or strand data, so that stays an operator's deliberate act.
 */
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  jetstreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type ThreadlineStreamConfig, threadlineStreams } from './streams.js';

export const ProvisioningErrorCodes = {
  Mismatch: 'STREAM_CONFIG_MISMATCH',
  Missing: 'STREAM_MISSING',
  CreateFailed: 'STREAM_CREATE_FAILED',
} as const;
export type ProvisioningErrorCode = (typeof ProvisioningErrorCodes)[keyof typeof ProvisioningErrorCodes];

/** One field of an existing stream that differs from Threadline's configuration. */
export interface StreamMismatch {
  readonly stream: string;
  /** The field's name in the JetStream stream configuration (`storage`, `max_age`, …). */
  readonly field: string;
  readonly expected: unknown;
  /** What the server reports; `undefined` with field `exists` when the stream is missing. */
  readonly actual: unknown;
}

export interface StreamProvisionResult {
  readonly stream: string;
  /** `created` now, `ok` as configured, `mismatch` exists but differs, `missing` (verify-only mode). */
  readonly outcome: 'created' | 'ok' | 'mismatch' | 'missing';
  readonly mismatches: readonly StreamMismatch[];
}

export interface ProvisionReport {
  /** `ok`: nothing to do; `created`: some streams were created, none differ; `mismatch`: some differ or are missing. */
  readonly status: 'ok' | 'created' | 'mismatch';
  readonly streams: readonly StreamProvisionResult[];
  /** Every mismatch of every stream, in stream order. */
  readonly mismatches: readonly StreamMismatch[];
}

export interface ProvisionOptions {
  /**
   * `create-or-verify` creates missing streams and verifies existing ones; `verify-only` creates nothing
   * and reports missing streams (for components that must not hold stream-admin permissions).
   */
  readonly mode: 'create-or-verify' | 'verify-only';
  /** `report` (default) returns mismatches in the report; `throw` raises {@link ProvisioningError}. */
  readonly onMismatch?: 'report' | 'throw';
}

/**
 * Provisioning could not bring the streams to a state Threadline can run on: a stream differs from its
 * configuration (`STREAM_CONFIG_MISMATCH`), is missing in verify-only mode (`STREAM_MISSING`), or could
 * not be created (`STREAM_CREATE_FAILED`, e.g. more replicas than servers; the server's error is the
 * cause). Not retryable without an operator's change.
 */
export class ProvisioningError extends Error {
  override readonly name = 'ProvisioningError';
  readonly retryable = false;
  constructor(
    readonly code: ProvisioningErrorCode,
    message: string,
    readonly mismatches: readonly StreamMismatch[] = [],
    readonly report?: ProvisionReport,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The fields Threadline relies on and how the server reports each when it leaves it out of the info
 * (the absent value is the server's meaning of "not set"). Only fields the expected configuration sets
 * are compared.
 */
const COMPARED_FIELDS: readonly { field: keyof StreamConfig; absent: unknown }[] = [
  { field: 'subjects', absent: [] },
  { field: 'retention', absent: 'limits' },
  { field: 'storage', absent: 'file' },
  { field: 'num_replicas', absent: 1 },
  { field: 'discard', absent: 'old' },
  { field: 'max_age', absent: 0 },
  { field: 'max_msgs', absent: -1 },
  { field: 'max_bytes', absent: -1 },
  { field: 'max_msgs_per_subject', absent: -1 },
  { field: 'max_msg_size', absent: -1 },
  { field: 'duplicate_window', absent: 0 },
  { field: 'allow_direct', absent: false },
  { field: 'allow_rollup_hdrs', absent: false },
  { field: 'deny_delete', absent: false },
  { field: 'deny_purge', absent: false },
  // The partition count lives in the transform's destination: a changed count is a mismatch, never a
  // silent re-partitioning under running readers.
  { field: 'subject_transform', absent: null },
];

/** JetStream's "stream name already in use with a different configuration". */
const STREAM_NAME_IN_USE = 10058;

/**
 * Compares an existing stream's configuration with the expected one and lists every difference in the
 * fields Threadline relies on. Subjects compare as sets (order is irrelevant to the server). Pure.
 */
export function compareStreamConfig(
  expected: ThreadlineStreamConfig,
  actual: Partial<StreamConfig>,
): StreamMismatch[] {
  const mismatches: StreamMismatch[] = [];
  for (const { field, absent } of COMPARED_FIELDS) {
    const want = expected[field];
    if (want === undefined) continue;
    const have = actual[field] ?? absent;
    const same =
      field === 'subjects'
        ? sameSet(want as string[], have as string[])
        : field === 'subject_transform'
          ? sameTransform(want as SubjectTransform, have as SubjectTransform | null)
          : JSON.stringify(want) === JSON.stringify(have);
    if (!same) mismatches.push({ stream: expected.name, field, expected: want, actual: have });
  }
  return mismatches;
}

interface SubjectTransform {
  src?: string;
  dest?: string;
}

function sameTransform(a: SubjectTransform, b: SubjectTransform | null): boolean {
  return b !== null && a.src === b.src && a.dest === b.dest;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((s) => right.has(s));
}

/**
 * Creates the missing streams among `configs` and verifies the existing ones, changing nothing that
 * exists. Idempotent: a second run reports `ok` for every stream. Safe to run from several components at
 * once (a creation race ends in a verification).
 *
 * Failure semantics: with `onMismatch: 'throw'` a mismatch (or, in verify-only mode, a missing stream)
 * throws {@link ProvisioningError} listing every mismatch, after all streams were examined — streams
 * created on the way stay created. A stream the server refuses to create throws `ProvisioningError`
 * `STREAM_CREATE_FAILED` with the server's error as cause. Transport errors propagate.
 */
export async function provisionStreams(
  jsm: JetStreamManager,
  configs: readonly ThreadlineStreamConfig[],
  options: ProvisionOptions,
): Promise<ProvisionReport> {
  const streams: StreamProvisionResult[] = [];
  for (const config of configs) streams.push(await provisionOne(jsm, config, options.mode));

  const mismatches = streams.flatMap((s) => s.mismatches);
  const status = streams.some((s) => s.outcome === 'mismatch' || s.outcome === 'missing')
    ? 'mismatch'
    : streams.some((s) => s.outcome === 'created')
      ? 'created'
      : 'ok';
  const report: ProvisionReport = { status, streams, mismatches };

  if (status === 'mismatch' && options.onMismatch === 'throw') {
    const problems = streams.filter((s) => s.outcome === 'mismatch' || s.outcome === 'missing');
    const code = problems.every((s) => s.outcome === 'missing')
      ? ProvisioningErrorCodes.Missing
      : ProvisioningErrorCodes.Mismatch;
    throw new ProvisioningError(code, describe(mismatches), mismatches, report);
  }
  return report;
}

async function provisionOne(
  jsm: JetStreamManager,
  config: ThreadlineStreamConfig,
  mode: ProvisionOptions['mode'],
): Promise<StreamProvisionResult> {
  const existing = await streamConfig(jsm, config.name);
  if (existing) return verified(config, existing);
  if (mode === 'verify-only') {
    return {
      stream: config.name,
      outcome: 'missing',
      mismatches: [{ stream: config.name, field: 'exists', expected: true, actual: false }],
    };
  }
  try {
    await jsm.streams.add(config);
    return { stream: config.name, outcome: 'created', mismatches: [] };
  } catch (error) {
    // Someone else created it between our look-up and our add: verify theirs instead.
    if (error instanceof JetStreamApiError && error.code === STREAM_NAME_IN_USE) {
      const raced = await streamConfig(jsm, config.name);
      if (raced) return verified(config, raced);
    }
    throw new ProvisioningError(
      ProvisioningErrorCodes.CreateFailed,
      `could not create stream ${config.name}: ${(error as Error).message}`,
      [],
      undefined,
      { cause: error },
    );
  }
}

function verified(config: ThreadlineStreamConfig, existing: StreamConfig): StreamProvisionResult {
  const mismatches = compareStreamConfig(config, existing);
  return { stream: config.name, outcome: mismatches.length ? 'mismatch' : 'ok', mismatches };
}

async function streamConfig(jsm: JetStreamManager, name: string): Promise<StreamConfig | undefined> {
  try {
    return (await jsm.streams.info(name)).config;
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)
      return undefined;
    throw error;
  }
}

function describe(mismatches: readonly StreamMismatch[]): string {
  const lines = mismatches.map(
    (m) =>
      `  ${m.stream}.${m.field}: expected ${JSON.stringify(m.expected)}, actual ${JSON.stringify(m.actual)}`,
  );
  return `JetStream streams differ from Threadline's configuration (nothing was changed):\n${lines.join('\n')}`;
}

/**
 * What every Threadline component runs at start: Threadline's streams for this deployment (replicas,
 * partition count) created where missing and verified where present, refusing to start on a mismatch.
 */
export async function ensureThreadlineStreams(
  nc: NatsConnection,
  options: { replicas?: number; partitions?: number } = {},
): Promise<ProvisionReport> {
  return provisionStreams(
    await jetstreamManager(nc),
    threadlineStreams({
      replicas: options.replicas ?? 1,
      ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
    }),
    { mode: 'create-or-verify', onMismatch: 'throw' },
  );
}
