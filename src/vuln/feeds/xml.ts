/**
 * XML feeds read element by element: the document is fed in chunks, as it is read or
 * decompressed, and each complete element of the names asked for comes out as a small tree, so an
 * advisory file of hundreds of MB (Oracle's OVAL) is never held whole. Pure: the caller reads the
 * bytes. The XML is read by isaacs' `sax` (strict mode: the predefined entities and character
 * references only; a DOCTYPE's entities are never expanded, nothing is fetched).
 */
import { createRequire } from 'node:module';
import type { AffectedRecord, Severity } from '../model.js';

/** An element: its local name (namespace prefix dropped), attributes, child elements, and its own text. */
export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** The element's direct text (and CDATA), concatenated. */
  readonly text: string;
}

interface SaxTag {
  name: string;
  attributes: Record<string, string>;
}
interface SaxParser {
  onopentag: (tag: SaxTag) => void;
  onclosetag: (name: string) => void;
  ontext: (text: string) => void;
  oncdata: (text: string) => void;
  onerror: (err: Error) => void;
  write(chunk: string): SaxParser;
  close(): SaxParser;
}
interface SaxLibrary {
  parser(strict: boolean, options: Record<string, unknown>): SaxParser;
}

// Loaded on first use: a scan never reads an XML feed.
let sax: SaxLibrary | undefined;
const saxLibrary = (): SaxLibrary => (sax ??= createRequire(import.meta.url)('sax') as SaxLibrary);

const localName = (name: string): string => name.slice(name.indexOf(':') + 1);

interface Building {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: XmlElement[];
  text: string;
}

/**
 * A reader that calls `onElement` with each complete element whose local name is in `names`
 * (an element inside another one asked for is part of the outer one's tree), and `onRoot` with
 * the document element's name and attributes as soon as it opens. `write` throws a SyntaxError on
 * malformed XML, naming what sax says.
 */
export function createElementReader(
  names: ReadonlySet<string>,
  onElement: (el: XmlElement) => void,
  onRoot?: (name: string, attrs: Readonly<Record<string, string>>) => void,
): { write(chunk: string): void; close(): void } {
  const parser = saxLibrary().parser(true, { trim: false, normalize: false, position: true });
  const stack: Building[] = [];
  let depth = 0;
  let failure: Error | undefined;
  parser.onopentag = (tag) => {
    const name = localName(tag.name);
    if (depth === 0) onRoot?.(name, tag.attributes);
    depth += 1;
    if (stack.length > 0 || names.has(name)) stack.push({ name, attrs: { ...tag.attributes }, children: [], text: '' });
  };
  parser.onclosetag = () => {
    depth -= 1;
    const done = stack.pop();
    if (done === undefined) return;
    const parent = stack[stack.length - 1];
    if (parent !== undefined) parent.children.push(done);
    else onElement(done);
  };
  parser.ontext = parser.oncdata = (text) => {
    const top = stack[stack.length - 1];
    if (top !== undefined) top.text += text;
  };
  parser.onerror = (err) => {
    failure = err;
  };
  const check = (): void => {
    if (failure !== undefined) throw new SyntaxError(`malformed XML: ${failure.message.split('\n').join(' ')}`);
  };
  return {
    write(chunk) {
      check();
      parser.write(chunk);
      check();
    },
    close() {
      check();
      parser.close();
      check();
    },
  };
}

/** The first child of that local name. */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

/** Every child of that local name. */
export function children(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

/** The `inner` children of the first `outer` child: `nested(update, 'references', 'reference')`. */
export function nested(el: XmlElement, outer: string, inner: string): XmlElement[] {
  const c = child(el, outer);
  return c === undefined ? [] : children(c, inner);
}

/** The trimmed text of the first child of that name, undefined when absent or empty. */
export function childText(el: XmlElement, name: string): string | undefined {
  const t = child(el, name)?.text.trim();
  return t === undefined || t === '' ? undefined : t;
}

/** The document element's local name, from the start of a document (a DOCTYPE, comments and processing instructions skipped); undefined when none is in it. */
export function xmlRootName(head: string): string | undefined {
  const body = head.replace(/^\uFEFF/, '').replace(/<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE[^>]*>/g, '');
  const m = /^\s*<([A-Za-z_][\w.:-]*)/.exec(body);
  return m === null ? undefined : localName(m[1]!);
}

/** The record of an RPM advisory's fix (ALAS, ELSA): every version before `fixed` is affected; the vendor's rating with it. */
export function rpmFixRecord(vulnId: string, ecosystem: string, name: string, fixed: string, severity: Severity | undefined, source: string): AffectedRecord {
  return {
    vulnId,
    ecosystem,
    name,
    ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }],
    versions: [],
    status: 'fixed',
    fixedVersion: fixed,
    ...(severity !== undefined && severity !== 'UNKNOWN' ? { severity } : {}),
    source,
  };
}
