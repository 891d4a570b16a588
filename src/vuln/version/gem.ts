/**
 * RubyGems version comparison: Gem::Version (rubygems lib/rubygems/version.rb: `correct?`,
 * `initialize`, `canonical_segments`, `<=>`), checked against RubyGems 3.3.
 *
 * Valid: `\s*[0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?\s*`, or blank (= "0").
 * Each `-` is read as `.pre.`, then the version splits into segments: runs of digits (numbers)
 * and runs of letters (strings); everything else only separates. Canonical segments: the numeric
 * segments before the first string and the segments from the first string on each lose their
 * trailing zeros (`1.0.0` = `1`, `1.0.a.0` = `1.a`). Comparison walks both lists, a missing
 * segment counting as 0: a string sorts before a number (so `1.0.a` < `1.0` and any version with
 * letters is a prerelease), strings compare bytewise, numbers numerically.
 *
 * Invalid versions sort before valid ones (see npm.ts); {@link compareGem} never throws.
 */
import { compareParsedOrInvalid, compareStrings } from './npm.js';

type Segment = bigint | string;

// Ruby's \s: space, \t, \n, \v, \f, \r.
const ANCHORED = /^[ \t\n\v\f\r]*(?:[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?[ \t\n\v\f\r]*$/;

/** The canonical segments of a gem version, or undefined when Gem::Version would reject it. */
export function parseGemVersion(v: string): readonly Segment[] | undefined {
  if (!ANCHORED.test(v)) return undefined;
  const s = v.trim().replace(/-/g, '.pre.') || '0';
  const segments: Segment[] = (s.match(/[0-9]+|[a-z]+/gi) ?? []).map((x) => (/^[0-9]+$/.test(x) ? BigInt(x) : x));
  const firstString = segments.findIndex((x) => typeof x === 'string');
  const numeric = firstString === -1 ? segments : segments.slice(0, firstString);
  const strings = firstString === -1 ? [] : segments.slice(firstString);
  const trim = (xs: Segment[]): Segment[] => {
    let n = xs.length;
    while (n > 0 && xs[n - 1] === 0n) n--;
    return xs.slice(0, n);
  };
  return [...trim(numeric), ...trim(strings)];
}

export function isValidGem(v: string): boolean {
  return ANCHORED.test(v);
}

/** Gem::Version#prerelease?: the version contains a letter. */
export function isGemPrerelease(v: string): boolean {
  return /[a-zA-Z]/.test(v);
}

export function compareGemSegments(a: readonly Segment[], b: readonly Segment[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? 0n;
    const y = b[i] ?? 0n;
    if (x === y) continue;
    if (typeof x === 'string' && typeof y === 'bigint') return -1;
    if (typeof x === 'bigint' && typeof y === 'string') return 1;
    if (typeof x === 'bigint' && typeof y === 'bigint') return x < y ? -1 : 1;
    return compareStrings(x as string, y as string);
  }
  return 0;
}

export function compareGem(a: string, b: string): number {
  return compareParsedOrInvalid(a, b, parseGemVersion, compareGemSegments);
}
