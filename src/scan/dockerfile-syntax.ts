/**
 * Dockerfile words as BuildKit reads them: whitespace-separated, quotes removed, the escape
 * character applied; `KEY=VALUE` assignments of ENV, ARG and LABEL (and ENV's legacy `KEY VALUE`).
 * Shared by the Dockerfile checks and the image history's secrets. Pure.
 */

/**
 * The NAME=value pairs of ENV, ARG or LABEL: `K=V K2="V 2"`, and the legacy `ENV K V W` (one
 * pair, the rest of the line as value). A name without `=` (an ARG without default) has no value.
 */
export function assignments(keyword: string, args: string, escape: string): [string, string | undefined][] {
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
