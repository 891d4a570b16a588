/**
 * Image configuration checks of `portcullis scan`: does the program the container starts exist in
 * the image and can it be executed, does it run as root, does it ship secrets in its config or
 * history, is it a `:latest` image without a HEALTHCHECK. The same questions, where they can be
 * asked of source, are asked of a Dockerfile (`scan fs:DIR`).
 *
 * Pure: the image's file tree comes in as a port, the config as data. Ids are Trivy's Dockerfile
 * ids where they mean the same thing (DS001, DS002, DS026), `PCL-IMG-*` for the checks of our own.
 */
import { posix } from 'node:path';
import { ImageError, type FileTree, type ImageConfig } from '../image/index.js';
import type { ConfigFinding, Severity } from './model.js';

/** Bump whenever a check is added or changes what it reports: scan results are cached by it. */
export const MISCONFIG_VERSION = 1;

/** What the checks read of the image's squashed file tree. */
export type ImageFiles = Pick<FileTree, 'get' | 'resolve' | 'list'>;

export interface ImageCheckInput {
  readonly config: ImageConfig;
  readonly tree: ImageFiles;
  /** The tag the user named (`latest` when they named none), for DS001; absent for a digest. */
  readonly tag?: string;
}

// ---------------------------------------------------------------------------------------------
// The catalogue

interface Rule {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly resolution: string;
  readonly severity: Severity;
  readonly primaryUrl?: string;
}

const RULES = {
  program: {
    id: 'PCL-IMG-001',
    title: 'The program the container runs is missing or not executable',
    description:
      'The entrypoint and command of the image name a program that is not in the image, is a dangling symbolic link or a directory, or has no execute permission: every container started from it fails at once.',
    resolution: 'Fix the ENTRYPOINT/CMD path (or the COPY that should have put the program there), or make the file executable (chmod +x).',
    severity: 'CRITICAL',
  },
  noCommand: {
    id: 'PCL-IMG-002',
    title: 'The image has nothing to run',
    description:
      'The image config has neither an Entrypoint nor a Cmd, so a container cannot start unless a command is given at run time. Base images (distroless, scratch-based) are often built this way on purpose, hence the medium severity; for an image that is deployed as is, it is an outage.',
    resolution: 'Add an ENTRYPOINT or CMD to the Dockerfile, unless the image is only a base for others.',
    severity: 'MEDIUM',
  },
  secret: {
    id: 'PCL-IMG-003',
    title: 'Secret in the image configuration',
    description:
      'A secret is set in an ENV, ARG or LABEL, or leaked into the build history. Anyone who can pull the image can read it (docker inspect, docker history), and it cannot be removed without rebuilding.',
    resolution: 'Rotate the secret, then pass it at run time (orchestrator secrets, mounted files) or at build time with `RUN --mount=type=secret`, never through ENV, ARG or LABEL.',
    severity: 'CRITICAL',
  },
  latest: {
    id: 'DS001',
    title: "':latest' tag used",
    description: 'An image named without a tag, or by `:latest`, can change under the same name at any time: builds and deployments stop being reproducible.',
    resolution: 'Name a specific version tag, or better a digest (image@sha256:...).',
    severity: 'MEDIUM',
    primaryUrl: 'https://avd.aquasec.com/misconfig/ds001',
  },
  root: {
    id: 'DS002',
    title: "Image user should not be 'root'",
    description: 'A container running as root turns any escape from the application into root in the container, and a step closer to the host.',
    resolution: "Add a non-root user and switch to it with 'USER <name or uid>' in the final stage.",
    severity: 'HIGH',
    primaryUrl: 'https://avd.aquasec.com/misconfig/ds002',
  },
  healthcheck: {
    id: 'DS026',
    title: 'No HEALTHCHECK defined',
    description: 'Without a HEALTHCHECK, the runtime cannot tell a hung container from a healthy one.',
    resolution: 'Add a HEALTHCHECK instruction to the final stage of the Dockerfile.',
    severity: 'LOW',
    primaryUrl: 'https://avd.aquasec.com/misconfig/ds026',
  },
} as const satisfies Record<string, Rule>;

function finding(rule: Rule, message: string, lines?: { readonly start: number; readonly end: number }): ConfigFinding {
  return {
    id: rule.id,
    title: rule.title,
    description: rule.description,
    message,
    resolution: rule.resolution,
    severity: rule.severity,
    ...(rule.primaryUrl !== undefined ? { primaryUrl: rule.primaryUrl } : {}),
    ...(lines !== undefined ? { lines } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Image checks

export function checkImageConfig(input: ImageCheckInput): ConfigFinding[] {
  const { config, tree, tag } = input;
  const c = config.config ?? {};
  const out: ConfigFinding[] = [];
  out.push(...checkPrograms(config, tree));
  const user = rootUser(c.User ?? '');
  if (user !== undefined) out.push(finding(RULES.root, user === '' ? 'User is not set: the container runs as root' : `User is "${user}": the container runs as root`));
  if (tag === 'latest') out.push(finding(RULES.latest, 'the image is named by the tag latest (or by no tag), which can point at a different image tomorrow'));
  out.push(...imageSecrets(config));
  const test = c.Healthcheck?.Test;
  if (test === undefined || test.length === 0) out.push(finding(RULES.healthcheck, 'the image config has no Healthcheck'));
  else if (test[0] === 'NONE') out.push(finding(RULES.healthcheck, 'the Healthcheck is disabled (HEALTHCHECK NONE)'));
  return out;
}

/** The user string when it means uid 0 (`''`, `root`, `0`, `0:0`, `root:app`, ...), else undefined. */
function rootUser(user: string): string | undefined {
  const trimmed = user.trim();
  const name = trimmed.split(':')[0]!;
  return name === '' || name === 'root' || name === '0' ? trimmed : undefined;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'zsh', 'ksh', 'mksh']);

interface ProgramContext {
  readonly tree: ImageFiles;
  readonly pathDirs: readonly string[];
}

function checkPrograms(config: ImageConfig, tree: ImageFiles): ConfigFinding[] {
  // Windows images start programs by other rules (extensions, drive letters): not checked.
  if (config.os === 'windows') return [];
  const c = config.config ?? {};
  // An Entrypoint of [""] is how a Dockerfile clears an inherited one.
  const entrypoint = c.Entrypoint !== undefined && c.Entrypoint !== null && c.Entrypoint.length > 0 && !(c.Entrypoint.length === 1 && c.Entrypoint[0] === '') ? c.Entrypoint : undefined;
  const argv = [...(entrypoint ?? []), ...(c.Cmd ?? [])];
  const program = argv[0];
  if (program === undefined) return [finding(RULES.noCommand, 'the image config has no Entrypoint and no Cmd: `docker run` without a command fails')];
  const role = entrypoint !== undefined ? 'entrypoint' : 'command';
  const cwd = c.WorkingDir !== undefined && c.WorkingDir !== '' ? posix.resolve('/', c.WorkingDir) : '/';
  const ctx: ProgramContext = { tree, pathDirs: (envValue(c.Env, 'PATH') ?? DEFAULT_PATH).split(':') };

  const problems: string[] = [];
  const check = (name: string, at: string, label: string): void => {
    const problem = programProblem(ctx, name, at, label);
    if (problem !== undefined) problems.push(problem);
  };
  check(program, cwd, `${role} ${program}`);
  const base = posix.basename(program);
  const script = SHELLS.has(base) ? shellScript(argv) : undefined;
  if (script !== undefined) {
    for (const p of programsOfScript(script, cwd)) check(p.name, p.cwd ?? cwd, `the command ${p.name} run by ${program} -c`);
  } else if (base === 'env') {
    const next = envProgram(argv);
    if (next !== undefined) check(next, cwd, `the command ${next} run by ${program}`);
  } else {
    const problem = scriptProblem(ctx, argv, cwd);
    if (problem !== undefined) problems.push(problem);
  }
  return problems.map((m) => finding(RULES.program, m));
}

/**
 * `node server.js`, `python3 app.py`, `sh /app/start.sh`: the script the interpreter is given must
 * be there (no execute bit needed). Only the plain form, the script right after the interpreter:
 * options may take values, and `-m`/`-c`/`-e` run no file.
 */
function scriptProblem(ctx: ProgramContext, argv: readonly string[], cwd: string): string | undefined {
  const interpreter = posix.basename(argv[0]!);
  const script = argv[1];
  if (script === undefined || script === '' || script.startsWith('-')) return undefined;
  // Node finds `server` as server.js, .mjs, .cjs or server/index.js; Python runs a directory's __main__.py.
  const suffixes = interpreter === 'node' || interpreter === 'nodejs' ? ['', '.js', '.mjs', '.cjs', '.json'] : /^python[0-9.]*$/.test(interpreter) || SHELLS.has(interpreter) || interpreter === 'ruby' || interpreter === 'perl' ? [''] : undefined;
  if (suffixes === undefined) return undefined;
  const path = posix.resolve(cwd, script);
  for (const suffix of suffixes) {
    const look = lookUp(ctx.tree, path + suffix);
    if (look.kind === 'loop') return `the script ${script} that ${argv[0]} runs cannot be resolved: its symbolic links loop`;
    if (look.kind === 'ok' || look.kind === 'not-executable') return undefined;
    if (look.kind === 'directory' && !SHELLS.has(interpreter)) return undefined;
  }
  const look = lookUp(ctx.tree, path);
  if (look.kind === 'directory') return `the script ${script} that ${argv[0]} runs is a directory`;
  if (look.kind === 'special') return undefined;
  const near = look.kind === 'missing' || look.kind === 'dangling' ? nearName(ctx.tree, look.resolved, look.kind === 'missing' && !script.split('/').includes('..') ? posix.dirname(path) : undefined) : undefined;
  return `the script ${script} that ${argv[0]} runs does not exist in the image${path !== script ? ` (${path})` : ''}${near !== undefined ? `: did you mean ${near}?` : ''}`;
}

function envValue(env: readonly string[] | undefined, name: string): string | undefined {
  let value: string | undefined;
  for (const entry of env ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0 && entry.slice(0, eq) === name) value = entry.slice(eq + 1);
  }
  return value;
}

/** Why `name` cannot be executed, as the kernel and execvp would find it; undefined when it can. */
function programProblem(ctx: ProgramContext, name: string, cwd: string, label: string): string | undefined {
  if (name === '') return `${label.trimEnd()} is an empty string`;
  if (name.includes('/')) {
    const display = posix.resolve(cwd, name);
    const look = lookUp(ctx.tree, display);
    switch (look.kind) {
      case 'ok':
        return undefined;
      case 'loop':
        return `${label} cannot be resolved: its symbolic links loop (too many levels of symbolic links)`;
      case 'missing': {
        const near = nearName(ctx.tree, look.resolved, name.split('/').includes('..') ? undefined : posix.dirname(display));
        return `${label} does not exist in the image${display !== name ? ` (${display})` : ''}${near !== undefined ? `: did you mean ${near}?` : ''}`;
      }
      case 'dangling': {
        const near = nearName(ctx.tree, look.resolved, undefined);
        return `${label} is a symbolic link to ${look.target}, and /${look.resolved} does not exist in the image${near !== undefined ? `: did you mean ${near}?` : ''}`;
      }
      case 'directory':
        return `${label} is a directory, not a program`;
      case 'special':
        return `${label} is not a regular file (${look.type})`;
      case 'not-executable':
        return `${label}${look.resolved !== display.slice(1) ? ` (/${look.resolved})` : ''} is not executable (mode ${formatMode(look.mode)})`;
    }
  }
  // No slash: execvp tries each PATH entry in turn and skips what it cannot execute.
  let notExecutable: string | undefined;
  let dangling: string | undefined;
  for (const dir of ctx.pathDirs) {
    const candidate = posix.resolve(cwd, dir === '' ? '.' : dir, name);
    const look = lookUp(ctx.tree, candidate);
    if (look.kind === 'ok') return undefined;
    if (look.kind === 'not-executable') notExecutable ??= `${candidate} (mode ${formatMode(look.mode)})`;
    if (look.kind === 'dangling') dangling ??= `${candidate} is a symbolic link to ${look.target}, which does not exist`;
  }
  const path = ctx.pathDirs.join(':');
  if (notExecutable !== undefined) return `${label} is on PATH only as ${notExecutable}, which is not executable`;
  if (dangling !== undefined) return `${label} is not found on PATH (${path}): ${dangling}`;
  let best: { name: string; dir: string; distance: number } | undefined;
  for (const dir of ctx.pathDirs) {
    if (!dir.startsWith('/')) continue;
    const near = nearest(ctx.tree, dir.slice(1), name);
    if (near !== undefined && (best === undefined || near.distance < best.distance)) best = { ...near, dir };
  }
  return `${label} is not found in any directory of PATH (${path})${best !== undefined ? `: did you mean ${best.name} (in ${best.dir})?` : ''}`;
}

type LookUp =
  | { readonly kind: 'ok' }
  | { readonly kind: 'loop' }
  | { readonly kind: 'missing'; readonly resolved: string }
  | { readonly kind: 'dangling'; readonly resolved: string; readonly target: string }
  | { readonly kind: 'directory' }
  | { readonly kind: 'special'; readonly type: string }
  | { readonly kind: 'not-executable'; readonly resolved: string; readonly mode: number };

/** What is at an absolute path, links followed the way the kernel follows them with the image as root. */
function lookUp(tree: ImageFiles, absolute: string): LookUp {
  const path = absolute.replace(/^\/+/, '');
  let resolved: ReturnType<ImageFiles['resolve']>;
  try {
    resolved = tree.resolve(path, true);
  } catch (err) {
    if (err instanceof ImageError && err.code === 'LINK_LOOP') return { kind: 'loop' };
    throw err;
  }
  const node = resolved.node;
  if (node === undefined) {
    const last = tree.resolve(path, false).node;
    return last?.type === 'symlink' ? { kind: 'dangling', resolved: resolved.path, target: last.linkname } : { kind: 'missing', resolved: resolved.path };
  }
  switch (node.type) {
    case 'file':
    case 'hardlink':
      return (node.mode & 0o111) === 0 ? { kind: 'not-executable', resolved: resolved.path, mode: node.mode } : { kind: 'ok' };
    case 'directory':
      return { kind: 'directory' };
    default:
      return { kind: 'special', type: node.type };
  }
}

function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * A name within edit distance 2 of the missing file's, in the directory it should be in; shown
 * under `shownDir` (the directory as the user wrote it) or else under the directory's real path.
 */
function nearName(tree: ImageFiles, resolved: string, shownDir: string | undefined): string | undefined {
  const slash = resolved.lastIndexOf('/');
  const dir = slash < 0 ? '' : resolved.slice(0, slash);
  const near = nearest(tree, dir, resolved.slice(slash + 1));
  if (near === undefined) return undefined;
  return posix.join(shownDir ?? `/${dir}`, near.name);
}

function nearest(tree: ImageFiles, dir: string, name: string): { name: string; distance: number } | undefined {
  let real = dir;
  if (dir !== '') {
    try {
      const r = tree.resolve(dir, true);
      if (r.node?.type !== 'directory') return undefined;
      real = r.path;
    } catch {
      return undefined;
    }
  }
  // Two edits, but fewer than half the name: `sh` must not suggest `ls`.
  const limit = Math.min(2, Math.ceil(name.length / 2) - 1);
  let best: { name: string; distance: number } | undefined;
  for (const candidate of tree.list(real).sort()) {
    if (candidate === name) continue;
    const d = editDistance(name, candidate, limit);
    if (d <= limit && (best === undefined || d < best.distance)) best = { name: candidate, distance: d };
  }
  return best;
}

/** Levenshtein distance, or limit + 1 as soon as it must exceed `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      row.push(v);
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin > limit) return limit + 1;
    prev = row;
  }
  return prev[b.length]!;
}

/** The script of `sh [options] -c SCRIPT ...`, or undefined when the shell runs no -c string. */
function shellScript(argv: readonly string[]): string | undefined {
  let commandMode = false;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return commandMode ? argv[i + 1] : undefined;
    if (arg === '-o' || arg === '+o') {
      i += 1;
      continue;
    }
    if (/^[-+][A-Za-z]+$/.test(arg)) {
      if (arg.startsWith('-') && arg.includes('c')) commandMode = true;
      continue;
    }
    return commandMode ? arg : undefined;
  }
  return undefined;
}

/** The program `env [NAME=value ...] PROGRAM` runs; undefined for the forms that rewrite argv (-S, -u, -C). */
function envProgram(argv: readonly string[]): string | undefined {
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-i' || arg === '-' || arg === '--ignore-environment' || arg === '-0') continue;
    if (arg.startsWith('-')) return undefined;
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(arg)) continue;
    return arg;
  }
  return undefined;
}

interface Word {
  readonly text: string;
  /** No `$`, backquote or unterminated quote: the text is what the shell would see. */
  readonly literal: boolean;
  readonly glob: boolean;
  readonly redirect: boolean;
}

interface SimpleCommand {
  readonly words: readonly Word[];
  readonly before: string | undefined;
  readonly after: string | undefined;
}

/** Splits a POSIX shell string into simple commands and the operators between them; enough to find command words. */
function simpleCommands(script: string): SimpleCommand[] {
  const out: SimpleCommand[] = [];
  let words: Word[] = [];
  let before: string | undefined;
  let text = '';
  let started = false;
  let literal = true;
  let glob = false;
  let redirect = false;
  const flush = (): void => {
    if (started) words.push({ text, literal, glob, redirect });
    text = '';
    started = false;
    literal = true;
    glob = false;
    redirect = false;
  };
  const operator = (op: string): void => {
    flush();
    if (words.length > 0 || op !== ';') out.push({ words, before, after: op });
    else if (out.length > 0) return; // `;;`, blank lines: nothing between
    words = [];
    before = op;
  };
  let i = 0;
  while (i < script.length) {
    const ch = script[i]!;
    const next = script[i + 1];
    if (ch === ' ' || ch === '\t' || ch === '\r') {
      flush();
      i += 1;
    } else if (ch === '\n' || ch === ';') {
      operator(';');
      i += 1;
    } else if (ch === '&' || ch === '|') {
      operator(next === ch ? ch + ch : ch);
      i += next === ch ? 2 : 1;
    } else if (ch === '(' || ch === ')') {
      operator(ch);
      i += 1;
    } else if (ch === '<' || ch === '>') {
      redirect = true;
      started = true;
      while (i < script.length && /[<>&|]/.test(script[i]!)) text += script[i++];
    } else if (ch === '#' && !started) {
      while (i < script.length && script[i] !== '\n') i += 1;
    } else if (ch === "'") {
      const end = script.indexOf("'", i + 1);
      started = true;
      if (end < 0) {
        literal = false;
        i = script.length;
      } else {
        text += script.slice(i + 1, end);
        i = end + 1;
      }
    } else if (ch === '"') {
      started = true;
      i += 1;
      while (i < script.length && script[i] !== '"') {
        const c = script[i]!;
        if (c === '\\' && i + 1 < script.length && '$`"\\\n'.includes(script[i + 1]!)) {
          text += script[i + 1];
          i += 2;
          continue;
        }
        if (c === '$' || c === '`') literal = false;
        text += c;
        i += 1;
      }
      if (i >= script.length) literal = false;
      i += 1;
    } else if (ch === '\\') {
      started = true;
      if (next !== '\n') text += next ?? '';
      i += 2;
    } else {
      if (ch === '$' || ch === '`') literal = false;
      if (ch === '*' || ch === '?' || ch === '[') glob = true;
      if (ch === '~' && !started) literal = false;
      started = true;
      text += ch;
      i += 1;
    }
  }
  flush();
  if (words.length > 0) out.push({ words, before, after: undefined });
  return out;
}

/** Builtins that only set up the shell: the script goes on to its real command. */
const SETUP_BUILTINS = new Set(['set', 'export', 'readonly', 'unset', 'umask', 'ulimit', 'trap', 'echo', 'printf', 'true', ':', '.', 'source', 'shift', 'local', 'alias', 'wait', 'sleep']);
/** Builtins whose status decides whether what follows `&&` runs. */
const TEST_BUILTINS = new Set(['test', '[', 'command', 'type', 'hash', 'false', 'read', 'getopts', 'kill']);
/** Words after which the flow is not a straight line any more: stop looking. */
const STOP_WORDS = new Set(['if', 'then', 'else', 'elif', 'fi', 'for', 'while', 'until', 'do', 'done', 'case', 'esac', '{', '}', '!', '[[', 'function', 'select', 'eval', 'exit', 'return']);

/**
 * The programs a `sh -c` script certainly runs, in order, up to and including an `exec`: leading
 * builtins are skipped, `cd` to a literal directory is followed, commands that only run on a
 * condition (after `[ … ] &&`, around `||`, in pipes or the background) are not checked, and the
 * first variable, control structure or subshell ends the search. Fewer checks, no false alarms.
 */
function programsOfScript(script: string, cwd: string): { name: string; cwd: string | undefined }[] {
  const out: { name: string; cwd: string | undefined }[] = [];
  let dir: string | undefined = cwd;
  let conditional = false;
  for (const command of simpleCommands(script)) {
    if (command.before === '(' || command.before === ')' || command.after === '(' || command.after === ')') break;
    if (command.before === ';') conditional = false;
    if (conditional) continue;
    const uncertain = command.after === '||' || command.after === '|' || command.after === '&';
    if (uncertain) conditional = true;
    const words = commandWords(command.words);
    const first = words[0];
    if (first === undefined) continue;
    if (!first.literal || STOP_WORDS.has(first.text)) break;
    if (first.text === 'exec') {
      const target = execTarget(words);
      if (target === undefined) continue;
      if (target.literal && !target.glob && !uncertain && (dir !== undefined || !target.text.includes('/') || target.text.startsWith('/'))) out.push({ name: target.text, cwd: dir });
      break;
    }
    if (first.text === 'cd') {
      const arg = words[1];
      dir = arg !== undefined && arg.literal && arg.text !== '-' && dir !== undefined ? posix.resolve(dir, arg.text) : arg?.literal === true && arg.text.startsWith('/') ? posix.normalize(arg.text) : undefined;
      continue;
    }
    if (TEST_BUILTINS.has(first.text)) {
      if (command.after === '&&') conditional = true;
      continue;
    }
    if (SETUP_BUILTINS.has(first.text)) continue;
    if (first.glob) break;
    if (uncertain) continue;
    if (dir === undefined && first.text.includes('/') && !first.text.startsWith('/')) continue;
    out.push({ name: first.text, cwd: dir });
  }
  return out;
}

/** The words of a simple command without leading assignments and without redirections. */
function commandWords(words: readonly Word[]): Word[] {
  const out: Word[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.redirect) {
      if (/[<>]$/.test(w.text)) i += 1; // `> file`: the target is the next word
      continue;
    }
    if (out.length === 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(w.text)) continue;
    out.push(w);
  }
  return out;
}

function execTarget(words: readonly Word[]): Word | undefined {
  let i = 1;
  while (i < words.length && words[i]!.text.startsWith('-')) {
    if (words[i]!.text === '--') return words[i + 1];
    i += words[i]!.text.includes('a') ? 2 : 1;
  }
  return words[i];
}

// ---------------------------------------------------------------------------------------------
// Secrets

/** Names that say the value is a secret. */
const SECRET_NAME = /PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIALS?$|AUTH_?KEY/i;
/** A last name part that says the value is about the secret, not the secret (`TOKEN_TTL`, `PASSWORD_FILE`). */
const NOT_A_SECRET_SUFFIX = /(?:^|[_.-])(?:FILE|PATH|DIR|NAME|TTL|EXPIRY|EXPIRES|EXPIRATION|LENGTH|LEN|SIZE|TIMEOUT|ENDPOINT|URL|URI|HEADER|TYPE|ENABLED|REQUIRED|POLICY|VERSION|KEY_ID|ID_FILE)$/i;
const PLACEHOLDER = /^(?:|changeme|change[-_]?me|changeit|x{3,}|\*+|<[^>]*>|\{\{.*\}\}|none|null|nil|undefined|false|true|yes|no|dummy|example|sample|placeholder|secret|password|passwd|token|todo|tbd|redacted|unset|empty|your[-_].*|\.{3}|-|\d{1,6})$/i;

const TOKEN_SHAPES: readonly { readonly what: string; readonly pattern: RegExp }[] = [
  { what: 'an AWS access key id', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { what: 'a GitHub token', pattern: /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{22,}/ },
  { what: 'a GitLab token', pattern: /\bglpat-[A-Za-z0-9_-]{20,}/ },
  { what: 'a Slack token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/ },
  { what: 'an npm token', pattern: /\bnpm_[A-Za-z0-9]{36}\b/ },
  { what: 'a Stripe secret key', pattern: /\b[rs]k_live_[A-Za-z0-9]{20,}/ },
  { what: 'a Google API key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { what: 'a private key', pattern: /-----BEGIN[A-Z ]* PRIVATE KEY-----/ },
  { what: 'a URL with a password', pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@$]+:(?!(?:x{3,}|\*+|password|changeme|<[^>]*>)@)[^/\s@$]+@/i },
];

/** What kind of secret a name and value hold, or undefined. Never returns the value. */
function secretKind(name: string, value: string): string | undefined {
  for (const shape of TOKEN_SHAPES) if (shape.pattern.test(value)) return shape.what;
  const v = value.trim().replace(/^(["'])(.*)\1$/, '$2');
  if (!SECRET_NAME.test(name) || NOT_A_SECRET_SUFFIX.test(name)) return undefined;
  // `$X`, `${X}`: filled in elsewhere; `/run/secrets/x`: a file reference.
  if (PLACEHOLDER.test(v) || v.includes('$') || v.startsWith('/')) return undefined;
  return 'a secret (by its name)';
}

function shapeIn(text: string): string | undefined {
  return TOKEN_SHAPES.find((s) => s.pattern.test(text))?.what;
}

function imageSecrets(config: ImageConfig): ConfigFinding[] {
  const c = config.config ?? {};
  const messages: string[] = [];
  const env = new Map<string, string>();
  for (const entry of c.Env ?? []) {
    const eq = entry.indexOf('=');
    const name = eq < 0 ? entry : entry.slice(0, eq);
    const value = eq < 0 ? '' : entry.slice(eq + 1);
    env.set(name, value);
    const kind = secretKind(name, value);
    if (kind !== undefined) messages.push(`ENV ${name} holds ${kind}; it ships in the image config`);
  }
  for (const [name, value] of Object.entries(c.Labels ?? {})) {
    const kind = secretKind(name, value);
    if (kind !== undefined) messages.push(`label ${name} holds ${kind}`);
  }
  // Build arguments and instructions as the builders record them in history: `|2 A=1 B=2 /bin/sh -c …`
  // (both builders), `ENV A=1` / `ARG A=1` (BuildKit), `/bin/sh -c #(nop)  ENV A=1` (the classic builder).
  const seen = new Map<string, number[]>();
  const note = (key: string, step: number): void => {
    const steps = seen.get(key);
    if (steps === undefined) seen.set(key, [step]);
    else if (!steps.includes(step)) steps.push(step);
  };
  (config.history ?? []).forEach((h, index) => {
    const step = index + 1;
    const line = h.created_by ?? '';
    const found: string[] = [];
    const args = /^(?:RUN\s+)?\|(\d+)\s+/.exec(line);
    if (args !== null) {
      const words = line.slice(args[0].length).split(/\s+/).slice(0, Number(args[1]));
      for (const word of words) {
        const eq = word.indexOf('=');
        if (eq <= 0) continue;
        const name = word.slice(0, eq);
        const value = word.slice(eq + 1);
        if (secretKind(name, value) !== undefined) {
          note(`build argument ${name}`, step);
          found.push(value);
        }
      }
    }
    const instruction = /^(?:\/bin\/sh -c #\(nop\)\s+)?(ENV|ARG|LABEL)\s+(.*)$/s.exec(line);
    if (instruction !== null) {
      const keyword = instruction[1]!;
      for (const [name, value = ''] of assignments(keyword, instruction[2]!, '\\')) {
        if (secretKind(name, value) === undefined) continue;
        found.push(value);
        // The config's own ENV is reported above; its history line is the same secret.
        if (keyword === 'ENV' && env.get(name) === value) continue;
        note(`${keyword} ${name}`, step);
      }
    }
    const rest = found.reduce((text, value) => (value === '' ? text : text.split(value).join(' ')), line);
    const shape = shapeIn(rest);
    if (shape !== undefined) note(`${shape}`, step);
  });
  for (const [what, steps] of seen) {
    const where = `${steps.length === 1 ? 'entry' : 'entries'} ${steps.join(', ')}`;
    messages.push(what.startsWith('a ') || what.startsWith('an ') ? `the image history (${where}) contains ${what}` : `${what} leaked into the image history (${where}) with a secret value`);
  }
  return messages.map((m) => finding(RULES.secret, m));
}

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  /** Upper case: FROM, RUN, ... */
  readonly keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  readonly args: string;
  readonly lines: { readonly start: number; readonly end: number };
}

interface Stage {
  readonly from: Instruction;
  /** The FROM image as written (variables not yet expanded). */
  readonly image: string;
  readonly alias?: string;
  readonly instructions: Instruction[];
}

/** Checks a Dockerfile the way Trivy's DS001/DS002/DS026 do, plus secrets in ENV, ARG and LABEL. */
export function checkDockerfile(path: string, text: string): ConfigFinding[] {
  const { instructions, escape } = parseDockerfile(text);
  const globals = new Map<string, string | undefined>();
  const stages: Stage[] = [];
  const out: ConfigFinding[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => w !== '' && !w.startsWith('--'));
      const alias = words[1]?.toLowerCase() === 'as' ? words[2] : undefined;
      stages.push({ from: ins, image: words[0] ?? '', ...(alias !== undefined ? { alias } : {}), instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword === 'ARG') for (const [name, value] of assignments('ARG', ins.args, escape)) globals.set(name, value);
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
    if (ins.keyword === 'ENV' || ins.keyword === 'ARG' || ins.keyword === 'LABEL') {
      for (const [name, value = ''] of assignments(ins.keyword, ins.args, escape)) {
        const kind = secretKind(name, value);
        if (kind !== undefined) out.push(finding(RULES.secret, `${ins.keyword} ${name} holds ${kind} (line ${ins.lines.start})`, ins.lines));
      }
    }
  }

  const aliases = new Set<string>();
  for (const stage of stages) {
    const image = expand(stage.image, globals);
    if (image !== undefined) {
      const problem = latestProblem(image, aliases);
      if (problem !== undefined) out.push(finding(RULES.latest, `FROM ${stage.image}${image !== stage.image ? ` (${image})` : ''} ${problem} (line ${stage.from.lines.start})`, stage.from.lines));
    }
    if (stage.alias !== undefined) aliases.add(stage.alias.toLowerCase());
  }

  const final = stages.at(-1);
  if (final !== undefined) {
    const where = `the final stage of ${path} (FROM ${final.image}, line ${final.from.lines.start})`;
    const vars = new Map(globals);
    let user: { value: string | undefined; ins: Instruction } | undefined;
    let healthcheck: Instruction | undefined;
    const run = new Map<string, Instruction>();
    for (const ins of final.instructions) {
      if (ins.keyword === 'CMD' || ins.keyword === 'ENTRYPOINT') run.set(ins.keyword, ins);
      if (ins.keyword === 'ARG' || ins.keyword === 'ENV') for (const [name, value] of assignments(ins.keyword, ins.args, escape)) vars.set(name, value ?? (ins.keyword === 'ARG' ? vars.get(name) : ''));
      if (ins.keyword === 'USER') user = { value: expand(ins.args.trim(), vars), ins };
      if (ins.keyword === 'HEALTHCHECK') healthcheck = ins;
    }
    if (user === undefined) out.push(finding(RULES.root, `${where} has no USER: the container runs as root unless the base image sets a user`, final.from.lines));
    else if (user.value !== undefined && rootUser(user.value) !== undefined) out.push(finding(RULES.root, `the last USER of ${where} is "${user.value}": the container runs as root (line ${user.ins.lines.start})`, user.ins.lines));
    // `CMD ['node', 'app.js']` is not JSON: Docker quietly runs it as `/bin/sh -c "['node', 'app.js']"`.
    for (const ins of run.values()) {
      if (notJsonArray(ins.args)) out.push(finding(RULES.program, `${ins.keyword} ${ins.args} looks like the exec form but is not a JSON array of strings, so it runs as a shell command that fails (line ${ins.lines.start})`, ins.lines));
    }
    if (healthcheck === undefined) out.push(finding(RULES.healthcheck, `${where} has no HEALTHCHECK`, final.from.lines));
    else if (/^NONE\b/i.test(healthcheck.args.trim())) out.push(finding(RULES.healthcheck, `${where} disables the health check (HEALTHCHECK NONE, line ${healthcheck.lines.start})`, healthcheck.lines));
  }
  return out.sort((a, b) => (a.lines?.start ?? 0) - (b.lines?.start ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function notJsonArray(args: string): boolean {
  const t = args.trim();
  if (!t.startsWith('[') || !t.endsWith(']')) return false;
  try {
    const parsed: unknown = JSON.parse(t);
    return !Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string');
  } catch {
    return true;
  }
}

/** Why a FROM image is unpinned (no tag, or :latest), or undefined when it is pinned or is a stage. */
function latestProblem(image: string, aliases: ReadonlySet<string>): string | undefined {
  if (image === '' || image.toLowerCase() === 'scratch' || aliases.has(image.toLowerCase())) return undefined;
  if (image.includes('@')) return undefined;
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon <= slash) return 'has no tag, so it means :latest';
  return image.slice(colon + 1) === 'latest' ? 'uses the latest tag' : undefined;
}

/**
 * `$X`, `${X}`, `${X:-default}`, `${X-default}`, `${X:+alt}` from `vars`; undefined when a
 * variable has no known value (a `--build-arg` we cannot see).
 */
function expand(text: string, vars: ReadonlyMap<string, string | undefined>): string | undefined {
  let unknown = false;
  const result = text.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_m, braced: string | undefined, op: string | undefined, word: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    const value = vars.get(name);
    const set = op?.startsWith(':') === true ? value !== undefined && value !== '' : value !== undefined;
    if (op?.endsWith('-') === true) return set ? value! : (word ?? '');
    if (op?.endsWith('+') === true) return set ? (word ?? '') : '';
    if (value === undefined) unknown = true;
    return value ?? '';
  });
  return unknown ? undefined : result;
}

/**
 * The NAME=value pairs of ENV, ARG or LABEL: `K=V K2="V 2"`, and the legacy `ENV K V W` (one
 * pair, the rest of the line as value). A name without `=` (an ARG without default) has no value.
 */
function assignments(keyword: string, args: string, escape: string): [string, string | undefined][] {
  const words = splitWords(args.trim(), escape);
  const first = words[0];
  if (first === undefined) return [];
  if (keyword === 'ENV' && !first.includes('=')) {
    const rest = args.trim().slice(args.trim().search(/\s/) + 1).trim();
    return [[first, /\s/.test(args.trim()) ? rest : '']];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    return eq < 0 ? [w, undefined] : [w.slice(0, eq), w.slice(eq + 1)];
  });
}

/** Whitespace-separated words with quotes removed and the escape character applied. */
function splitWords(text: string, escape: string): string[] {
  const out: string[] = [];
  let word = '';
  let started = false;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === escape && quote !== "'" && i + 1 < text.length) {
      word += text[++i];
      started = true;
    } else if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) out.push(word);
      word = '';
      started = false;
    } else {
      word += ch;
      started = true;
    }
  }
  if (started) out.push(word);
  return out;
}

/**
 * The instructions of a Dockerfile: parser directives (`# escape=`) first, comment lines dropped
 * (inside continuations too), lines ending in the escape character joined, heredocs (`<<EOF`)
 * kept with their instruction. Keywords are case-insensitive.
 */
function parseDockerfile(text: string): { instructions: Instruction[]; escape: string } {
  const lines = text.split(/\r?\n/);
  let escape = '\\';
  let i = 0;
  // Directives: only at the very top, before any blank line, comment or instruction.
  for (; i < lines.length; i++) {
    const m = /^#\s*([A-Za-z]+)\s*=\s*(.*?)\s*$/.exec(lines[i]!);
    if (m === null) break;
    const key = m[1]!.toLowerCase();
    if (key === 'escape' && (m[2] === '`' || m[2] === '\\')) escape = m[2];
    else if (key !== 'syntax' && key !== 'check') break;
  }
  const isComment = (line: string): boolean => line.trimStart().startsWith('#');
  const isBlank = (line: string): boolean => line.trim() === '';
  const instructions: Instruction[] = [];
  while (i < lines.length) {
    if (isBlank(lines[i]!) || isComment(lines[i]!)) {
      i += 1;
      continue;
    }
    const start = i + 1;
    let joined = '';
    for (;;) {
      const line = lines[i]!;
      i += 1;
      const trimmed = line.replace(/\s+$/, '');
      if (trimmed.endsWith(escape)) {
        joined += trimmed.slice(0, -escape.length);
        // Comment and blank lines inside a continuation are dropped.
        while (i < lines.length && (isComment(lines[i]!) || isBlank(lines[i]!))) i += 1;
        if (i >= lines.length) break;
        continue;
      }
      joined += line;
      break;
    }
    let end = i;
    const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(joined);
    if (m === null) continue;
    const keyword = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    // BuildKit heredocs: the body lines belong to this instruction.
    for (const h of args.matchAll(/<<(-?)\s*(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g)) {
      if (!['RUN', 'COPY', 'ADD'].includes(keyword)) break;
      const terminator = h[3]!;
      while (i < lines.length) {
        const body = lines[i]!;
        i += 1;
        if ((h[1] === '-' ? body.replace(/^\t+/, '') : body) === terminator) break;
      }
      end = i;
    }
    instructions.push({ keyword, args, lines: { start, end } });
  }
  return { instructions, escape };
}
