import { writeFileSync } from 'node:fs';

export type OutputFormat = 'table' | 'json';

/** Where results go: stdout, or the file named by -o/--output-file. Logs and prompts use stderr. */
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
