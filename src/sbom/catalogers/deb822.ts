/**
 * Debian control-file syntax (deb822): paragraphs of `Field: value` lines, continuation lines
 * starting with a space or tab, paragraphs separated by blank lines. Used for dpkg's status
 * database and the distroless status.d files.
 */

export interface Deb822Paragraph {
  /** Field names lower-cased (they are case-insensitive); values trimmed, continuation lines joined with '\n'. */
  readonly fields: ReadonlyMap<string, string>;
  /** 1-based line where the paragraph starts, for warnings. */
  readonly line: number;
}

/** Splits `text` into paragraphs. Lines that are neither fields nor continuations are reported and skipped. */
export function parseDeb822(text: string, warn: (message: string) => void): Deb822Paragraph[] {
  const out: Deb822Paragraph[] = [];
  let fields = new Map<string, string>();
  let start = 0;
  let current: string | undefined;
  const flush = (): void => {
    if (fields.size > 0) out.push({ fields, line: start });
    fields = new Map();
    current = undefined;
  };
  let lineNo = 0;
  let pos = 0;
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end === -1) end = text.length;
    let line = text.slice(pos, end);
    pos = end + 1;
    lineNo++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') {
      flush();
      continue;
    }
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      if (current === undefined) {
        warn(`line ${lineNo}: continuation line outside a field`);
        continue;
      }
      fields.set(current, `${fields.get(current) ?? ''}\n${line.trim()}`);
      continue;
    }
    if (first === 0x23) continue; // '#': a comment (allowed in control files, harmless elsewhere)
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (name === '' || /\s/.test(name)) {
      warn(`line ${lineNo}: not a "Field: value" line`);
      current = undefined;
      continue;
    }
    if (fields.size === 0) start = lineNo;
    current = name.toLowerCase();
    fields.set(current, line.slice(colon + 1).trim());
  }
  flush();
  return out;
}
