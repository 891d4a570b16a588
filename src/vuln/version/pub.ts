/**
 * Pub (Dart and Flutter packages) version comparison, as the `pub_semver` package orders them
 * (`Version.parse`, `Version.compareTo`), which `dart pub` uses:
 *
 * - `MAJOR.MINOR.PATCH[-PRE][+BUILD]`, identifiers of `[0-9A-Za-z-]`; leading zeros are allowed
 *   and do not count (`01.2.3` equals `1.2.3`); no `v` prefix, no whitespace.
 * - A pre-release sorts before its release. Unlike SemVer, build metadata orders too: a version
 *   with a build sorts *after* the same version without (`1.0.0 < 1.0.0+1`), and builds compare
 *   like pre-releases.
 * - Identifiers compare left to right; an identifier that Dart's `int.tryParse` reads as a number
 *   (digits with an optional sign, or `0x` hex, within 64 bits) compares numerically and before
 *   any other; others compare as strings; a missing identifier sorts first.
 *
 * Invalid versions sort before valid ones (see npm.ts); {@link comparePub} never throws.
 */
import { compareDigits, compareParsedOrInvalid, compareStrings } from './npm.js';

interface PubVersion {
  readonly core: readonly [bigint, bigint, bigint];
  readonly pre: readonly (bigint | string)[];
  readonly build: readonly (bigint | string)[];
}

const ID = '[0-9A-Za-z-]+';
const PUB = new RegExp(`^(\\d+)\\.(\\d+)\\.(\\d+)(?:-(${ID}(?:\\.${ID})*))?(?:\\+(${ID}(?:\\.${ID})*))?$`);
const INT64_MAX = (1n << 63n) - 1n;

/** Dart's `int.tryParse`: decimal with a sign, or `0x` hex; undefined past 64 bits or for anything else. */
function dartInt(s: string): bigint | undefined {
  const m = /^([+-]?)(?:0[xX]([0-9a-fA-F]+)|(\d+))$/.exec(s);
  if (m === null) return undefined;
  const magnitude = m[2] !== undefined ? BigInt(`0x${m[2]}`) : BigInt(m[3]!);
  const value = m[1] === '-' ? -magnitude : magnitude;
  return value > INT64_MAX || value < -INT64_MAX - 1n ? undefined : value;
}

function parts(text: string | undefined): (bigint | string)[] {
  return text === undefined ? [] : text.split('.').map((p) => dartInt(p) ?? p);
}

export function parsePubVersion(v: string): PubVersion | undefined {
  const m = PUB.exec(v);
  if (m === null) return undefined;
  // int.parse of the version core fails past 64 bits: pub rejects such a version.
  const core = [m[1]!, m[2]!, m[3]!].map((n) => BigInt(n));
  if (core.some((n) => n > INT64_MAX)) return undefined;
  return { core: core as [bigint, bigint, bigint], pre: parts(m[4]), build: parts(m[5]) };
}

export function isValidPub(v: string): boolean {
  return parsePubVersion(v) !== undefined;
}

/** pub_semver's `_compareLists`. */
function compareLists(a: readonly (bigint | string)[], b: readonly (bigint | string)[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (typeof x === 'bigint') {
      if (typeof y !== 'bigint') return -1;
      return x < y ? -1 : 1;
    }
    if (typeof y === 'bigint') return 1;
    return compareStrings(x, y);
  }
  return 0;
}

function comparePubParsed(a: PubVersion, b: PubVersion): number {
  for (let i = 0; i < 3; i++) {
    const c = compareDigits(a.core[i]!.toString(), b.core[i]!.toString());
    if (c !== 0) return c;
  }
  if (a.pre.length === 0 && b.pre.length > 0) return 1;
  if (b.pre.length === 0 && a.pre.length > 0) return -1;
  const pre = compareLists(a.pre, b.pre);
  if (pre !== 0) return pre;
  if (a.build.length === 0 && b.build.length > 0) return -1;
  if (b.build.length === 0 && a.build.length > 0) return 1;
  return compareLists(a.build, b.build);
}

export function comparePub(a: string, b: string): number {
  return compareParsedOrInvalid(a, b, parsePubVersion, comparePubParsed);
}
