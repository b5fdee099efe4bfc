/**
 * The Threadline config: OpenClaw's `session` block (spec §1–§3) plus Threadline's own sections, parsed from
 * JSON5 and validated with zod 4.
 *
 * Validation is strict and complete: every problem is reported with the dotted path of the value and what
 * was wrong with it, all at once, in one {@link ConfigError}. Nothing invalid is silently replaced by a
 * default. Two deliberate exceptions keep a pasted OpenClaw `session` block loading:
 *
 * - The clamping and flooring the spec defines for `atHour` and `idleMinutes` is left to the policy
 *   resolver; the raw numbers are kept here (only non-finite numbers are refused).
 * - Real OpenClaw session settings that Threadline does not use ({@link OPENCLAW_ONLY_SESSION_KEYS}) are
 *   dropped with a warning instead of an error.
 *
 * The `session` block is returned as configured, without defaults filled in: its defaults depend on
 * which fields are present (spec §2.2: legacy `idleMinutes` alone means `idle` mode), so they belong to the
 * resolvers. So is the `retention` section (converted to milliseconds and bytes): the streams' defaults
 * belong to `@threadline/event-log`, which owns the streams. Every other section is returned fully
 * populated.
 */
import JSON5 from 'json5';
import { IANAZone } from 'luxon';
import * as z from 'zod';
import { normalizeAgentId, parseSessionKey } from './keys.js';
import type { SessionConfig } from './types.js';

// ---------------------------------------------------------------------------------------------------------
// Public types

/** The validated config, as {@link parseConfig} returns it. */
export interface ThreadlineConfig {
  /** OpenClaw's `session` block, validated, as configured (no defaults filled; see the module doc). */
  session: SessionConfig;
  /** IANA zone for daily resets when `session.reset.timeZone` is absent; undefined = the host's zone. */
  gateway: {
    timeZone?: string;
    /**
     * What the bot is called in groups and channels (`@clawbot`, `<@U123>`): a leading mention of one is
     * dropped before a command is matched, and `/status@clawbot` is a command for this bot (spec §2.5).
     */
    botMentions?: string[];
  };
  /** Keyed by normalized agent id; `main` is always present. */
  agents: Record<string, AgentConfig>;
  /** The allow-list used by `/new <model>` (spec §2.5). */
  models: ModelConfig[];
  lifecycle: {
    /** Minutes without activity after which an active session counts as idle. Default 5. */
    quietMinutes: number;
    /** Default 120000. */
    compactionTimeoutMs: number;
  };
  /** How the worker summarises when a session compacts (spec §5). */
  compaction: CompactionConfig;
  /** `test` lets tests drive a simulated clock; refused when `production` is true. */
  clock: { mode: 'system' | 'test' };
  /** Default false. */
  production: boolean;
  /**
   * How long each JetStream stream keeps its messages and how large it may grow, as configured (streams
   * and limits left out keep the streams' defaults; see {@link RetentionConfig}).
   */
  retention: RetentionConfig;
}

/**
 * The streams whose limits the `retention` section sets: `inbound` (chat events as published), `keyed`
 * (routed events, agent replies, control events), `sessions` (the session log: the audit trail),
 * `deadLetters`, `deliveries`, `ticks`.
 */
export const RETENTION_STREAM_NAMES = [
  'inbound',
  'keyed',
  'sessions',
  'deadLetters',
  'deliveries',
  'ticks',
] as const;
export type RetentionStreamName = (typeof RETENTION_STREAM_NAMES)[number];

/**
 * The `retention` section (ADR 0023): per stream, `maxAge` (a duration: `"30d"`, `"12h"`; units s, m, h,
 * d, w) and `maxBytes` (a size: `"10GB"`, `"512MB"`; units B, KB, MB, GB, TB, PB, powers of 1024 as in
 * nats-server's own configs), or `"unlimited"` for either. Parsed to milliseconds and bytes, `null` for
 * unlimited; absent = the stream's default (inbound, keyed and deliveries 7 days, dead letters 30 days,
 * sessions and ticks unlimited; no size limit anywhere). Bounds: a maximum age of at least 2m (JetStream's
 * duplicate window) — 1d for `sessions`, whose records running sessions still need — and at most 36500d;
 * a maximum size of at least 1MB (the largest record) and at most 1PB.
 */
export type RetentionConfig = Partial<Record<RetentionStreamName, StreamRetentionConfig>>;

export interface StreamRetentionConfig {
  /** Milliseconds; `null` = unlimited. */
  maxAgeMs?: number | null;
  /** Bytes; `null` = unlimited. */
  maxBytes?: number | null;
}

export interface CompactionConfig {
  /**
   * `extractive` (default): built in, deterministic, offline. `openai-compatible`: any endpoint speaking
   * the chat completions API, configured in `openai` (URL, model; the key from the environment).
   */
  summariser: 'extractive' | 'openai-compatible';
  /** Turns kept verbatim after the summary (more, to keep a tool call with its result). Default 4. */
  keepRecentTurns: number;
  openai?: {
    /** Base URL, e.g. `https://api.openai.com/v1`; `/chat/completions` is appended. */
    url: string;
    model: string;
    /** Name of the environment variable holding the API key; default `THREADLINE_SUMMARISER_API_KEY`. */
    apiKeyEnv: string;
  };
}

export interface ModelConfig {
  /** `provider/model`: exactly one `/`, both parts non-empty. */
  id: string;
  /** One word (no whitespace, no `/`), unique case-insensitively across the list. */
  alias?: string;
}

export interface AgentConfig {
  /** The normalized agent id (the key this agent is stored under). */
  id: string;
  /** `provider/model`, or an alias from `models`. */
  model?: string;
  /** Default 200000. */
  contextWindow: number;
  /** Default 16384; always less than `contextWindow`. */
  reserveTokens: number;
  /** Explicit auto-compaction threshold; when absent the threshold is `contextWindow - reserveTokens`. */
  compactThresholdTokens?: number;
  workspace?: AgentWorkspaceConfig;
}

export interface AgentWorkspaceConfig {
  dir: string;
  /** Default {@link DEFAULT_BOOTSTRAP_FILES}. */
  bootstrapFiles: string[];
  /** Default 20000. */
  maxFileChars: number;
  /** Default 100000. */
  maxTotalChars: number;
}

export interface ConfigIssue {
  /**
   * Dotted path of the offending value, e.g. `session.reset.atHour`, `agents.main.contextWindow`,
   * `session.sendPolicy.rules[2].action`. Keys that are not plain identifiers are bracketed and quoted
   * (`session.identityLinks["alice smith"]`). `''` is the config as a whole.
   */
  path: string;
  message: string;
}

/**
 * The config is invalid. `issues` holds every problem found (not just the first); `message` lists them one
 * per line as `<path>: <message>`, with `(root)` standing for the empty path.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'INVALID_CONFIG';
  readonly issues: ConfigIssue[];
  /** The `sourceName` given to {@link parseConfigText}, if any. */
  readonly source: string | undefined;

  constructor(issues: ConfigIssue[], options: { source?: string; cause?: unknown } = {}) {
    super(issues.map(formatIssue).join('\n'), options.cause === undefined ? {} : { cause: options.cause });
    this.issues = issues;
    this.source = options.source;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Defaults and documented lists

export const DEFAULT_BOOTSTRAP_FILES: readonly string[] = [
  'AGENTS.md',
  'SOUL.md',
  'TOOLS.md',
  'IDENTITY.md',
  'USER.md',
  'HEARTBEAT.md',
  'BOOTSTRAP.md',
];

export const CONFIG_DEFAULTS = {
  contextWindow: 200_000,
  reserveTokens: 16_384,
  maxFileChars: 20_000,
  maxTotalChars: 100_000,
  quietMinutes: 5,
  compactionTimeoutMs: 120_000,
  keepRecentTurns: 4,
  summariserApiKeyEnv: 'THREADLINE_SUMMARISER_API_KEY',
} as const;

/**
 * Keys of OpenClaw's `session` block that Threadline accepts and ignores, with a warning, so that a pasted
 * OpenClaw block loads: `scope` (legacy sender scoping, superseded by `dmScope`), `store` (path of
 * `sessions.json`; Threadline keeps sessions in its event log), `typingIntervalSeconds` and `typingMode`
 * (typing indicators), `writeLock` (file locking of the store), `agentToAgent` (ping-pong limits between
 * agents), `threadBindings` (thread-bound sub-agent sessions), `maintenance` (store pruning and rotation),
 * `parentForkMaxTokens` (context forked into thread sessions) and `heartbeatIdleMinutes` (legacy heartbeat
 * idle limit). Any other unknown key is an error.
 */
export const OPENCLAW_ONLY_SESSION_KEYS: readonly string[] = [
  'scope',
  'store',
  'typingIntervalSeconds',
  'typingMode',
  'writeLock',
  'agentToAgent',
  'threadBindings',
  'maintenance',
  'parentForkMaxTokens',
  'heartbeatIdleMinutes',
];

/**
 * Send-policy match options of newer OpenClaw versions that Threadline does not implement. They are errors,
 * not warnings: ignoring `invert` or `anyOf` would silently change which messages a rule blocks.
 */
const OPENCLAW_ONLY_MATCH_KEYS: ReadonlySet<string> = new Set(['peerEquals', 'invert', 'allOf', 'anyOf']);

/** Names that would reach an object's prototype when used as a key of a config record. */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

// ---------------------------------------------------------------------------------------------------------
// Schema. Messages of custom checks are written here; every other message is derived from zod's issue
// by `describeIssue`, so that they all read `expected …, got …`.

const MODEL_ID = /^[^/\s]+\/[^/\s]+$/;
/** One word without `/`: what `/new <alias>` can name. */
const MODEL_ALIAS = /^[^/\s]+$/;

const nonBlankString = z.string().refine((value) => value.trim() !== '', {
  error: (issue) => `expected a non-blank string, got ${describeValue(issue.input)}`,
});

const positiveInt = z.int().positive();

const ianaZone = z.string().refine((value) => IANAZone.isValidZone(value), {
  error: (issue) => `expected an IANA time zone such as "Europe/Berlin", got ${describeValue(issue.input)}`,
});

const recordKey = z.string().refine((key) => !RESERVED_KEYS.has(key), {
  error: (issue) => `${describeValue(issue.input)} is a reserved name and cannot be used as a key`,
});

const modelId = z.string().refine((value) => MODEL_ID.test(value), {
  error: (issue) =>
    `expected a model id "provider/model" (one "/", both parts non-empty, no spaces), got ${describeValue(issue.input)}`,
});

const resetModeSchema = z.enum(['daily', 'idle']);

/** One reset rule: `session.reset` without its zone, an entry of `resetByType` or `resetByChannel`. */
const resetRuleShape = {
  mode: resetModeSchema.optional(),
  atHour: z.number().optional(),
  idleMinutes: z.number().optional(),
};
const resetRuleSchema = z.strictObject(resetRuleShape);

const sendActionSchema = z.enum(['allow', 'deny']);

const sendPolicySchema = z.strictObject({
  default: sendActionSchema.optional(),
  rules: z
    .array(
      z.strictObject({
        action: sendActionSchema.optional(),
        match: z
          .strictObject({
            channel: z.string().optional(),
            chatType: z.enum(['direct', 'dm', 'group', 'channel']).optional(),
            keyPrefix: z.string().optional(),
            rawKeyPrefix: z.string().optional(),
          })
          .optional(),
      }),
    )
    .optional(),
});

const sessionSchema = z.strictObject({
  dmScope: z.enum(['main', 'per-peer', 'per-channel-peer', 'per-account-channel-peer']).optional(),
  mainKey: z.string().optional(),
  identityLinks: z.record(recordKey, z.array(z.string())).optional(),
  reset: z.strictObject({ ...resetRuleShape, timeZone: ianaZone.optional() }).optional(),
  resetByType: z
    .strictObject({
      direct: resetRuleSchema.optional(),
      dm: resetRuleSchema.optional(),
      group: resetRuleSchema.optional(),
      thread: resetRuleSchema.optional(),
    })
    .optional(),
  resetByChannel: z.record(recordKey, resetRuleSchema).optional(),
  idleMinutes: z.number().optional(),
  resetTriggers: z.array(nonBlankString).optional(),
  sendPolicy: sendPolicySchema.optional(),
});

/** An agent's model: `provider/model`, or one word that must be an alias from `models` (checked later). */
const agentModel = z
  .string()
  .refine((value) => (value.includes('/') ? MODEL_ID.test(value) : MODEL_ALIAS.test(value)), {
    error: (issue) => `expected "provider/model" or a model alias, got ${describeValue(issue.input)}`,
  });

const agentSchema = z
  .strictObject({
    model: agentModel.optional(),
    contextWindow: positiveInt.default(CONFIG_DEFAULTS.contextWindow),
    reserveTokens: positiveInt.default(CONFIG_DEFAULTS.reserveTokens),
    compactThresholdTokens: positiveInt.optional(),
    workspace: z
      .strictObject({
        dir: nonBlankString,
        bootstrapFiles: z.array(nonBlankString).default(() => [...DEFAULT_BOOTSTRAP_FILES]),
        maxFileChars: positiveInt.default(CONFIG_DEFAULTS.maxFileChars),
        maxTotalChars: positiveInt.default(CONFIG_DEFAULTS.maxTotalChars),
      })
      .optional(),
  })
  .superRefine(
    (agent, ctx) => {
      if (agent.reserveTokens >= agent.contextWindow) {
        ctx.addIssue({
          code: 'custom',
          path: ['reserveTokens'],
          message: `must be less than contextWindow (${agent.contextWindow}), got ${agent.reserveTokens}`,
        });
      }
      const threshold = agent.compactThresholdTokens;
      if (threshold !== undefined && threshold >= agent.contextWindow) {
        ctx.addIssue({
          code: 'custom',
          path: ['compactThresholdTokens'],
          message: `must be less than contextWindow (${agent.contextWindow}), got ${threshold}`,
        });
      }
    },
    {
      when: (payload) => fieldsParsed(payload, ['contextWindow', 'reserveTokens', 'compactThresholdTokens']),
    },
  );

const modelsSchema = z
  .array(
    z.strictObject({
      id: modelId,
      alias: z
        .string()
        .refine((alias) => MODEL_ALIAS.test(alias), {
          error: (issue) =>
            `expected one word without "/" (it is typed as /new <alias>), got ${describeValue(issue.input)}`,
        })
        .optional(),
    }),
  )
  .superRefine(
    (models, ctx) => {
      // Duplicates would make `/new <model>` ambiguous. Entries that failed their own checks may be
      // anything here, so only well-formed ids and aliases are compared.
      const ids = new Map<string, number>();
      const aliases = new Map<string, number>();
      (models as unknown[]).forEach((model, index) => {
        if (!isPlainObject(model)) return;
        const { id, alias } = model;
        if (typeof id === 'string' && MODEL_ID.test(id)) {
          const first = ids.get(id);
          if (first === undefined) ids.set(id, index);
          else
            ctx.addIssue({
              code: 'custom',
              path: [index, 'id'],
              message: `duplicate of models[${first}].id`,
            });
        }
        if (typeof alias === 'string' && MODEL_ALIAS.test(alias)) {
          const first = aliases.get(alias.toLowerCase());
          if (first === undefined) aliases.set(alias.toLowerCase(), index);
          else
            ctx.addIssue({
              code: 'custom',
              path: [index, 'alias'],
              message: `duplicate of models[${first}].alias (aliases are compared case-insensitively)`,
            });
        }
      });
    },
    { when: (payload) => Array.isArray(payload.value) },
  );

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: MINUTE_MS,
  h: 60 * MINUTE_MS,
  d: DAY_MS,
  w: 7 * DAY_MS,
};
const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
  pb: 1024 ** 5,
  pib: 1024 ** 5,
};
const UNLIMITED = 'unlimited';
const DURATION = /^(?:unlimited|([0-9]{1,9})(s|m|h|d|w))$/;
const SIZE = /^(?:unlimited|([0-9]{1,16}) ?(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB|PB|PiB)?)$/i;
/** The longest maximum age, 100 years; the largest maximum size, 1 PiB. */
const MAX_RETENTION_AGE_MS = 36_500 * DAY_MS;
const MAX_RETENTION_BYTES = 1024 ** 5;
/** The smallest maximum size: the largest message of any stream (a session record or a dead letter). */
const MIN_RETENTION_BYTES = 1024 ** 2;

/** `"30d"` → 2 592 000 000; `"unlimited"` → null; undefined when it is not a duration. */
function durationMs(text: string): number | null | undefined {
  const match = DURATION.exec(text);
  if (!match) return undefined;
  if (match[1] === undefined) return null;
  return Number(match[1]) * (DURATION_UNITS_MS[match[2] as string] as number);
}

/** `"10GB"` → 10 737 418 240; `"unlimited"` → null; undefined when it is not a size. */
function sizeBytes(text: string): number | null | undefined {
  const match = SIZE.exec(text);
  if (!match) return undefined;
  if (match[1] === undefined) return null;
  return Number(match[1]) * (SIZE_UNITS[(match[2] ?? '').toLowerCase()] as number);
}

/** A stream's `maxAge`: a duration of at least `min` (written as `minText`, because `why`) or "unlimited". */
function retentionAge(min: number, minText: string, why: string) {
  return z
    .string()
    .regex(DURATION, {
      error: (issue) =>
        `expected a duration such as "30d", "12h" or "${UNLIMITED}" (a whole number and one of the units s, m, h, d, w), got ${describeValue(issue.input)}`,
    })
    .refine(
      (text) => {
        const ms = durationMs(text);
        return ms === undefined || ms === null || (ms >= min && ms <= MAX_RETENTION_AGE_MS);
      },
      {
        error: (issue) =>
          `must be from ${minText} (${why}) to 36500d, or "${UNLIMITED}", got ${describeValue(issue.input)}`,
      },
    );
}

const retentionSize = z
  .string()
  .regex(SIZE, {
    error: (issue) =>
      `expected a size such as "10GB", "512MB" or "${UNLIMITED}" (units B, KB, MB, GB, TB, PB: powers of 1024), got ${describeValue(issue.input)}`,
  })
  .refine(
    (text) => {
      const bytes = sizeBytes(text);
      return (
        bytes === undefined ||
        bytes === null ||
        (bytes >= MIN_RETENTION_BYTES && bytes <= MAX_RETENTION_BYTES)
      );
    },
    {
      error: (issue) =>
        `must be from 1MB (the largest record a stream holds) to 1PB, or "${UNLIMITED}", got ${describeValue(issue.input)}`,
    },
  );

const streamRetentionSchema = (maxAge: ReturnType<typeof retentionAge>) =>
  z.strictObject({ maxAge: maxAge.optional(), maxBytes: retentionSize.optional() });

const bufferAge = retentionAge(2 * MINUTE_MS, '2m', "JetStream's duplicate window");

const retentionSchema = z.strictObject({
  inbound: streamRetentionSchema(bufferAge).optional(),
  keyed: streamRetentionSchema(bufferAge).optional(),
  sessions: streamRetentionSchema(
    retentionAge(DAY_MS, '1d', 'a shorter one cuts the records of sessions still running'),
  ).optional(),
  deadLetters: streamRetentionSchema(bufferAge).optional(),
  deliveries: streamRetentionSchema(bufferAge).optional(),
  ticks: streamRetentionSchema(bufferAge).optional(),
});

/** The parsed `retention` section in milliseconds and bytes (its strings already validated). */
function retentionOf(raw: z.output<typeof retentionSchema>): RetentionConfig {
  const out: RetentionConfig = {};
  for (const name of RETENTION_STREAM_NAMES) {
    const stream = raw[name];
    if (stream === undefined) continue;
    const limits: StreamRetentionConfig = {};
    if (stream.maxAge !== undefined) limits.maxAgeMs = durationMs(stream.maxAge) ?? null;
    if (stream.maxBytes !== undefined) limits.maxBytes = sizeBytes(stream.maxBytes) ?? null;
    out[name] = limits;
  }
  return out;
}

/**
 * The zod schema of the config file, for generating its JSON Schema. It checks every value and the
 * cross-field rules (token budgets, the test clock, model aliases). It deliberately leaves to
 * {@link parseConfig} what is about keys rather than values: dropping the OpenClaw-only session keys with a
 * warning, normalizing agent ids (and refusing two keys that normalize alike), adding the `main` agent and
 * refusing own `__proto__` keys. Validate with {@link parseConfig}, not with this schema directly.
 */
export const threadlineConfigSchema = z
  .strictObject({
    session: sessionSchema.prefault({}),
    gateway: z
      .strictObject({
        timeZone: ianaZone.optional(),
        botMentions: z.array(z.string().trim().min(1, 'must not be blank')).optional(),
      })
      .prefault({}),
    agents: z.record(recordKey, agentSchema).prefault({}),
    models: modelsSchema.prefault([]),
    lifecycle: z
      .strictObject({
        quietMinutes: z.number().positive().default(CONFIG_DEFAULTS.quietMinutes),
        compactionTimeoutMs: positiveInt.default(CONFIG_DEFAULTS.compactionTimeoutMs),
      })
      .prefault({}),
    compaction: z
      .strictObject({
        summariser: z.enum(['extractive', 'openai-compatible']).default('extractive'),
        keepRecentTurns: z.number().int().min(0).max(1024).default(CONFIG_DEFAULTS.keepRecentTurns),
        openai: z
          .strictObject({
            url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
            model: z.string().trim().min(1),
            apiKeyEnv: z
              .string()
              .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
              .default(CONFIG_DEFAULTS.summariserApiKeyEnv),
          })
          .optional(),
      })
      .prefault({}),
    clock: z.strictObject({ mode: z.enum(['system', 'test']).default('system') }).prefault({}),
    production: z.boolean().default(false),
    retention: retentionSchema.prefault({}),
  })
  .superRefine(
    (config, ctx) => {
      if (config.compaction.summariser === 'openai-compatible' && config.compaction.openai === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['compaction', 'openai'],
          message: 'required when compaction.summariser is "openai-compatible" (give url and model)',
        });
      }
      if (config.clock.mode === 'test' && config.production) {
        ctx.addIssue({
          code: 'custom',
          path: ['clock', 'mode'],
          message: 'the test clock is refused in production',
        });
      }
    },
    { when: (payload) => fieldsParsed(payload, ['clock', 'production', 'compaction']) },
  )
  .superRefine(
    (config, ctx) => {
      const aliases = new Set(
        config.models.flatMap((model) => (model.alias ? [model.alias.toLowerCase()] : [])),
      );
      for (const [key, agent] of Object.entries(config.agents)) {
        // Agents that failed their own checks may be anything here; only a usable bare name is looked up.
        const model: unknown = isPlainObject(agent) ? agent.model : undefined;
        if (typeof model !== 'string' || !MODEL_ALIAS.test(model) || aliases.has(model.toLowerCase()))
          continue;
        ctx.addIssue({
          code: 'custom',
          path: ['agents', key, 'model'],
          message: `${describeValue(model)} is not an alias from models (write "provider/model" or add the alias)`,
        });
      }
    },
    {
      when: (payload) =>
        fieldsParsed(payload, ['models']) && isPlainObject((payload.value as { agents?: unknown }).agents),
    },
  );

/**
 * True when the payload is an object whose listed fields parsed without issues, so that a cross-field check
 * can read them. Unknown keys elsewhere do not block it: their error is reported anyway.
 */
function fieldsParsed(payload: z.core.ParsePayload, fields: readonly string[]): boolean {
  if (!isPlainObject(payload.value)) return false;
  return !payload.issues.some((issue) => {
    const head = issue.path?.[0];
    if (head === undefined) return issue.code !== 'unrecognized_keys';
    return typeof head === 'string' && fields.includes(head);
  });
}

/**
 * The agent a key belongs to: the configured agent named by `parseSessionKey(key)` (normalized), else
 * `main` (always present in a parsed config), else the built-in defaults. The one lookup behind the
 * lifecycle rules (compaction threshold) and the command answers (model, context window).
 */
export function agentOfKey(sessionKey: string, config: ThreadlineConfig): AgentConfig {
  const parsed = parseSessionKey(sessionKey)?.agentId;
  const id = parsed === undefined ? undefined : normalizeAgentId(parsed);
  // Own properties only: an agent id such as `constructor` must not reach Object.prototype.
  if (id !== undefined && Object.hasOwn(config.agents, id)) return config.agents[id] as AgentConfig;
  if (Object.hasOwn(config.agents, 'main')) return config.agents.main as AgentConfig;
  return {
    id: 'main',
    contextWindow: CONFIG_DEFAULTS.contextWindow,
    reserveTokens: CONFIG_DEFAULTS.reserveTokens,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Parsing

/**
 * Validates an already parsed config object (e.g. from JSON5) and fills the defaults.
 *
 * Returns the config and the warnings (OpenClaw-only session keys that are ignored, agent keys that were
 * rewritten by normalization). Throws {@link ConfigError} listing every problem when the config is invalid;
 * it never substitutes a default for an invalid value.
 */
export function parseConfig(raw: unknown): { config: ThreadlineConfig; warnings: ConfigIssue[] } {
  return parseWithSource(raw, undefined);
}

function parseWithSource(
  raw: unknown,
  source: string | undefined,
): { config: ThreadlineConfig; warnings: ConfigIssue[] } {
  const warnings: ConfigIssue[] = [];
  const issues: ConfigIssue[] = findProtoKeys(raw, []);
  const input = dropOpenClawOnlyKeys(raw, warnings);

  const result = threadlineConfigSchema.safeParse(input, { reportInput: true });
  if (!result.success) issues.push(...result.error.issues.flatMap(toConfigIssues));
  // The agents section is checked as a whole even when other sections failed, so all issues come at once.
  const agents = isPlainObject(input)
    ? collectAgents(input.agents, result.data, issues, warnings)
    : undefined;

  if (issues.length > 0 || !result.success || agents === undefined) {
    throw new ConfigError(issues, source === undefined ? {} : { source });
  }
  const { data } = result;
  return {
    config: {
      session: data.session,
      gateway: data.gateway,
      agents,
      models: data.models,
      lifecycle: data.lifecycle,
      compaction: data.compaction,
      clock: data.clock,
      production: data.production,
      retention: retentionOf(data.retention),
    },
    warnings,
  };
}

/**
 * Parses JSON5 text (comments, trailing commas, unquoted keys, as OpenClaw configs are written) and then
 * validates it like {@link parseConfig}.
 *
 * Throws {@link ConfigError}: for a syntax error with one issue at the empty path whose message gives the
 * line and column (and `sourceName`, when given), with the JSON5 error as `cause`; otherwise as
 * {@link parseConfig} does, with `source` set to `sourceName`.
 */
export function parseConfigText(
  text: string,
  sourceName?: string,
): { config: ThreadlineConfig; warnings: ConfigIssue[] } {
  let raw: unknown;
  try {
    raw = JSON5.parse(text);
  } catch (error) {
    const where = syntaxErrorPosition(error);
    const detail = String(error instanceof Error ? error.message : error).replace(/^JSON5: /, '');
    const location = where ? `line ${where.line}, column ${where.column}` : 'unknown position';
    const message = `JSON5 syntax error at ${location}${sourceName ? ` of ${sourceName}` : ''}: ${stripPosition(detail)}`;
    throw new ConfigError(
      [{ path: '', message }],
      sourceName === undefined ? { cause: error } : { cause: error, source: sourceName },
    );
  }
  return parseWithSource(raw, sourceName);
}

function syntaxErrorPosition(error: unknown): { line: number; column: number } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { lineNumber, columnNumber } = error as { lineNumber?: unknown; columnNumber?: unknown };
  if (typeof lineNumber !== 'number' || typeof columnNumber !== 'number') return undefined;
  return { line: lineNumber, column: columnNumber };
}

/** JSON5 ends its messages with ` at <line>:<column>`, which the message already says in words. */
function stripPosition(detail: string): string {
  return detail.replace(/ at \d+:\d+$/, '');
}

/** Copies the input without the OpenClaw-only session keys, warning about each one it drops. */
function dropOpenClawOnlyKeys(raw: unknown, warnings: ConfigIssue[]): unknown {
  if (!isPlainObject(raw) || !isPlainObject(raw.session)) return raw;
  const kept = Object.entries(raw.session).filter(([key]) => {
    if (!OPENCLAW_ONLY_SESSION_KEYS.includes(key)) return true;
    warnings.push({
      path: formatPath(['session', key]),
      message: 'OpenClaw setting not used by Threadline; ignored',
    });
    return false;
  });
  return { ...raw, session: Object.fromEntries(kept) };
}

/**
 * An own `__proto__` key (JSON5 creates one for `"__proto__": …`) is invisible to zod, which would drop it
 * silently; it is never a valid key, so it is reported wherever it appears.
 */
function findProtoKeys(value: unknown, path: PropertyKey[]): ConfigIssue[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => findProtoKeys(item, [...path, index]));
  if (!isPlainObject(value)) return [];
  return Object.entries(value).flatMap(([key, child]) =>
    key === '__proto__'
      ? [
          {
            path: formatPath([...path, key]),
            message: '"__proto__" is a reserved name and cannot be used as a key',
          },
        ]
      : findProtoKeys(child, [...path, key]),
  );
}

type ParsedConfig = z.output<typeof threadlineConfigSchema>;

/**
 * Re-keys the agents by normalized id (spec §1.1) and reports two keys that normalize to the same id. Fills
 * in `main` when absent. Returns undefined when the config did not parse (its issues are already reported).
 */
function collectAgents(
  rawAgents: unknown,
  data: ParsedConfig | undefined,
  issues: ConfigIssue[],
  warnings: ConfigIssue[],
): Record<string, AgentConfig> | undefined {
  const rawKeys = isPlainObject(rawAgents) ? Object.keys(rawAgents).filter((key) => key !== '__proto__') : [];
  const ownerOf = new Map<string, string>();
  for (const key of rawKeys) {
    const id = normalizeAgentId(key);
    const owner = ownerOf.get(id);
    if (owner !== undefined) {
      issues.push({
        path: formatPath(['agents', key]),
        message: `agent id "${id}" is already configured by ${formatPath(['agents', owner])}`,
      });
      continue;
    }
    ownerOf.set(id, key);
    if (id !== key.trim().toLowerCase()) {
      warnings.push({ path: formatPath(['agents', key]), message: `agent id normalized to "${id}"` });
    }
  }
  if (data === undefined) return undefined;

  const entries: [string, AgentConfig][] = [];
  for (const [id, key] of ownerOf) {
    const parsed = data.agents[key];
    if (parsed === undefined) continue;
    entries.push([id, { id, ...parsed }]);
  }
  if (!ownerOf.has('main')) entries.unshift(['main', { id: 'main', ...agentSchema.parse({}) }]);
  // fromEntries defines own properties, so no key can reach the prototype.
  return Object.fromEntries(entries);
}

// ---------------------------------------------------------------------------------------------------------
// Messages

/** Turns one zod issue into config issues: one per unknown key, otherwise one. */
function toConfigIssues(issue: z.core.$ZodIssue): ConfigIssue[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      path: formatPath([...issue.path, key]),
      message: unknownKeyMessage(issue.path, key),
    }));
  }
  if (issue.code === 'invalid_key' || issue.code === 'invalid_element') {
    const inner = issue.issues[0];
    return [{ path: formatPath(issue.path), message: inner ? describeIssue(inner) : 'invalid key' }];
  }
  return [{ path: formatPath(issue.path), message: describeIssue(issue) }];
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type': {
      const { input, expected } = issue;
      if (input === undefined && issue.path.length > 0) return 'required';
      if (
        (expected === 'number' || expected === 'int') &&
        typeof input === 'number' &&
        !Number.isFinite(input)
      ) {
        return `expected a finite number, got ${describeValue(input)}`;
      }
      return `expected ${describeType(expected)}, got ${describeValue(input)}`;
    }
    case 'invalid_value': {
      const values = issue.values.map((value) => describeValue(value));
      const wanted = values.length === 1 ? values[0] : `one of ${values.join(' | ')}`;
      return `expected ${wanted}, got ${describeValue(issue.input)}`;
    }
    case 'too_small':
      return `expected ${describeBound(issue.origin, 'min', issue.minimum, issue.inclusive)}, got ${describeValue(issue.input)}`;
    case 'too_big':
      return `expected ${describeBound(issue.origin, 'max', issue.maximum, issue.inclusive)}, got ${describeValue(issue.input)}`;
    default:
      // Custom checks carry the message written in the schema.
      return issue.message;
  }
}

function describeType(expected: string): string {
  switch (expected) {
    case 'int':
      return 'an integer';
    case 'object':
    case 'record':
      return 'an object';
    case 'array':
      return 'an array';
    default:
      return `a ${expected}`;
  }
}

function describeBound(
  origin: string,
  side: 'min' | 'max',
  bound: number | bigint,
  inclusive = false,
): string {
  if (origin === 'string' || origin === 'array') {
    const unit = origin === 'string' ? 'characters' : 'items';
    if (side === 'min' && bound === 1)
      return origin === 'string' ? 'a non-empty string' : 'a non-empty array';
    return `${side === 'min' ? 'at least' : 'at most'} ${bound} ${unit}`;
  }
  if (side === 'min' && bound === 0 && !inclusive) return 'a positive number';
  const relation = side === 'min' ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<';
  return `a number ${relation} ${bound}`;
}

/** A value as it would be written in the config: strings quoted, containers by kind. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number') return Object.is(value, -0) ? '0' : String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || value === undefined || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function unknownKeyMessage(parent: PropertyKey[], key: string): string {
  const inside = (name: string) => parent.includes(name);
  if (inside('sendPolicy') && parent.at(-1) === 'match' && OPENCLAW_ONLY_MATCH_KEYS.has(key)) {
    return 'OpenClaw match option not supported by Threadline (ignoring it would change what the rule matches)';
  }
  if (key === 'timeZone' && (inside('resetByType') || inside('resetByChannel'))) {
    return 'unknown key (the daily-reset time zone is gateway-wide: set session.reset.timeZone or gateway.timeZone)';
  }
  const suggestion = closestKey(key, knownKeysAt(parent));
  return suggestion === undefined ? 'unknown key' : `unknown key (did you mean "${suggestion}"?)`;
}

/** The keys the schema allows in the object at `path` (empty when it is not a fixed-shape object). */
function knownKeysAt(path: PropertyKey[]): string[] {
  let schema: z.core.$ZodType | undefined = threadlineConfigSchema;
  for (const segment of path) {
    schema = schema === undefined ? undefined : childSchema(unwrap(schema), segment);
  }
  const target = schema === undefined ? undefined : unwrap(schema);
  return target instanceof z.ZodObject ? Object.keys(target.shape) : [];
}

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let current = schema;
  while (
    current instanceof z.ZodOptional ||
    current instanceof z.ZodDefault ||
    current instanceof z.ZodPrefault
  ) {
    current = current.unwrap();
  }
  return current;
}

function childSchema(schema: z.core.$ZodType, segment: PropertyKey): z.core.$ZodType | undefined {
  if (schema instanceof z.ZodObject && typeof segment === 'string') return schema.shape[segment];
  if (schema instanceof z.ZodRecord) return schema.valueType;
  if (schema instanceof z.ZodArray) return schema.element;
  return undefined;
}

/** The known key within edit distance 2 of `key` (case-insensitive), the nearest one first. */
function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance <= 2 && (best === undefined || distance < best.distance))
      best = { key: candidate, distance };
  }
  return best?.key;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

const IDENTIFIER = /^[A-Za-z_$][\w$-]*$/;

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment))
      out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

function formatIssue(issue: ConfigIssue): string {
  return `${issue.path === '' ? '(root)' : issue.path}: ${issue.message}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
