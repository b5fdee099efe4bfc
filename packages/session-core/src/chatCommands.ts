/**
 * The chat command parser (spec §2.5, §3, §5): decides whether one inbound text is a command the gateway
 * answers itself (`/new`, `/reset`, `/status`, `/context`, `/compact`, `/send`) or ordinary text for the
 * agent.
 *
 * It only reads text. It does not reset a session, change an override or answer anything: the caller
 * acts on the returned {@link ChatCommand}. It never throws; "not a command" is `null`.
 *
 * Normalisation before matching, in this order:
 * 1. the whole text is trimmed;
 * 2. in groups and channels, one leading mention of the bot (`@clawbot`, `<@U123>`, optionally followed by
 *    `:` or `,`) and the whitespace after it are dropped; in direct chats nothing is dropped;
 * 3. like OpenClaw, `/cmd: args` and `/cmd:args` read as `/cmd args`, and Telegram's `/cmd@clawbot` reads
 *    as `/cmd` when `@clawbot` is one of the bot's own mentions (a command addressed to another bot, such as
 *    `/status@otherbot`, stays ordinary text).
 */

/** What the parser needs to know about the message and the gateway besides the text. */
export interface ChatCommandContext {
  /** Reset triggers from config (`session.resetTriggers`); default `['/new', '/reset']`. */
  resetTriggers?: readonly string[];
  /** The sender may run commands (the inbound event says so). */
  authorized: boolean;
  /** The sender is the owner (required for `/send`). */
  owner?: boolean;
  /** `'direct' | 'group' | 'channel' | …` — in groups/channels a leading bot mention is stripped before matching. */
  chatType?: string;
  /** Names/handles the bot answers to, e.g. `['@clawbot', '<@U123>']` — a leading mention of any is stripped in groups. */
  botMentions?: readonly string[];
  /** Model allow-list for `/new <model>`: aliases (e.g. `opus`), `provider/model` ids, and providers. */
  models?: readonly { id: string /* provider/model */; alias?: string }[];
}

/** The model a reset asked for (`/new opus hello`): provider and model as configured, `raw` as typed. */
export interface ResetModelSelection {
  provider: string;
  /** Absent when only a provider was named (`/new anthropic`). */
  model?: string;
  /** The configured alias of the chosen entry, when it has one. */
  alias?: string;
  /** The word as the sender typed it. */
  raw: string;
}

export type ChatCommand =
  | {
      kind: 'reset';
      /** The configured trigger that matched, as configured. */
      trigger: string;
      /** The remaining text, case kept, trimmed; `''` if none. It becomes the new session's first message. */
      rest: string;
      model?: ResetModelSelection;
    }
  | { kind: 'status' }
  | { kind: 'context'; mode: ContextMode }
  /** `/context` with an argument other than `list`, `detail` or `json`: answer with {@link CONTEXT_USAGE}. */
  | { kind: 'context-usage' }
  | { kind: 'compact'; instructions?: string }
  | { kind: 'send'; mode: SendCommandMode }
  /** `/send` without a valid mode: answer with {@link SEND_USAGE}. */
  | { kind: 'send-usage' };

export type ContextMode = 'list' | 'detail' | 'json';

type ModelAllowList = NonNullable<ChatCommandContext['models']>;

export type SendCommandMode = 'allow' | 'deny' | 'inherit';

/** The answer to `/send` without a valid mode. */
export const SEND_USAGE = 'Usage: /send on|off|inherit';

/** The answer to `/context` with an unknown argument. */
export const CONTEXT_USAGE = 'Usage: /context [list|detail|json]';

/** OpenClaw's default `session.resetTriggers`. */
export const DEFAULT_RESET_TRIGGERS: readonly string[] = ['/new', '/reset'];

const CONTEXT_MODES: ReadonlySet<string> = new Set<ContextMode>(['list', 'detail', 'json']);

// `reset` is OpenClaw's third spelling of inherit (its parser accepts it); the spec names inherit/default.
const SEND_MODES: ReadonlyMap<string, SendCommandMode> = new Map<string, SendCommandMode>([
  ['on', 'allow'],
  ['allow', 'allow'],
  ['off', 'deny'],
  ['deny', 'deny'],
  ['inherit', 'inherit'],
  ['default', 'inherit'],
  ['reset', 'inherit'],
]);

/**
 * Parses one inbound text into a chat command, or `null` when it is ordinary text. Pure; never throws.
 *
 * - From a sender that is not `authorized`, everything is ordinary text (`null`) — commands included.
 * - Commands are recognised only at the start of the normalised text (see the module comment); command
 *   names and mode words match case-insensitively; arguments keep their case.
 * - Reset (§2.5): the text equals a configured trigger, or starts with one followed by whitespace
 *   (`/newfoo` is not a reset). Triggers are tried in configured order and the first match wins; they are
 *   trimmed and blank ones skipped; an absent or empty list means {@link DEFAULT_RESET_TRIGGERS} (as in
 *   OpenClaw). A trigger wins over a built-in command of the same name. If the first word of the rest
 *   names an allowed model — an alias, else a full `provider/model` id, else a bare provider, all
 *   case-insensitive — the result carries `model` and `rest` is the text after that word; otherwise the
 *   word stays in `rest`. Allow-list entries whose id is not `provider/model` are ignored.
 * - `/status` must stand alone (`/status:` too): `/status please` is ordinary text, as in OpenClaw,
 *   because a sentence that merely starts with the word should reach the agent.
 * - `/context` → `list`; `/context list|detail|json` → that mode; anything else after `/context` →
 *   `context-usage`, so a typo gets the usage answer instead of a silent fallback or a trip to the agent.
 * - `/compact [instructions]`: the instructions keep their case; absent when empty.
 * - `/send on|off|inherit` (also `allow|deny|default`, and OpenClaw's `reset` = inherit): only from the
 *   owner — from anyone else it is ordinary text. From the owner, anything other than exactly one mode
 *   word (nothing, an unknown word, extra words) is `send-usage`.
 */
export function parseChatCommand(text: string, ctx: ChatCommandContext): ChatCommand | null {
  if (!ctx.authorized) return null;
  const mentions = (ctx.botMentions ?? []).map((m) => m.trim()).filter((m) => m !== '');
  let body = text.trim();
  if (isGroupLike(ctx.chatType)) body = stripLeadingMention(body, mentions);
  if (body === '') return null;
  const normalized = normalizeCommandBody(body, mentions);
  // Triggers are tried on the text as sent as well as normalised, so a custom trigger that itself
  // contains `:` or `@` still matches literally.
  return matchReset(body, ctx) ?? matchReset(normalized, ctx) ?? matchBuiltin(normalized, ctx);
}

function isGroupLike(chatType: string | undefined): boolean {
  const type = chatType?.trim().toLowerCase();
  return type === 'group' || type === 'channel';
}

const WORD_CHAR = /[\p{L}\p{N}_]/u;

/** Drops one leading mention of the bot; the longest configured mention is tried first. */
function stripLeadingMention(body: string, mentions: readonly string[]): string {
  const byLength = [...mentions].sort((a, b) => b.length - a.length);
  for (const mention of byLength) {
    if (!startsWithIgnoringCase(body, mention)) continue;
    const after = body.slice(mention.length);
    // `@claw` must not eat the front of `@clawbot`: a mention ending in a name character needs a boundary.
    if (WORD_CHAR.test(mention.at(-1) ?? '') && WORD_CHAR.test(after.charAt(0))) continue;
    return after.replace(/^\s*[:,]?\s*/u, '');
  }
  return body;
}

/** `/cmd@bot: args` → `/cmd args` (see the module comment); any other text is returned unchanged. */
function normalizeCommandBody(body: string, mentions: readonly string[]): string {
  const head = /^(\/[^\s:@]+)(@[^\s:]+)?/u.exec(body);
  if (!head) return body;
  const [matched, name, handle] = head;
  if (name === undefined) return body;
  if (handle !== undefined && !mentions.some((m) => m.toLowerCase() === handle.toLowerCase())) return body;
  let rest = body.slice(matched.length);
  const colon = /^\s*:/u.exec(rest);
  if (colon) rest = rest.slice(colon[0].length);
  else if (rest !== '' && !/^\s/u.test(rest)) return body; // e.g. `/status@` — not a command head
  rest = rest.trim();
  return rest === '' ? name : `${name} ${rest}`;
}

function startsWithIgnoringCase(text: string, prefix: string): boolean {
  return text.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase();
}

function matchReset(body: string, ctx: ChatCommandContext): ChatCommand | null {
  const configured = ctx.resetTriggers?.length ? ctx.resetTriggers : DEFAULT_RESET_TRIGGERS;
  for (const trigger of configured) {
    const wanted = trigger.trim();
    if (wanted === '' || !startsWithIgnoringCase(body, wanted)) continue;
    const after = body.slice(wanted.length);
    if (after !== '' && !/^\s/u.test(after)) continue; // `/newfoo` is not `/new`
    return resetCommand(trigger, after.trim(), ctx.models ?? []);
  }
  return null;
}

function resetCommand(trigger: string, rest: string, models: ModelAllowList): ChatCommand {
  const word = /^\S+/u.exec(rest)?.[0];
  const model = word === undefined ? undefined : resolveModel(word, models);
  if (word === undefined || model === undefined) return { kind: 'reset', trigger, rest };
  return { kind: 'reset', trigger, rest: rest.slice(word.length).trim(), model };
}

/** Alias first, then full id, then bare provider (so an alias that is also a provider name means the alias). */
function resolveModel(word: string, models: ModelAllowList): ResetModelSelection | undefined {
  const wanted = word.toLowerCase();
  const entries = models.flatMap((entry) => {
    const id = entry.id.trim();
    const slash = id.indexOf('/');
    if (slash <= 0 || slash === id.length - 1) return [];
    const alias = entry.alias?.trim() || undefined;
    return [{ id, provider: id.slice(0, slash), model: id.slice(slash + 1), alias }];
  });
  const selection = (e: (typeof entries)[number]): ResetModelSelection =>
    e.alias === undefined
      ? { provider: e.provider, model: e.model, raw: word }
      : { provider: e.provider, model: e.model, alias: e.alias, raw: word };
  const byAlias = entries.find((e) => e.alias?.toLowerCase() === wanted);
  if (byAlias) return selection(byAlias);
  const byId = entries.find((e) => e.id.toLowerCase() === wanted);
  if (byId) return selection(byId);
  const byProvider = entries.find((e) => e.provider.toLowerCase() === wanted);
  if (byProvider) return { provider: byProvider.provider, raw: word };
  return undefined;
}

function matchBuiltin(body: string, ctx: ChatCommandContext): ChatCommand | null {
  const parts = /^(\/\S+)(?:\s+([\s\S]*))?$/u.exec(body);
  const name = parts?.[1]?.toLowerCase();
  const args = parts?.[2]?.trim() ?? '';
  switch (name) {
    case '/status':
      return args === '' ? { kind: 'status' } : null;
    case '/context': {
      if (args === '') return { kind: 'context', mode: 'list' };
      const mode = args.toLowerCase();
      return CONTEXT_MODES.has(mode)
        ? { kind: 'context', mode: mode as ContextMode }
        : { kind: 'context-usage' };
    }
    case '/compact':
      return args === '' ? { kind: 'compact' } : { kind: 'compact', instructions: args };
    case '/send': {
      if (ctx.owner !== true) return null;
      const mode = SEND_MODES.get(args.toLowerCase());
      return mode === undefined ? { kind: 'send-usage' } : { kind: 'send', mode };
    }
    default:
      return null;
  }
}
