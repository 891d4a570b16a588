/**
 * The image checks, asked of a Dockerfile where they can be (`scan fs:DIR`): a `:latest` base, no
 * USER or root, no HEALTHCHECK, secrets in ENV or ARG. Parsed as BuildKit does: escape directive,
 * line continuations, heredocs skipped, stages and their aliases, ARG/ENV expansion. Pure.
 */
import { finding, rootUser, RULES } from './misconfig-rules.js';
import { secretKind } from './env-secrets.js';
import { assignments } from './dockerfile-syntax.js';
import type { ConfigFinding } from './model.js';

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
