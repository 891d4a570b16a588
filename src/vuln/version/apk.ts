/**
 * Alpine (apk-tools) version comparison, following the semantics of apk-tools' src/version.c
 * (apk-tools 2.12+ and 3.x, the tokenizer with commit hashes and leading-zero string sort).
 *
 * A version is `digits{.digits}...{letter}{_suffix{digits}}...{~hash}{-r digits}`:
 *  - the first number and every `.number` are compared numerically, except that when either
 *    side of a `.number` starts with `0` the two are compared as strings (`1.02 < 1.1`,
 *    `1.0 < 1.00`), like Gentoo;
 *  - one optional lowercase letter after a number: `1.0a < 1.0b`;
 *  - suffixes `_alpha < _beta < _pre < _rc` (pre-releases) `< (none) <` `_cvs < _svn < _git <
 *    _hg < _p` (post-releases), each with an optional number;
 *  - `~hash`: a run of lowercase hex digits, compared as a string;
 *  - `-rN`: the package revision, numeric.
 * Where the two diverge in the kind of part, a pre-release suffix is older than anything; else
 * the one that goes on with a "bigger" kind of part (a number > a letter > a post suffix >
 * suffix number > hash > revision > end of string) is newer: `1.0 < 1.0.1`, `1.0 < 1.0-r1`,
 * `1.0_rc1 < 1.0`.
 *
 * Invalid versions never throw. As in apk, tokenizing stops at the first part that breaks the
 * grammar, and that point sorts below the end of a valid string: `1.0b > 1.0bc` (the second
 * letter is invalid), and two versions equal up to their invalid parts compare equal. This is a
 * total preorder. {@link isValidApkVersion} is apk's `apk_version_validate`.
 *
 * Numbers are compared without the 64-bit wrap-around apk has for numbers longer than
 * 19 digits.
 */

enum Tok {
  InitialDigit = 0,
  Digit = 1,
  Letter = 2,
  Suffix = 3,
  SuffixNo = 4,
  CommitHash = 5,
  RevisionNo = 6,
  End = 7,
  Invalid = 8,
}

/** Suffix ranks: pre-release ones below NONE (5), post-release ones above. */
const SUFFIX_NONE = 5;
const SUFFIXES: ReadonlyMap<string, number> = new Map([
  ['alpha', 1],
  ['beta', 2],
  ['pre', 3],
  ['rc', 4],
  ['cvs', 6],
  ['svn', 7],
  ['git', 8],
  ['hg', 9],
  ['p', 10],
]);

interface Token {
  type: Tok;
  /** The token's text (digits without the dot, the letter, the suffix word, the hash). */
  value: string;
  /** For a suffix: its rank. */
  suffix: number;
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isLower = (c: number): boolean => c >= 0x61 && c <= 0x7a;
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x66);

/** A tokenizer over one version string. */
class Tokens {
  pos = 0;
  readonly t: Token = { type: Tok.InitialDigit, value: '', suffix: 0 };

  constructor(private readonly s: string) {
    this.digits();
  }

  private span(pred: (c: number) => boolean): string {
    const start = this.pos;
    while (this.pos < this.s.length && pred(this.s.charCodeAt(this.pos))) this.pos++;
    return this.s.slice(start, this.pos);
  }

  private digits(): void {
    this.t.value = this.span(isDigit);
    if (this.t.value === '') this.t.type = Tok.Invalid;
  }

  next(): void {
    const t = this.t;
    if (this.pos >= this.s.length) {
      t.type = Tok.End;
      return;
    }
    const c = this.s.charCodeAt(this.pos);
    if (isLower(c)) {
      if (t.type > Tok.Digit) return this.invalid();
      t.value = this.s[this.pos]!;
      t.type = Tok.Letter;
      this.pos++;
    } else if (c === 0x2e /* . */ || isDigit(c)) {
      if (c === 0x2e) {
        if (t.type > Tok.Digit) return this.invalid();
        this.pos++;
      }
      if (t.type === Tok.InitialDigit || t.type === Tok.Digit) t.type = Tok.Digit;
      else if (t.type === Tok.Suffix) t.type = Tok.SuffixNo;
      else return this.invalid();
      this.digits();
    } else if (c === 0x5f /* _ */) {
      if (t.type > Tok.SuffixNo) return this.invalid();
      this.pos++;
      t.value = this.span(isLower);
      const rank = SUFFIXES.get(t.value);
      if (rank === undefined) return this.invalid();
      t.suffix = rank;
      t.type = Tok.Suffix;
    } else if (c === 0x7e /* ~ */) {
      if (t.type >= Tok.CommitHash) return this.invalid();
      this.pos++;
      t.value = this.span(isHex);
      if (t.value === '') return this.invalid();
      t.type = Tok.CommitHash;
    } else if (c === 0x2d /* - */) {
      if (t.type >= Tok.RevisionNo || this.s.charCodeAt(this.pos + 1) !== 0x72 /* r */) return this.invalid();
      this.pos += 2;
      t.type = Tok.RevisionNo;
      this.digits();
    } else {
      this.invalid();
    }
  }

  private invalid(): void {
    this.t.type = Tok.Invalid;
  }
}

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** Byte-wise string order (apk_blob_sort): the shorter prefix first. Inputs here are ASCII. */
const stringOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Numeric order of two digit strings of any length. */
function numberOrder(a: string, b: string): number {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return stringOrder(x, y);
}

function tokenOrder(a: Token, b: Token): number {
  switch (a.type) {
    case Tok.Digit:
      if (a.value.startsWith('0') || b.value.startsWith('0')) return stringOrder(a.value, b.value);
      return numberOrder(a.value, b.value);
    case Tok.InitialDigit:
    case Tok.SuffixNo:
    case Tok.RevisionNo:
      return numberOrder(a.value, b.value);
    case Tok.Letter:
      return stringOrder(a.value, b.value);
    case Tok.Suffix:
      return sign(a.suffix - b.suffix);
    default:
      return stringOrder(a.value, b.value);
  }
}

/** Compares two Alpine package versions: -1 when a is older, 0 when equal, 1 when newer. Never throws. */
export function compareApk(a: string, b: string): number {
  const ta = new Tokens(a);
  const tb = new Tokens(b);
  for (; ta.t.type === tb.t.type && ta.t.type < Tok.End; ta.next(), tb.next()) {
    const r = tokenOrder(ta.t, tb.t);
    if (r !== 0) return r;
  }
  const x = ta.t;
  const y = tb.t;
  if (x.type === y.type) return 0;
  // Equal so far: the version that goes on is newer, unless it goes on with a pre-release suffix.
  if (x.type === Tok.Suffix && x.suffix < SUFFIX_NONE) return -1;
  if (y.type === Tok.Suffix && y.suffix < SUFFIX_NONE) return 1;
  return x.type > y.type ? -1 : 1;
}

/** Whether the string follows apk's version grammar (apk_version_validate). */
export function isValidApkVersion(version: string): boolean {
  const t = new Tokens(version);
  while (t.t.type < Tok.End) t.next();
  return t.t.type === Tok.End;
}
