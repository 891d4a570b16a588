/**
 * A forgiving reader of the small XML files package managers write (NuGet's packages.config,
 * MSBuild props): start and end tags with their attributes, and text. Comments, processing
 * instructions, the doctype and CDATA are passed over (CDATA's text is kept); entities are
 * decoded; nothing is fetched or expanded (no DTDs, no external entities). Malformed markup
 * throws a SyntaxError naming the offset.
 */

export type XmlToken =
  | { readonly kind: 'open'; readonly name: string; readonly attrs: ReadonlyMap<string, string>; readonly selfClosing: boolean }
  | { readonly kind: 'close'; readonly name: string }
  | { readonly kind: 'text'; readonly text: string };

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (all, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(Math.min(parseInt(e.slice(2), 16), 0x10ffff));
    if (e.startsWith('#')) return String.fromCodePoint(Math.min(parseInt(e.slice(1), 10), 0x10ffff));
    return ENTITIES[e] ?? all;
  });
}

const ATTR = /([^\s=/>]+)\s*=\s*("([^"]*)"|'([^']*)')/g;
const NAME = /^[^\s/>]+/;

/** The tokens of an XML text, in order. */
export function* xmlTokens(text: string): Generator<XmlToken> {
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const end = lt < 0 ? text.length : lt;
    if (end > i) {
      const t = text.slice(i, end);
      if (t.trim() !== '') yield { kind: 'text', text: decode(t) };
    }
    if (lt < 0) return;
    const skipTo = (closer: string): number => {
      const at = text.indexOf(closer, lt);
      if (at < 0) throw new SyntaxError(`unterminated markup at offset ${lt}`);
      return at + closer.length;
    };
    if (text.startsWith('<!--', lt)) i = skipTo('-->');
    else if (text.startsWith('<![CDATA[', lt)) {
      i = skipTo(']]>');
      yield { kind: 'text', text: text.slice(lt + 9, i - 3) };
    } else if (text.startsWith('<?', lt)) i = skipTo('?>');
    else if (text.startsWith('<!', lt)) i = skipTo('>');
    else {
      i = skipTo('>');
      const inner = text.slice(lt + 1, i - 1);
      if (inner.startsWith('/')) {
        yield { kind: 'close', name: inner.slice(1).trim() };
        continue;
      }
      const name = NAME.exec(inner)?.[0];
      if (name === undefined) throw new SyntaxError(`a tag without a name at offset ${lt}`);
      const selfClosing = inner.endsWith('/');
      const attrs = new Map<string, string>();
      for (const m of inner.slice(name.length, selfClosing ? -1 : undefined).matchAll(ATTR)) attrs.set(m[1]!, decode(m[3] ?? m[4] ?? ''));
      yield { kind: 'open', name, attrs, selfClosing };
    }
  }
}
