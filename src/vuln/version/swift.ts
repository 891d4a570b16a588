/**
 * SwiftURL (Swift Package Manager) version comparison, as SwiftPM's `Version` orders the tags it
 * resolves (`Version(tag:)`, `Version.<`):
 *
 * - an optional `v` (SwiftPM accepts tags `v1.2.3`), then exactly three numeric parts (leading
 *   zeros allowed, compared by value), `-` pre-release identifiers of ASCII letters, digits and
 *   `-` (empty ones allowed), `+` build metadata, which does not take part in the order;
 * - a pre-release sorts before its release; pre-release identifiers compare left to right, where
 *   two that differ as text but both read as integers decide by value (and `01` against `1` decides
 *   nothing further: SwiftPM returns at the first differing pair), an integer sorts before text,
 *   text compares by code unit; the shorter list of equal prefix sorts first.
 *
 * OSV's SwiftURL ranges are SemVer; for versions valid in both, this is SemVer precedence.
 * Invalid versions sort before valid ones (see npm.ts); {@link compareSwift} never throws.
 */
import { compareDigits, compareParsedOrInvalid, compareStrings } from './npm.js';

interface SwiftVersion {
  readonly core: readonly [string, string, string];
  readonly pre: readonly string[] | undefined;
}

/** Swift's `Int(String)`: an optional sign and decimal digits within 64 bits. */
function swiftInt(s: string): bigint | undefined {
  if (!/^[+-]?\d{1,19}$/.test(s)) return undefined;
  const n = BigInt(s);
  return n > (1n << 63n) - 1n || n < -(1n << 63n) ? undefined : n;
}

export function parseSwiftVersion(v: string): SwiftVersion | undefined {
  const s = v.startsWith('v') ? v.slice(1) : v;
  if (!/^[\x21-\x7e]*$/.test(s)) return undefined;
  const plus = s.indexOf('+');
  const head = plus < 0 ? s : s.slice(0, plus);
  const dash = head.indexOf('-');
  const core = (dash < 0 ? head : head.slice(0, dash)).split('.');
  if (core.length !== 3 || !core.every((c) => /^\d+$/.test(c))) return undefined;
  const pre = dash < 0 ? undefined : head.slice(dash + 1).split('.');
  if (pre !== undefined && !pre.every((p) => /^[0-9A-Za-z-]*$/.test(p))) return undefined;
  if (plus >= 0 && !/^[0-9A-Za-z.-]*$/.test(s.slice(plus + 1))) return undefined;
  const strip = (n: string): string => n.replace(/^0+(?=.)/, '');
  return { core: [strip(core[0]!), strip(core[1]!), strip(core[2]!)], pre };
}

export function isValidSwift(v: string): boolean {
  return parseSwiftVersion(v) !== undefined;
}

function compareSwiftParsed(a: SwiftVersion, b: SwiftVersion): number {
  for (let i = 0; i < 3; i++) {
    const c = compareDigits(a.core[i]!, b.core[i]!);
    if (c !== 0) return c;
  }
  if (a.pre === undefined || b.pre === undefined) return a.pre === b.pre ? 0 : a.pre === undefined ? 1 : -1;
  const n = Math.min(a.pre.length, b.pre.length);
  for (let i = 0; i < n; i++) {
    const x = a.pre[i]!;
    const y = b.pre[i]!;
    if (x === y) continue;
    const xn = swiftInt(x);
    const yn = swiftInt(y);
    if (xn !== undefined && yn !== undefined) return xn === yn ? 0 : xn < yn ? -1 : 1;
    if (xn !== undefined) return -1;
    if (yn !== undefined) return 1;
    return compareStrings(x, y);
  }
  return a.pre.length === b.pre.length ? 0 : a.pre.length < b.pre.length ? -1 : 1;
}

export function compareSwift(a: string, b: string): number {
  return compareParsedOrInvalid(a, b, parseSwiftVersion, compareSwiftParsed);
}
