/**
 * Just enough of the POSIX shell to know which programs a container's `sh -c SCRIPT` starts: simple
 * commands, their words (quotes, escapes, expansions left unexpanded), `env`, `exec`, and the
 * builtins that start nothing. Pure.
 */
import { posix } from 'node:path';

/** The script of `sh [options] -c SCRIPT ...`, or undefined when the shell runs no -c string. */
export function shellScript(argv: readonly string[]): string | undefined {
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
export function envProgram(argv: readonly string[]): string | undefined {
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
export function programsOfScript(script: string, cwd: string): { name: string; cwd: string | undefined }[] {
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
