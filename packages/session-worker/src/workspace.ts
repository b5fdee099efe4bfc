/**
 * Reads an agent's workspace bootstrap files for `/context` (spec §5): which of them would be injected into
 * the agent's context, whole or cut, and how big they are. The session core renders the answer from this
 * report (`renderAnswer` in session-core's commandAnswers.ts); this module is the I/O side.
 *
 * Rules:
 * - Files are read in the configured order (`agent.workspace.bootstrapFiles`) as UTF-8; characters are the
 *   JS string length of the decoded text.
 * - The injected text is the file cut to `maxFileChars`, then to what is left of `maxTotalChars`: files
 *   consume the total budget in order. A cut never splits a UTF-16 surrogate pair (it is then one character
 *   shorter), so the injected text is always well-formed.
 * - `OK`: injected whole (an empty file too). `TRUNCATED`: injected < raw, including nothing injected
 *   because the total budget was spent. `MISSING` with zero sizes: the file does not exist — or exists but
 *   is not injected, and then `note` says why: `outside the workspace` (a name such as `../x` or `/etc/x`,
 *   or a symlink whose target is outside the workspace directory), `not a regular file` (a directory, a
 *   FIFO, a device: never read, so a FIFO cannot hang the worker), `unreadable (EACCES)` (any other read
 *   error, with its code), or `workspace directory not found` / `workspace directory unreadable (<code>)`.
 *   Nothing is thrown for a file or a directory problem: `/context` is how an operator finds such problems.
 * - No workspace configured: `dir: null`, no files, zero totals, the default budgets.
 *
 * The symlink check compares real paths at read time; it keeps a workspace (which an agent may be able to
 * write to) from pulling arbitrary host files into the context. It is not a defence against a concurrent
 * process swapping files between the check and the read.
 */
import type { Stats } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import {
  type AgentConfig,
  CONFIG_DEFAULTS,
  type WorkspaceFileReport,
  type WorkspaceReport,
} from '@threadline/session-core';

type FileRead = { text: string } | { note?: string };

/**
 * The report of `agent`'s workspace files, with sizes counted by `countTokens` (a real tokenizer, see
 * `@threadline/tokens`). Never rejects for a missing or unreadable file or directory; see the module doc.
 */
export async function readWorkspaceReport(
  agent: AgentConfig,
  countTokens: (text: string) => number,
): Promise<WorkspaceReport> {
  const workspace = agent.workspace;
  if (workspace === undefined) {
    return {
      agentId: agent.id,
      dir: null,
      files: [],
      maxFileChars: CONFIG_DEFAULTS.maxFileChars,
      maxTotalChars: CONFIG_DEFAULTS.maxTotalChars,
      totalInjectedChars: 0,
      totalInjectedTokens: 0,
    };
  }
  const { maxFileChars, maxTotalChars } = workspace;
  const root = resolve(workspace.dir);
  const realRoot = await realpath(root).then(
    (real) => ({ real }),
    (error: unknown) => ({
      note:
        errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR'
          ? 'workspace directory not found'
          : `workspace directory unreadable (${errorCode(error) ?? 'error'})`,
    }),
  );

  const files: WorkspaceFileReport[] = [];
  let left = maxTotalChars;
  let totalInjectedTokens = 0;
  for (const name of workspace.bootstrapFiles) {
    const read: FileRead = 'real' in realRoot ? await readInside(root, realRoot.real, name) : realRoot;
    if (!('text' in read)) {
      files.push({
        name,
        status: 'MISSING',
        rawChars: 0,
        injectedChars: 0,
        rawTokens: 0,
        injectedTokens: 0,
        ...(read.note === undefined ? {} : { note: read.note }),
      });
      continue;
    }
    const raw = read.text;
    const injected = cut(cut(raw, maxFileChars), left);
    left -= injected.length;
    const rawTokens = countTokens(raw);
    const injectedTokens = injected.length === raw.length ? rawTokens : countTokens(injected);
    totalInjectedTokens += injectedTokens;
    files.push({
      name,
      status: injected.length < raw.length ? 'TRUNCATED' : 'OK',
      rawChars: raw.length,
      injectedChars: injected.length,
      rawTokens,
      injectedTokens,
    });
  }
  return {
    agentId: agent.id,
    dir: workspace.dir,
    files,
    maxFileChars,
    maxTotalChars,
    totalInjectedChars: maxTotalChars - left,
    totalInjectedTokens,
  };
}

/** Reads `name` inside the workspace `root` (whose real path is `realRoot`), refusing anything outside it. */
async function readInside(root: string, realRoot: string, name: string): Promise<FileRead> {
  const target = resolve(root, name);
  if (!isInside(root, target)) return { note: 'outside the workspace' };
  let real: string;
  let info: Stats;
  try {
    real = await realpath(target);
    if (!isInside(realRoot, real)) return { note: 'outside the workspace' };
    info = await stat(real);
  } catch (error) {
    return notFound(error) ? {} : { note: `unreadable (${errorCode(error) ?? 'error'})` };
  }
  if (!info.isFile()) return { note: 'not a regular file' };
  try {
    return { text: await readFile(real, 'utf8') };
  } catch (error) {
    return notFound(error) ? {} : { note: `unreadable (${errorCode(error) ?? 'error'})` };
  }
}

/** `target` is strictly below `dir` (both absolute). */
function isInside(dir: string, target: string): boolean {
  const rel = relative(dir, target);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** A missing file, a dangling symlink, or a path through a file (`AGENTS.md/x`): simply not there. */
function notFound(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The first `max` characters of `text`, one fewer when the cut would split a surrogate pair. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, Math.floor(max));
  if (end > 0 && isHighSurrogate(text.charCodeAt(end - 1)) && isLowSurrogate(text.charCodeAt(end))) end -= 1;
  return text.slice(0, end);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
