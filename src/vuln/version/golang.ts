/**
 * Go module version comparison, as golang.org/x/mod/semver (`semver.Compare`, `semver.IsValid`)
 * and the Go Modules Reference ("Versions", "Pseudo-versions", "Compatibility with non-module
 * repositories") define it.
 *
 * A version is `vMAJOR[.MINOR[.PATCH[-PRERELEASE][+BUILD]]]`: the `v` is required, numbers have
 * no leading zeros, and the shorthands `v1` and `v1.2` mean `v1.0.0` and `v1.2.0` (x/mod accepts
 * them; go.mod requires the canonical form). Ordering is SemVer precedence: build metadata, and
 * so `+incompatible`, is ignored. Pseudo-versions need no special case: they ARE pre-releases
 * whose identifiers make them sort correctly —
 *   vX.0.0-yyyymmddhhmmss-abcdefabcdef      (no earlier tag: the identifier is alphanumeric)
 *   vX.Y.Z-pre.0.yyyymmddhhmmss-abcdef...   (after vX.Y.Z-pre)
 *   vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdef...   (after release vX.Y.Z: `0` sorts before any
 *                                            other pre-release of vX.Y.(Z+1))
 * and the fixed-width timestamp orders pseudo-versions of one base by commit time.
 *
 * Like x/mod, an invalid version compares less than every valid one and equal to every other
 * invalid one; {@link compareGo} never throws.
 */
import { compareSemVer, parseSemVerStrict, type SemVer } from './npm.js';

const SHORT = /^v(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?$/;

export function parseGoVersion(v: string): SemVer | undefined {
  if (!v.startsWith('v')) return undefined;
  const short = SHORT.exec(v);
  if (short) return { major: short[1]!, minor: short[2] ?? '0', patch: '0', prerelease: [], build: [] };
  return parseSemVerStrict(v.slice(1));
}

export function isValidGo(v: string): boolean {
  return parseGoVersion(v) !== undefined;
}

export function compareGo(a: string, b: string): number {
  const pa = parseGoVersion(a);
  const pb = parseGoVersion(b);
  if (pa === undefined || pb === undefined) return pa === pb ? 0 : pa === undefined ? -1 : 1;
  return compareSemVer(pa, pb);
}

/** x/mod/module's pseudoVersionRE. */
const PSEUDO = /^v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

/** Whether `v` is a pseudo-version (x/mod/module.IsPseudoVersion). */
export function isGoPseudoVersion(v: string): boolean {
  return (v.match(/-/g) ?? []).length >= 2 && isValidGo(v) && PSEUDO.test(v);
}
