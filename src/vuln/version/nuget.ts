/**
 * NuGet version comparison, as NuGet.Versioning implements it (`NuGetVersion.TryParse`,
 * `VersionComparer.Default`), documented in "Package versioning" (learn.microsoft.com/nuget).
 *
 * A version is `Major[.Minor[.Patch[.Revision]]][-label(.label)*][+metadata]`, surrounding
 * whitespace trimmed, no `v` prefix. Numeric parts are System.Version components: 0..2^31-1,
 * leading zeros allowed and ignored (`1.01` is `1.1.0`), missing parts are 0 (`1.0.0.0` is
 * `1.0.0`). Release labels are `[0-9A-Za-z-]+`, numeric labels without leading zeros; metadata
 * parts may have leading zeros. (System.Version also accepts a sign or spaces inside a
 * component, e.g. `+1.0`; we do not.)
 *
 * Order: Major, Minor, Patch, Revision numerically; a release sorts after its pre-releases;
 * labels compare left to right, two Int32-parsable labels numerically, an Int32-parsable label
 * before any other, other labels case-insensitively (OrdinalIgnoreCase); more labels sort after
 * fewer when the shared ones are equal. Metadata is ignored. Invalid versions sort before valid
 * ones (see npm.ts); {@link compareNuget} never throws.
 */
import { compareDigits, compareParsedOrInvalid, compareStrings } from './npm.js';

export interface NugetVersion {
  /** Major, minor, patch, revision as decimal strings without leading zeros. */
  readonly parts: readonly [string, string, string, string];
  readonly labels: readonly string[];
  readonly metadata: string | undefined;
}

const INT32_MAX = 2147483647n;
const LABEL = /^[0-9A-Za-z-]+$/;

function stripZeros(s: string): string {
  return s.replace(/^0+(?=.)/, '');
}

export function parseNugetVersion(input: string): NugetVersion | undefined {
  const v = input.trim();
  const m = /^([^-+]*)(?:-([^+]*))?(?:\+(.*))?$/s.exec(v);
  if (!m) return undefined;
  const nums = m[1]!.split('.');
  if (nums.length < 1 || nums.length > 4) return undefined;
  for (const n of nums) if (!/^[0-9]+$/.test(n) || BigInt(n) > INT32_MAX) return undefined;
  const labels = m[2] === undefined ? [] : m[2].split('.');
  for (const l of labels) if (!LABEL.test(l) || /^0[0-9]+$/.test(l)) return undefined;
  if (m[3] !== undefined && !m[3].split('.').every((p) => LABEL.test(p))) return undefined;
  const p = (i: number): string => stripZeros(nums[i] ?? '0');
  return { parts: [p(0), p(1), p(2), p(3)], labels, metadata: m[3] };
}

export function isValidNuget(v: string): boolean {
  return parseNugetVersion(v) !== undefined;
}

/** Int32.TryParse on a label: an optional minus sign and digits, within range. */
function int32(label: string): bigint | undefined {
  if (!/^-?[0-9]+$/.test(label)) return undefined;
  const n = BigInt(label);
  return n > INT32_MAX || n < -INT32_MAX - 1n ? undefined : n;
}

function compareLabel(a: string, b: string): number {
  const x = int32(a);
  const y = int32(b);
  if (x !== undefined && y !== undefined) return x === y ? 0 : x < y ? -1 : 1;
  if (x !== undefined) return -1;
  if (y !== undefined) return 1;
  return compareStrings(a.toUpperCase(), b.toUpperCase());
}

export function compareNugetParsed(a: NugetVersion, b: NugetVersion): number {
  for (let i = 0; i < 4; i++) {
    const c = compareDigits(a.parts[i]!, b.parts[i]!);
    if (c !== 0) return c;
  }
  if (a.labels.length === 0 || b.labels.length === 0) return a.labels.length === b.labels.length ? 0 : a.labels.length === 0 ? 1 : -1;
  const n = Math.min(a.labels.length, b.labels.length);
  for (let i = 0; i < n; i++) {
    const c = compareLabel(a.labels[i]!, b.labels[i]!);
    if (c !== 0) return c;
  }
  return a.labels.length === b.labels.length ? 0 : a.labels.length < b.labels.length ? -1 : 1;
}

export function compareNuget(a: string, b: string): number {
  return compareParsedOrInvalid(a, b, parseNugetVersion, compareNugetParsed);
}
