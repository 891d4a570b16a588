import { randomUUID } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CliError } from './errors.js';

export type OutputFormat = 'table' | 'json';

/** Where results go: stdout, or the file named by -o/--output. Logs and prompts use stderr. */
export interface Output {
  result(text: string): void;
}

export const stdoutOutput: Output = {
  result: (text) => {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  },
};

export function fileOutput(path: string): Output {
  return { result: (text) => writeFileSync(path, text.endsWith('\n') ? text : `${text}\n`) };
}

/**
 * A result that holds a secret (a generated password, a robot's secret): the file is private
 * (0600) from its first byte, and replaces any file of that name whole (never inherits its mode).
 */
export function secretFileOutput(path: string): Output {
  return {
    result: (text) => {
      const tmp = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
      try {
        writeFileSync(tmp, text.endsWith('\n') ? text : `${text}\n`, { mode: 0o600, flag: 'wx' });
        renameSync(tmp, path);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw new CliError('FAILED', `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    },
  };
}

/** A note on stderr for a spelling that still works but will go: `portcullis WHAT is deprecated: use INSTEAD`. */
export function deprecated(what: string, instead: string): void {
  process.stderr.write(`warning: portcullis ${what} is deprecated: use ${instead}\n`);
}

/**
 * The format and output file of a command whose `-o` once took the format (`sbom`, `verify`):
 * `-f FORMAT -o FILE` everywhere now, and a value of `-o` that names one of the command's formats
 * is still taken as the format, with a deprecation note. A file of such a name is `-o ./NAME`.
 */
export function formatAndOutput<F extends string>(
  command: string,
  formats: readonly F[],
  o: { readonly format: F; readonly output?: string | undefined },
  formatGiven: boolean,
): { format: F; output: string | undefined } {
  const old = o.output;
  if (old === undefined || !(formats as readonly string[]).includes(old)) return { format: o.format, output: old };
  deprecated(`${command} -o FORMAT`, '-f FORMAT (and -o FILE for the output file)');
  if (formatGiven && old !== o.format) throw new CliError('USAGE', `-f ${o.format} and -o ${old} name two formats: give the format with -f and the output file with -o (-o ./${old} for a file of that name)`);
  return { format: old as F, output: undefined };
}

/** Renders rows as an aligned text table (no borders: friendly to grep and awk). */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [headers.map(String), ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : Array.isArray(c) ? c.join(',') : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

export function render(format: OutputFormat, value: unknown, headers: readonly string[], row: (item: never) => readonly unknown[]): string {
  if (format === 'json') return JSON.stringify(value, null, 2);
  const items = (Array.isArray(value) ? value : [value]) as never[];
  return table(headers, items.map(row));
}

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
