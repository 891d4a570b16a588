/**
 * npm version comparison: Semantic Versioning 2.0.0 precedence (semver.org §11), as node-semver
 * (`semver.compare`, non-loose) implements it.
 *
 * `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`, numeric parts without leading zeros. Surrounding
 * whitespace and one leading `v` are tolerated (as by `semver.valid`). Precedence:
 * major, minor, patch numerically; a pre-release sorts before its release; pre-release
 * identifiers compare left to right, numeric ones numerically and below alphanumeric ones, which
 * compare in ASCII order; a shorter identifier list that is a prefix of the other sorts first.
 * Build metadata is ignored. Numbers of any length are compared exactly (node-semver rejects
 * numbers above 2^53-1; we accept them).
 *
 * The parsing and precedence here are shared by cargo.ts, golang.ts and nuget.ts.
 * {@link compareNpm} never throws: an invalid version sorts before every valid one, and two
 * invalid versions compare as plain strings.
 */

/** A parsed semantic version; numbers are kept as decimal strings without leading zeros. */
export interface SemVer {
  readonly major: string;
  readonly minor: string;
  readonly patch: string;
  readonly prerelease: readonly string[];
  readonly build: readonly string[];
}

const NUM = '(0|[1-9][0-9]*)';
const PRE_ID = '(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)';
const BUILD_ID = '[0-9A-Za-z-]+';
/** The SemVer 2.0.0 grammar, without any prefix. */
export const SEMVER_PATTERN = `${NUM}\\.${NUM}\\.${NUM}(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+(${BUILD_ID}(?:\\.${BUILD_ID})*))?`;
const STRICT = new RegExp(`^${SEMVER_PATTERN}$`);

/** Parses a strict SemVer 2.0.0 string (no prefix, no whitespace), or undefined. */
export function parseSemVerStrict(v: string): SemVer | undefined {
  const m = STRICT.exec(v);
  if (!m) return undefined;
  return {
    major: m[1]!,
    minor: m[2]!,
    patch: m[3]!,
    prerelease: m[4] === undefined ? [] : m[4].split('.'),
    build: m[5] === undefined ? [] : m[5].split('.'),
  };
}

/** Compares two non-negative decimal strings without leading zeros. */
export function compareDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a === b ? 0 : a < b ? -1 : 1;
}

/** Plain ordinal (UTF-16 code unit, so ASCII for identifiers) comparison. */
export function compareStrings(a: string, b: string): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

const DIGITS = /^[0-9]+$/;

/** SemVer §11.4 pre-release identifier precedence. */
export function comparePrerelease(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) {
    // A version without pre-release has higher precedence than one with.
    return a.length === b.length ? 0 : a.length === 0 ? 1 : -1;
  }
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    const xn = DIGITS.test(x);
    const yn = DIGITS.test(y);
    let c: number;
    if (xn && yn) c = compareDigits(x.replace(/^0+(?=.)/, ''), y.replace(/^0+(?=.)/, ''));
    else if (xn) c = -1;
    else if (yn) c = 1;
    else c = compareStrings(x, y);
    if (c !== 0) return c;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** SemVer precedence of two parsed versions (build metadata ignored). */
export function compareSemVer(a: SemVer, b: SemVer): number {
  return compareDigits(a.major, b.major) || compareDigits(a.minor, b.minor) || compareDigits(a.patch, b.patch) || comparePrerelease(a.prerelease, b.prerelease);
}

/** Parses an npm version: strict SemVer after trimming and dropping one leading `v`. */
export function parseNpmVersion(v: string): SemVer | undefined {
  const s = v.trim();
  return parseSemVerStrict(s.startsWith('v') ? s.slice(1) : s);
}

export function isValidNpm(v: string): boolean {
  return parseNpmVersion(v) !== undefined;
}

/** Orders invalid versions (parse failures) before valid ones, invalid among themselves as strings. */
export function compareParsedOrInvalid<T>(a: string, b: string, parse: (v: string) => T | undefined, cmp: (x: T, y: T) => number): number {
  const pa = parse(a);
  const pb = parse(b);
  if (pa === undefined || pb === undefined) {
    if (pa !== undefined) return 1;
    if (pb !== undefined) return -1;
    return compareStrings(a, b);
  }
  return cmp(pa, pb);
}

export function compareNpm(a: string, b: string): number {
  return compareParsedOrInvalid(a, b, parseNpmVersion, compareSemVer);
}
