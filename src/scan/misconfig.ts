/**
 * Image configuration checks of `portcullis scan`: does the program the container starts exist in
 * the image and can it be executed, does it run as root, does it ship secrets in its config or
 * history, is it a `:latest` image without a HEALTHCHECK. The catalogue is misconfig-rules.ts, the
 * shell shell-script.ts, the secrets env-secrets.ts; the same questions, where they can be asked of
 * source, are asked of a Dockerfile (dockerfile.ts, `scan fs:DIR`).
 *
 * Pure: the image's file tree comes in as a port, the config as data. Ids are Trivy's Dockerfile
 * ids where they mean the same thing (DS001, DS002, DS026), `PCL-IMG-*` for the checks of our own.
 */
import { posix } from 'node:path';
import { ImageError, type FileTree, type ImageConfig } from '../image/index.js';
import { imageSecrets } from './env-secrets.js';
import { finding, rootUser, RULES } from './misconfig-rules.js';
import type { ConfigFinding } from './model.js';
import { envProgram, programsOfScript, shellScript } from './shell-script.js';

/** What the checks read of the image's squashed file tree. */
export type ImageFiles = Pick<FileTree, 'get' | 'resolve' | 'list'>;

export interface ImageCheckInput {
  readonly config: ImageConfig;
  readonly tree: ImageFiles;
  /** The tag the user named (`latest` when they named none), for DS001; absent for a digest. */
  readonly tag?: string;
}

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
