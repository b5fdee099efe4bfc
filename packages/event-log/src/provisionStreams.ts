/**
 * Create-or-verify provisioning of Threadline's streams. Missing streams are created; existing ones are
 * compared field by field. Every difference is reported — never "fixed" — except the retention limits
 * (`max_age`, `max_bytes`): those are the config's `retention` section, which the operator changes on
 * purpose, so an existing stream whose only differences are limits is updated in place to the configured
 * ones (ADR 0023). Changing a live stream's storage, subjects, replicas or partitions can lose or strand
 * data, so that stays an operator's deliberate act.
 */
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  jetstreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type StreamRetention, type ThreadlineStreamConfig, threadlineStreams } from './streams.js';

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
  /**
   * `created` now, `ok` as configured, `updated` its limits brought to the configured ones, `mismatch`
   * exists but differs, `missing` (verify-only mode).
   */
  readonly outcome: 'created' | 'ok' | 'updated' | 'mismatch' | 'missing';
  readonly mismatches: readonly StreamMismatch[];
  /** With outcome `updated` only: each limit changed, `actual` what it was and `expected` what it is now. */
  readonly updated?: readonly StreamMismatch[];
}

export interface ProvisionReport {
  /**
   * `ok`: nothing to do; `created`: some streams were created, none differ; `updated`: some streams' limits
   * were changed (none created, none differ); `mismatch`: some differ or are missing.
   */
  readonly status: 'ok' | 'created' | 'updated' | 'mismatch';
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
  /**
   * What an existing stream whose only differences are its limits ({@link LIMIT_FIELDS}) gets:
   * `update` (the default in create-or-verify mode) changes them in place; `report` (always in
   * verify-only mode) reports them as mismatches like any other field.
   */
  readonly onLimits?: 'update' | 'report';
}

/**
 * The fields provisioning updates in place (see {@link ProvisionOptions.onLimits}): JetStream applies a
 * changed maximum age or size to a live stream at once, deleting what the new limit no longer holds.
 */
export const LIMIT_FIELDS: readonly string[] = ['max_age', 'max_bytes'];

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
 * exists except — in create-or-verify mode, unless `onLimits: 'report'` — the limits of a stream whose
 * only differences are its limits ({@link LIMIT_FIELDS}), which are updated to the configured ones.
 * Idempotent: a second run reports `ok` for every stream. Safe to run from several components at once (a
 * creation race ends in a verification).
 *
 * Failure semantics: with `onMismatch: 'throw'` a mismatch (or, in verify-only mode, a missing stream)
 * throws {@link ProvisioningError} listing every mismatch, after all streams were examined — streams
 * created or updated on the way stay so. A stream the server refuses to create throws `ProvisioningError`
 * `STREAM_CREATE_FAILED` with the server's error as cause, limits it refuses `STREAM_CONFIG_MISMATCH`.
 * Transport errors propagate.
 */
export async function provisionStreams(
  jsm: JetStreamManager,
  configs: readonly ThreadlineStreamConfig[],
  options: ProvisionOptions,
): Promise<ProvisionReport> {
  const updateLimits = options.mode === 'create-or-verify' && options.onLimits !== 'report';
  const streams: StreamProvisionResult[] = [];
  for (const config of configs) streams.push(await provisionOne(jsm, config, options.mode, updateLimits));

  const mismatches = streams.flatMap((s) => s.mismatches);
  const status = streams.some((s) => s.outcome === 'mismatch' || s.outcome === 'missing')
    ? 'mismatch'
    : streams.some((s) => s.outcome === 'created')
      ? 'created'
      : streams.some((s) => s.outcome === 'updated')
        ? 'updated'
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
  updateLimits: boolean,
): Promise<StreamProvisionResult> {
  const existing = await streamConfig(jsm, config.name);
  if (existing) return verified(jsm, config, existing, updateLimits);
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
      if (raced) return verified(jsm, config, raced, updateLimits);
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

/**
 * An existing stream checked against its configuration: `ok`, a `mismatch` (nothing changed), or — when
 * its limits are the only difference and `updateLimits` — `updated` to the configured limits. Two
 * components updating at once both set the same values. A limit the server refuses throws
 * {@link ProvisioningError} `STREAM_CONFIG_MISMATCH` with the server's error as cause.
 */
async function verified(
  jsm: JetStreamManager,
  config: ThreadlineStreamConfig,
  existing: StreamConfig,
  updateLimits: boolean,
): Promise<StreamProvisionResult> {
  const mismatches = compareStreamConfig(config, existing);
  if (mismatches.length === 0) return { stream: config.name, outcome: 'ok', mismatches };
  if (!updateLimits || mismatches.some((m) => !LIMIT_FIELDS.includes(m.field)))
    return { stream: config.name, outcome: 'mismatch', mismatches };
  const limits = Object.fromEntries(mismatches.map((m) => [m.field, m.expected]));
  try {
    await jsm.streams.update(config.name, limits);
  } catch (error) {
    throw new ProvisioningError(
      ProvisioningErrorCodes.Mismatch,
      `could not update the limits of stream ${config.name}: ${(error as Error).message}\n${describe(mismatches)}`,
      mismatches,
      undefined,
      { cause: error },
    );
  }
  return { stream: config.name, outcome: 'updated', mismatches: [], updated: mismatches };
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
 * partition count, retention limits) created where missing and verified where present — existing
 * streams' limits updated to `retention` — refusing to start on any other mismatch. Every component of
 * one deployment must be given the same values (they all read one config file).
 */
export async function ensureThreadlineStreams(
  nc: NatsConnection,
  options: { replicas?: number; partitions?: number; retention?: StreamRetention } = {},
): Promise<ProvisionReport> {
  return provisionStreams(
    await jetstreamManager(nc),
    threadlineStreams({
      replicas: options.replicas ?? 1,
      ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
      ...(options.retention === undefined ? {} : { retention: options.retention }),
    }),
    { mode: 'create-or-verify', onMismatch: 'throw' },
  );
}
