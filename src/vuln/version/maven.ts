/**
 * Maven version comparison: org.apache.maven.artifact.versioning.ComparableVersion as shipped in
 * Maven 3.8.x (checked against Debian's maven3-artifact 3.8.7).
 *
 * Parsing (after lower-casing) splits the string into items: `.` ends an item, `-` ends an item
 * and opens a sub-list, and a transition between digits and non-digits also opens a sub-list
 * (`1.0alpha1` -> [1, 0, [alpha, [1]]]). An empty item before a separator is 0. A letter run
 * directly followed by digits after a `.` (`1.0.x1`) is moved into a new sub-list, so it compares
 * like `-x1`. Numbers compare numerically (leading zeros ignored, any size). Strings are
 * qualifiers: `a1`/`b1`/`m1` (single letter followed by a digit) mean alpha/beta/milestone;
 * `ga`, `final`, `release` mean ``; `cr` means `rc`; the known ones order
 *   alpha < beta < milestone < rc < snapshot < "" < sp
 * and unknown ones come after all of them, in lexical order. After parsing, each list drops its
 * trailing "null" items (0, "", empty list) back to the last non-list item.
 * Item comparison: number > list > string between kinds; a missing item compares like "null"
 * (0 for a number, `""` for a string, each element in turn for a list).
 *
 * Every string is a valid Maven version, so {@link isValidMaven} only rejects the empty string and
 * strings with whitespace or control characters, which are not usable versions in a POM.
 * Digits are ASCII only (Java's Character.isDigit also takes other Unicode digits).
 */

type Item = { readonly kind: 'int'; readonly value: bigint } | { readonly kind: 'string'; readonly value: string } | { readonly kind: 'list'; readonly items: Item[] };

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const ALIASES: Readonly<Record<string, string>> = { ga: '', final: '', release: '', cr: 'rc' };
const RELEASE_INDEX = String(QUALIFIERS.indexOf(''));

function comparableQualifier(q: string): string {
  const i = QUALIFIERS.indexOf(q);
  return i === -1 ? `${QUALIFIERS.length}-${q}` : String(i);
}

function javaCompare(a: string, b: string): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

function stringItem(value: string, followedByDigit: boolean): Item {
  let v = value;
  if (followedByDigit && v.length === 1) v = v === 'a' ? 'alpha' : v === 'b' ? 'beta' : v === 'm' ? 'milestone' : v;
  return { kind: 'string', value: Object.hasOwn(ALIASES, v) ? ALIASES[v]! : v };
}

function parseItem(isDigit: boolean, buf: string): Item {
  return isDigit ? { kind: 'int', value: BigInt(buf) } : stringItem(buf, false);
}

function isNull(item: Item): boolean {
  switch (item.kind) {
    case 'int':
      return item.value === 0n;
    case 'string':
      return comparableQualifier(item.value) === RELEASE_INDEX;
    case 'list':
      return item.items.length === 0;
  }
}

function normalize(list: Item[]): void {
  for (let i = list.length - 1; i >= 0; i--) {
    const last = list[i]!;
    if (isNull(last)) list.splice(i, 1);
    else if (last.kind !== 'list') break;
  }
}

const isDigitChar = (c: string): boolean => c >= '0' && c <= '9';

/** Parses a version into ComparableVersion's item list. */
export function parseMaven(version: string): Item {
  const v = version.toLowerCase();
  const root: Item[] = [];
  let list = root;
  const stack: Item[][] = [root];
  const push = (): void => {
    const next: Item[] = [];
    list.push({ kind: 'list', items: next });
    list = next;
    stack.push(next);
  };
  let isDigit = false;
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === '.' || c === '-') {
      list.push(i === start ? { kind: 'int', value: 0n } : parseItem(isDigit, v.slice(start, i)));
      start = i + 1;
      if (c === '-') push();
    } else if (isDigitChar(c)) {
      if (!isDigit && i > start) {
        // 1.0.0.X1 < 1.0.0-X2: treat .X as -X for any string qualifier X
        if (list.length > 0) push();
        list.push(stringItem(v.slice(start, i), true));
        start = i;
        push();
      }
      isDigit = true;
    } else {
      if (isDigit && i > start) {
        list.push(parseItem(true, v.slice(start, i)));
        start = i;
        push();
      }
      isDigit = false;
    }
  }
  if (v.length > start) {
    if (!isDigit && list.length > 0) push();
    list.push(parseItem(isDigit, v.slice(start)));
  }
  for (let i = stack.length - 1; i >= 0; i--) normalize(stack[i]!);
  return { kind: 'list', items: root };
}

function compareItem(a: Item, b: Item | undefined): number {
  switch (a.kind) {
    case 'int':
      if (b === undefined) return a.value === 0n ? 0 : 1;
      if (b.kind === 'int') return a.value === b.value ? 0 : a.value < b.value ? -1 : 1;
      return 1;
    case 'string':
      if (b === undefined) return Math.sign(javaCompare(comparableQualifier(a.value), RELEASE_INDEX));
      if (b.kind === 'string') return Math.sign(javaCompare(comparableQualifier(a.value), comparableQualifier(b.value)));
      return -1;
    case 'list':
      if (b === undefined) {
        for (const x of a.items) {
          const r = compareItem(x, undefined);
          if (r !== 0) return r;
        }
        return 0;
      }
      if (b.kind === 'int') return -1;
      if (b.kind === 'string') return 1;
      for (let i = 0; i < Math.max(a.items.length, b.items.length); i++) {
        const l = a.items[i];
        const r = b.items[i];
        const res = l === undefined ? (r === undefined ? 0 : -compareItem(r, undefined)) : compareItem(l, r);
        if (res !== 0) return res;
      }
      return 0;
  }
}

export function isValidMaven(v: string): boolean {
  return v.length > 0 && !/[\s\p{Cc}]/u.test(v);
}

export function compareMaven(a: string, b: string): number {
  return compareItem(parseMaven(a), parseMaven(b)) || 0; // no -0
}
