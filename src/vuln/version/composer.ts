/**
 * Composer (Packagist) version comparison: composer/semver's `VersionParser::normalize` followed
 * by PHP's `version_compare`, which is how `Composer\Semver\Semver::sort` orders versions
 * (including `normalizeDefaultBranch`: dev-master/dev-default/dev-trunk become 9999999-dev).
 *
 * Normalization: trim; drop an `as alias` suffix and an `@stability` flag; `master`/`trunk`/
 * `default` and anything starting with `dev-` are branches (`dev-NAME`); drop `+build`; then
 *  - classical `v?N(.N){0,3}` padded to four parts (`1.2` -> `1.2.0.0`), major at most 5 digits,
 *  - or date-like `v?YYYY[sep]MM...` with separators turned into dots,
 * followed by an optional stability suffix `[._-]?(stable|beta|b|RC|alpha|a|patch|pl|p)` with up
 * to two numbers (`-beta.2` -> `-beta2`; a/b/p/pl/rc expand to alpha/beta/patch/patch/RC,
 * `stable` drops out) and an optional `-dev`; or a numeric branch `1.x-dev` ->
 * `1.9999999.9999999.9999999-dev`.
 *
 * version_compare: `-`, `_`, `+` become `.`, a dot is inserted at every digit/non-digit
 * transition, then parts compare pairwise: numbers numerically, two words by their special form
 * rank (prefix match: dev < alpha=a < beta=b < RC=rc < number < pl=p; anything else below dev),
 * a number against a word as `#` (rank 4) against the word. When one side runs out, a remaining
 * number makes its side greater and a remaining word compares against `#`: 1.0.0.0-beta <
 * 1.0.0.0 < 1.0.0.0-patch1.
 *
 * Like `Composer\Semver\Comparator`, two different named branches (`dev-foo`, `dev-bar`) are
 * neither less nor greater than each other: they compare 0. A branch against a version goes
 * through version_compare (`dev` ranks lowest). Invalid versions (normalize would throw) sort
 * before valid ones (see npm.ts);
 * {@link compareComposer} never throws.
 */
import { compareParsedOrInvalid } from './npm.js';

const MODIFIER = '[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\\d+){0,2})?)?([.-]?dev)?';
const CLASSICAL = new RegExp(`^v?(\\d{1,5})(\\.\\d+)?(\\.\\d+)?(\\.\\d+)?${MODIFIER}$`, 'i');
const DATE = new RegExp(`^v?(\\d{4}(?:[.:-]?\\d{2}){1,6}(?:[.:-]?\\d{1,3}){0,2})${MODIFIER}$`, 'i');
const PHP_TRIM = /^[ \t\n\r\0\x0B]+|[ \t\n\r\0\x0B]+$/g;

function expandStability(s: string): string {
  const l = s.toLowerCase();
  return l === 'a' ? 'alpha' : l === 'b' ? 'beta' : l === 'p' || l === 'pl' ? 'patch' : l === 'rc' ? 'RC' : l;
}

function normalizeBranch(name: string): string {
  const m = /^v?(\d+)(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?$/i.exec(name.replace(PHP_TRIM, ''));
  if (m) {
    let version = '';
    for (let i = 1; i < 5; i++) version += m[i] !== undefined ? m[i]!.replace(/[*X]/g, 'x') : '.x';
    return `${version.replace(/x/g, '9999999')}-dev`;
  }
  return `dev-${name}`;
}

/** composer/semver VersionParser::normalize, or undefined where it throws. */
export function normalizeComposer(input: string): string | undefined {
  let version = input.replace(PHP_TRIM, '');
  const alias = /^([^,\s]+) +as +([^,\s]+)$/.exec(version);
  if (alias) version = alias[1]!;
  const flag = /@(?:stable|RC|beta|alpha|dev)$/i.exec(version);
  if (flag) version = version.slice(0, version.length - flag[0].length);
  if (version === 'master' || version === 'trunk' || version === 'default') version = `dev-${version}`;
  if (version.toLowerCase().startsWith('dev-')) return `dev-${version.slice(4)}`;
  const build = /^([^,\s+]+)\+[^\s]+$/.exec(version);
  if (build) version = build[1]!;

  let m = CLASSICAL.exec(version);
  let index = 5;
  if (m) {
    version = m[1]! + (m[2] || '.0') + (m[3] || '.0') + (m[4] || '.0');
  } else {
    m = DATE.exec(version);
    index = 2;
    if (m) version = m[1]!.replace(/\D/g, '.');
  }
  if (m) {
    const stability = m[index];
    if (stability) {
      if (stability === 'stable') return version;
      version += `-${expandStability(stability)}${(m[index + 1] ?? '').replace(/^[.-]+/, '')}`;
    }
    if (m[index + 2]) version += '-dev';
    return version;
  }
  const dev = /^(.*?)[.-]?dev$/i.exec(version);
  if (dev) {
    const normalized = normalizeBranch(dev[1]!);
    if (!normalized.includes('dev-')) return normalized;
  }
  return undefined;
}

export function isValidComposer(v: string): boolean {
  return normalizeComposer(v) !== undefined;
}

/** php_canonicalize_version. */
function canonicalize(v: string): string {
  if (v.length === 0) return '';
  const isDigit = (c: string): boolean => c >= '0' && c <= '9';
  const isNonDigit = (c: string): boolean => !isDigit(c) && c !== '.';
  let out = v[0]!;
  let lp = v[0]!;
  for (let i = 1; i < v.length; i++) {
    const c = v[i]!;
    const last = out[out.length - 1];
    if (c === '-' || c === '_' || c === '+') {
      if (last !== '.') out += '.';
    } else if ((isNonDigit(lp) && isDigit(c)) || (isDigit(lp) && isNonDigit(c))) {
      if (last !== '.') out += '.';
      out += c;
    } else if (!/[0-9A-Za-z]/.test(c)) {
      if (last !== '.') out += '.';
    } else {
      out += c;
    }
    lp = c;
  }
  return out;
}

const SPECIAL: readonly (readonly [string, number])[] = [
  ['dev', 0],
  ['alpha', 1],
  ['a', 1],
  ['beta', 2],
  ['b', 2],
  ['RC', 3],
  ['rc', 3],
  ['#', 4],
  ['pl', 5],
  ['p', 5],
];

function specialForm(s: string): number {
  for (const [name, order] of SPECIAL) if (s.startsWith(name)) return order;
  return -1;
}

function compareSpecial(a: string, b: string): number {
  return Math.sign(specialForm(a) - specialForm(b));
}

const LONG_MAX = 2n ** 63n - 1n;

/** strtol(s, NULL, 10) on a part that starts with a digit (saturating, like glibc on 64-bit). */
function strtol(s: string): bigint {
  const n = BigInt(/^[0-9]+/.exec(s)![0]);
  return n > LONG_MAX ? LONG_MAX : n;
}

const isDigitAt = (s: string, i: number): boolean => i < s.length && s[i]! >= '0' && s[i]! <= '9';

/** PHP's version_compare(a, b): a port of php_version_compare (ext/standard/versioning.c). */
export function phpVersionCompare(orig1: string, orig2: string): number {
  if (orig1 === '' || orig2 === '') return orig1 === orig2 ? 0 : orig1 !== '' ? 1 : -1;
  const v1 = orig1.startsWith('#') ? orig1 : canonicalize(orig1);
  const v2 = orig2.startsWith('#') ? orig2 : canonicalize(orig2);
  // p: start of the current part; n: index of the '.' ending it, or -1 (C's NULL).
  let p1 = 0;
  let p2 = 0;
  let n1 = 0;
  let n2 = 0;
  let compare = 0;
  while (p1 < v1.length && p2 < v2.length && n1 !== -1 && n2 !== -1) {
    n1 = v1.indexOf('.', p1);
    n2 = v2.indexOf('.', p2);
    const x = v1.slice(p1, n1 === -1 ? undefined : n1);
    const y = v2.slice(p2, n2 === -1 ? undefined : n2);
    const dx = isDigitAt(x, 0);
    const dy = isDigitAt(y, 0);
    if (dx && dy) {
      const l1 = strtol(x);
      const l2 = strtol(y);
      compare = l1 === l2 ? 0 : l1 < l2 ? -1 : 1;
    } else if (!dx && !dy) compare = compareSpecial(x, y);
    else if (dx) compare = compareSpecial('#N#', y);
    else compare = compareSpecial(x, '#N#');
    if (compare !== 0) break;
    if (n1 !== -1) p1 = n1 + 1;
    if (n2 !== -1) p2 = n2 + 1;
  }
  if (compare === 0) {
    if (n1 !== -1) compare = isDigitAt(v1, p1) ? 1 : phpVersionCompare(v1.slice(p1), '#N#');
    else if (n2 !== -1) compare = isDigitAt(v2, p2) ? -1 : phpVersionCompare('#N#', v2.slice(p2));
  }
  return compare;
}

function normalizeForSort(v: string): string | undefined {
  const n = normalizeComposer(v);
  return n === 'dev-master' || n === 'dev-default' || n === 'dev-trunk' ? '9999999-dev' : n;
}

export function compareComposer(a: string, b: string): number {
  return compareParsedOrInvalid(a, b, normalizeForSort, (x, y) => (x === y || (x.startsWith('dev-') && y.startsWith('dev-')) ? 0 : phpVersionCompare(x, y)));
}
