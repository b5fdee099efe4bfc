/**
 * The plain-text answers of the chat commands (spec §5): what `/status`, `/context`, `/send`, `/compact`,
 * `/new` and `/reset` reply, rendered from a {@link CommandAnswer} and the key's state after the command
 * was applied.
 *
 * Pure: no I/O, no clock. The decision time comes in as {@link AnswerView.now}; the agent's workspace files
 * are read by the host (session-worker `readWorkspaceReport`) and come in as {@link AnswerView.workspace}.
 *
 * ## Format
 * One fact per line, `\n` between lines, no trailing newline. The wording is stable: tests and operators
 * may match on it. Numbers and durations never depend on the locale:
 * - counts: integers with `,` between groups of three digits (`12,345`);
 * - context usage: `used/window (percent)`, the percent rounded half-up to one decimal (`12,345/200,000 (6.2%)`);
 * - durations: the two largest units, floored: `45s`, `3m 12s`, `2h 5m`, `3d 4h` (a moment after `now`
 *   counts as `0s`); a moment in the past reads `<duration> ago`.
 * Text that comes from chat users or external systems (keys, sender ids, reasons, file names, models) is put
 * on one line: control, line-separator and bidirectional-override characters become a space.
 *
 * `/status`:
 * ```
 * Session: agent:main:main
 * State: active                          (expired also names its reason: `expired (idle)`)
 * Session id: 6f1c…                       (`none` before the first session)
 * Started: 3m 12s ago                    (`never` before the first session)
 * Last activity: 1m 0s ago
 * Updated: 1m 0s ago
 * Model: anthropic/claude-opus-4         (see effectiveModel)
 * Tokens: 1,200 in / 300 out / 1,500 total
 * Context: 12,345/200,000 (6.2%)
 * Compactions: 0
 * Send policy: allow (no policy configured) | allow (default) | deny (override)
 *              | deny (rule 2 of 3: channel=discord chatType=group)
 * Agent: no messages yet | ok — last reply 10s ago | waiting — no reply for 30s since the last message
 *        | not responding — no reply for 6m 0s since the last message   (more than 5 minutes)
 * Privacy: ok | ⚠ Privacy: 2 people share this session (alice, bob) — set session.dmScope to per-channel-peer
 * ```
 * A rule is named by its position counted from 1 (`rule 2 of 3` is `session.sendPolicy.rules[1]`) and what
 * it matches (`channel=`, `chatType=`, `keyPrefix=`, `rawKeyPrefix=`; `any session` for a rule without a
 * match).
 *
 * `/context list`:
 * ```
 * Context of agent main — workspace /srv/agents/main
 * AGENTS.md  OK  raw 1,234 chars / 300 tok → injected 1,234 chars / 300 tok
 * SOUL.md  TRUNCATED  raw 30,000 chars / 7,000 tok → injected 20,000 chars / 4,700 tok
 * TOOLS.md  MISSING  raw 0 chars / 0 tok → injected 0 chars / 0 tok
 * Injected in total: 21,234 chars / 5,000 tok
 * Tokens: 1,200 in / 300 out / 1,500 total
 * Context: 12,345/200,000 (6.2%)
 * ```
 * Without a workspace the file lines and the total are replaced by `No workspace configured for agent main`
 * (or, when the agent has one but the host sent no report, `Workspace files of agent main were not read`).
 * `/context detail` adds `Budgets: 20,000 chars per file, 100,000 chars in total` after the header and, after
 * each file that needs one, an indented note: `  note: cut to the per-file limit of 20,000 chars`,
 * `  note: cut by the total budget (5,000 chars were left)`, `  note: not injected — the total budget was
 * spent`, `  note: not found`, or the reader's own note (`  note: outside the workspace`).
 * `/context json`: `JSON.stringify(…, null, 2)` of {@link ContextJson}.
 *
 * The other answers: `Send policy for this session: on` | `off` | `inherit (now allow by the policy default)`
 * | `inherit (now deny by rule 2 of 3: channel=discord)` | `inherit (now allow by default: no send policy
 * configured)`; the usage texts {@link SEND_USAGE} and {@link CONTEXT_USAGE}; `Compaction skipped: <reason>`;
 * `Compacted (12,000 → 3,000 tokens)` + `Context: 3,000/200,000 (1.5%)` (the context as it stands in the
 * view); `Compaction failed: <reason>`; `New session started (<sessionId>)`, with ` · model
 * anthropic/claude-opus-4` (or ` · model anthropic`) when `/new` named one.
 */
import { CONTEXT_USAGE, SEND_USAGE } from './chatCommands.js';
import { type AgentConfig, agentOfKey, type ThreadlineConfig } from './config.js';
import { explainSendPolicy, type SendPolicyExplanation } from './sendPolicy.js';
import type { SessionSnapshot } from './sessionDecider.js';
import { type CommandAnswer, MAX_DM_SENDERS } from './sessionMachine.js';
import type { SendPolicyRule } from './types.js';

/** What a command answer is rendered from: the key's state after the command was applied. */
export interface AnswerView {
  sessionKey: string;
  snapshot: SessionSnapshot;
  /** The decision time (ms since epoch): ages are measured from it. */
  now: number;
  config: ThreadlineConfig;
  /** The agent's workspace files, read by the host; present for `/context` answers. */
  workspace?: WorkspaceReport;
}

export interface WorkspaceFileReport {
  /** The name as configured in `bootstrapFiles`. */
  name: string;
  /**
   * `MISSING` also covers a file that exists but cannot be injected (unreadable, a directory, outside the
   * workspace): then {@link note} says why.
   */
  status: 'OK' | 'TRUNCATED' | 'MISSING';
  rawChars: number;
  injectedChars: number;
  rawTokens: number;
  injectedTokens: number;
  /** Why a `MISSING` file is not injected when it is not simply absent, e.g. `outside the workspace`. */
  note?: string;
}

export interface WorkspaceReport {
  agentId: string;
  /** null when the agent has no workspace configured. */
  dir: string | null;
  files: WorkspaceFileReport[];
  maxFileChars: number;
  maxTotalChars: number;
  totalInjectedChars: number;
  totalInjectedTokens: number;
}

/** The document `/context json` answers with (2-space indented JSON). */
export interface ContextJson {
  sessionKey: string;
  agentId: string;
  /** The host's workspace report; `null` when the host sent none (see {@link AnswerView.workspace}). */
  workspace: {
    dir: string | null;
    maxFileChars: number;
    maxTotalChars: number;
    totalInjectedChars: number;
    totalInjectedTokens: number;
    files: WorkspaceFileReport[];
  } | null;
  tokens: { context: number; window: number; input: number; output: number; total: number };
}

/** A health answer turns from `waiting` into `not responding` after this long without a reply. */
export const NOT_RESPONDING_AFTER_MS = 5 * 60_000;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// ───────────────────────────── helpers ─────────────────────────────

/**
 * The model the session runs with: the person's override (`provider/model`, or the provider alone after
 * `/new anthropic`), else the agent's `model` with an alias from `config.models` resolved to its
 * `provider/model` id, else `default`.
 */
export function effectiveModel(
  snapshot: SessionSnapshot,
  config: ThreadlineConfig,
  agent: AgentConfig,
): string {
  const { providerOverride, modelOverride } = snapshot.context.settings;
  if (providerOverride && modelOverride) return `${providerOverride}/${modelOverride}`;
  if (providerOverride) return providerOverride;
  if (modelOverride) return modelOverride;
  const model = agent.model;
  if (!model) return 'default';
  if (model.includes('/')) return model;
  const alias = model.toLowerCase();
  return config.models.find((entry) => entry.alias?.toLowerCase() === alias)?.id ?? model;
}

/** `12345` → `12,345`; rounded to an integer; never locale-dependent. */
export function formatCount(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const rounded = Math.round(value);
  const digits = String(Math.abs(rounded)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return rounded < 0 ? `-${digits}` : digits;
}

/** `used/window (percent)` with the percent rounded half-up to one decimal: `12,345/200,000 (6.2%)`. */
export function formatContextUsage(used: number, window: number): string {
  const percent = window > 0 ? (Math.round((used * 1000) / window) / 10).toFixed(1) : '0.0';
  return `${formatCount(used)}/${formatCount(window)} (${percent}%)`;
}

/** The two largest units, floored: `0s`, `45s`, `3m 12s`, `2h 5m`, `3d 4h`. Negative durations are `0s`. */
export function formatDuration(ms: number): string {
  const total = Number.isFinite(ms) ? Math.max(0, Math.floor(ms)) : 0;
  const days = Math.floor(total / DAY);
  const hours = Math.floor((total % DAY) / HOUR);
  const minutes = Math.floor((total % HOUR) / MINUTE);
  const seconds = Math.floor((total % MINUTE) / SECOND);
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m ${seconds}s`;
  return `${seconds}s`;
}

/**
 * The send policy in force for the key's session (spec §3): the config's rules, the session's `/send`
 * override, and the channel and chat type of its origin and delivery route, all read from the snapshot —
 * so `/status` and the delivery gate (session-worker's `deliveryVerdict`) always agree.
 */
export function sendPolicyOf(
  sessionKey: string,
  snapshot: SessionSnapshot,
  config: ThreadlineConfig,
  override: 'allow' | 'deny' | null = snapshot.context.sendOverride,
): SendPolicyExplanation {
  const { origin, lastRoute } = snapshot.context;
  const route = lastRoute ?? origin;
  return explainSendPolicy({
    session: config.session,
    sessionKey,
    override,
    entry: {
      ...(origin ? { channel: origin.channel } : {}),
      ...(lastRoute ? { lastChannel: lastRoute.channel } : {}),
      ...(route ? { chatType: route.chatType } : {}),
    },
  });
}

/** Untrusted text on one line: control, line-separator and bidi-override characters become a space. */
function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g, ' ');
}

function ago(now: number, at: number | null): string {
  return at === null ? 'never' : `${formatDuration(now - at)} ago`;
}

function ruleLabel(config: ThreadlineConfig, index: number | undefined): string {
  const rules = config.session.sendPolicy?.rules ?? [];
  if (index === undefined) return 'rule';
  const rule: SendPolicyRule | null | undefined = rules[index];
  const match = rule?.match;
  const fields = match
    ? (['channel', 'chatType', 'keyPrefix', 'rawKeyPrefix'] as const).flatMap((field) => {
        const value = match[field];
        return typeof value === 'string' && value.trim() !== '' ? [`${field}=${oneLine(value.trim())}`] : [];
      })
    : [];
  return `rule ${index + 1} of ${rules.length}: ${fields.length > 0 ? fields.join(' ') : 'any session'}`;
}

/** `allow (override)`, `deny (rule 2 of 3: channel=discord)`, `allow (default)`, `allow (no policy configured)`. */
function describePolicy(explained: SendPolicyExplanation, config: ThreadlineConfig): string {
  switch (explained.source) {
    case 'override':
      return `${explained.decision} (override)`;
    case 'rule':
      return `${explained.decision} (${ruleLabel(config, explained.rule)})`;
    case 'default':
      return `${explained.decision} (default)`;
    default:
      return `${explained.decision} (no policy configured)`;
  }
}

function healthLine(snapshot: SessionSnapshot, now: number): string {
  const { lastMessageAt, lastReplyAt } = snapshot.context;
  if (lastMessageAt === null) return 'Agent: no messages yet';
  if (lastReplyAt !== null && lastReplyAt >= lastMessageAt)
    return `Agent: ok — last reply ${ago(now, lastReplyAt)}`;
  const waited = now - lastMessageAt;
  const state = waited > NOT_RESPONDING_AFTER_MS ? 'not responding' : 'waiting';
  return `Agent: ${state} — no reply for ${formatDuration(waited)} since the last message`;
}

function privacyLine(snapshot: SessionSnapshot): string {
  const { privacyWarning, dmSenders } = snapshot.context;
  if (privacyWarning === null) return 'Privacy: ok';
  const count = Math.max(dmSenders.length, privacyWarning.senderIds.length);
  const people = count >= MAX_DM_SENDERS ? `At least ${count} people` : `${count} people`;
  const named = privacyWarning.senderIds.map(oneLine);
  const more = count - named.length;
  const list = more > 0 ? [...named, `+${more} more`] : named;
  return `⚠ Privacy: ${people} share this session (${list.join(', ')}) — set session.dmScope to per-channel-peer`;
}

function tokenLines(view: AnswerView, agent: AgentConfig): string[] {
  const { tokens } = view.snapshot.context;
  return [
    `Tokens: ${formatCount(tokens.input)} in / ${formatCount(tokens.output)} out / ${formatCount(tokens.total)} total`,
    `Context: ${formatContextUsage(tokens.context, agent.contextWindow)}`,
  ];
}

function stateLabel(snapshot: SessionSnapshot): string {
  const { endReason } = snapshot.context;
  return snapshot.state === 'expired' && endReason !== null ? `expired (${endReason})` : snapshot.state;
}

// ───────────────────────────── answers ─────────────────────────────

function renderStatus(view: AnswerView): string {
  const { snapshot, now, config } = view;
  const context = snapshot.context;
  const agent = agentOfKey(view.sessionKey, config);
  return [
    `Session: ${oneLine(view.sessionKey)}`,
    `State: ${stateLabel(snapshot)}`,
    `Session id: ${context.sessionId === null ? 'none' : oneLine(context.sessionId)}`,
    `Started: ${ago(now, context.startedAt)}`,
    `Last activity: ${ago(now, context.lastActivityAt)}`,
    `Updated: ${ago(now, context.updatedAt)}`,
    `Model: ${oneLine(effectiveModel(snapshot, config, agent))}`,
    ...tokenLines(view, agent),
    `Compactions: ${formatCount(context.compactionCount)}`,
    `Send policy: ${describePolicy(sendPolicyOf(view.sessionKey, snapshot, config), config)}`,
    healthLine(snapshot, now),
    privacyLine(snapshot),
  ].join('\n');
}

function fileLine(file: WorkspaceFileReport): string {
  return (
    `${oneLine(file.name)}  ${file.status}  raw ${formatCount(file.rawChars)} chars / ${formatCount(file.rawTokens)} tok` +
    ` → injected ${formatCount(file.injectedChars)} chars / ${formatCount(file.injectedTokens)} tok`
  );
}

/**
 * Why a file is not injected whole. Files consume the total budget in order, so what was left for this one
 * is the total minus what the files before it injected.
 */
function fileNote(file: WorkspaceFileReport, report: WorkspaceReport, injectedBefore: number): string | null {
  if (file.note) return oneLine(file.note);
  if (file.status === 'MISSING') return 'not found';
  if (file.status !== 'TRUNCATED') return null;
  if (file.injectedChars === 0) return 'not injected — the total budget was spent';
  const left = Math.max(0, report.maxTotalChars - injectedBefore);
  if (left < Math.min(file.rawChars, report.maxFileChars)) {
    return `cut by the total budget (${formatCount(left)} chars were left)`;
  }
  return `cut to the per-file limit of ${formatCount(report.maxFileChars)} chars`;
}

function renderContext(view: AnswerView, mode: 'list' | 'detail' | 'json'): string {
  const agent = agentOfKey(view.sessionKey, view.config);
  const report = view.workspace;
  const agentId = oneLine(report?.agentId ?? agent.id);
  if (mode === 'json') return JSON.stringify(contextJson(view, agent), null, 2);

  const lines: string[] = [];
  if (report === undefined || report.dir === null) {
    lines.push(
      report === undefined && agent.workspace !== undefined
        ? `Workspace files of agent ${agentId} were not read`
        : `No workspace configured for agent ${agentId}`,
    );
  } else {
    lines.push(`Context of agent ${agentId} — workspace ${oneLine(report.dir)}`);
    if (mode === 'detail') {
      lines.push(
        `Budgets: ${formatCount(report.maxFileChars)} chars per file, ${formatCount(report.maxTotalChars)} chars in total`,
      );
    }
    let injectedBefore = 0;
    for (const file of report.files) {
      lines.push(fileLine(file));
      const note = mode === 'detail' ? fileNote(file, report, injectedBefore) : null;
      if (note !== null) lines.push(`  note: ${note}`);
      injectedBefore += file.injectedChars;
    }
    lines.push(
      `Injected in total: ${formatCount(report.totalInjectedChars)} chars / ${formatCount(report.totalInjectedTokens)} tok`,
    );
  }
  lines.push(...tokenLines(view, agent));
  return lines.join('\n');
}

/** The `/context json` document. */
export function contextJson(
  view: AnswerView,
  agent: AgentConfig = agentOfKey(view.sessionKey, view.config),
): ContextJson {
  const report = view.workspace;
  const { tokens } = view.snapshot.context;
  return {
    sessionKey: view.sessionKey,
    agentId: report?.agentId ?? agent.id,
    workspace:
      report === undefined
        ? null
        : {
            dir: report.dir,
            maxFileChars: report.maxFileChars,
            maxTotalChars: report.maxTotalChars,
            totalInjectedChars: report.totalInjectedChars,
            totalInjectedTokens: report.totalInjectedTokens,
            files: report.files.map((file) => ({ ...file })),
          },
    tokens: {
      context: tokens.context,
      window: agent.contextWindow,
      input: tokens.input,
      output: tokens.output,
      total: tokens.total,
    },
  };
}

function renderSend(view: AnswerView, override: 'allow' | 'deny' | null): string {
  if (override === 'allow') return 'Send policy for this session: on';
  if (override === 'deny') return 'Send policy for this session: off';
  const explained = sendPolicyOf(view.sessionKey, view.snapshot, view.config, null);
  const by =
    explained.source === 'rule'
      ? ruleLabel(view.config, explained.rule)
      : explained.source === 'default'
        ? 'the policy default'
        : 'default: no send policy configured';
  return `Send policy for this session: inherit (now ${explained.decision} by ${by})`;
}

/** The plain-text answer a chat command gets (formats: see the module comment). */
export function renderAnswer(answer: CommandAnswer, view: AnswerView): string {
  switch (answer.kind) {
    case 'status':
      return renderStatus(view);
    case 'context':
      return renderContext(view, answer.mode);
    case 'send':
      return renderSend(view, answer.override);
    case 'send-usage':
      return SEND_USAGE;
    case 'context-usage':
      return CONTEXT_USAGE;
    case 'compact-skipped':
      return `Compaction skipped: ${oneLine(answer.reason)}`;
    case 'compact-done': {
      const agent = agentOfKey(view.sessionKey, view.config);
      return [
        `Compacted (${formatCount(answer.tokensBefore)} → ${formatCount(answer.tokensAfter)} tokens)`,
        `Context: ${formatContextUsage(view.snapshot.context.tokens.context, agent.contextWindow)}`,
      ].join('\n');
    }
    case 'compact-failed':
      return `Compaction failed: ${oneLine(answer.reason)}`;
    case 'reset': {
      const model = answer.model
        ? ` · model ${oneLine(answer.model.model === undefined ? answer.model.provider : `${answer.model.provider}/${answer.model.model}`)}`
        : '';
      return `New session started (${oneLine(answer.sessionId)})${model}`;
    }
    default: {
      const unknown: never = answer;
      return `Unknown answer ${JSON.stringify((unknown as { kind?: unknown }).kind)}`;
    }
  }
}
