/**
 * Debian package version comparison, Debian Policy §5.6.12 as dpkg implements it
 * (lib/dpkg/version.c `dpkg_version_compare`, lib/dpkg/parsehelp.c `parseversion`).
 *
 * A version is `[epoch:]upstream_version[-debian_revision]`:
 *  - epoch: the digits before the FIRST colon, compared numerically, 0 when absent;
 *  - debian_revision: everything after the LAST hyphen, "" when absent (which sorts like "0");
 *  - upstream_version: what lies between.
 * Upstream and revision are compared with the alternating algorithm: a run of non-digits is
 * compared character by character where `~` sorts before everything (even the end of the
 * string), then the end, then letters (ASCII order), then all other characters (ASCII order);
 * then a run of digits is compared numerically (leading zeros ignored, any length).
 *
 * Invalid versions never make {@link compareDpkg} throw. Like `dpkg --compare-versions`, which
 * only warns about a bad character or a version not starting with a digit and compares anyway,
 * compareDpkg compares whatever it is given, leniently:
 *  - surrounding whitespace is ignored (dpkg does the same);
 *  - a prefix before the first colon that is not a decimal number (optionally with a leading
 *    `+`, which dpkg's strtol takes too) is not an epoch: the epoch is 0 and the colon stays
 *    part of the upstream version;
 *  - an empty upstream or empty revision is compared as the empty string;
 *  - epochs beyond 2^53 lose precision (dpkg rejects any above INT_MAX).
 * Use {@link isValidDpkgVersion} to reject what dpkg would reject or warn about.
 */

/** The parts of a Debian version. */
export interface DpkgVersion {
  readonly epoch: number;
  readonly upstream: string;
  readonly revision: string;
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** The sort weight of one character of a non-digit run; 0 is the end of the string. */
function order(c: number): number {
  if (Number.isNaN(c) || isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 0x7e /* ~ */) return -1;
  return c + 256;
}

/** dpkg's verrevcmp: compares an upstream version or a revision. */
function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  // charCodeAt past the end is NaN: treated as the end of the string.
  const at = (s: string, k: number): number => s.charCodeAt(k);
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(at(a, i))) || (j < b.length && !isDigit(at(b, j)))) {
      const ac = order(at(a, i));
      const bc = order(at(b, j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (at(a, i) === 0x30) i++;
    while (at(b, j) === 0x30) j++;
    let firstDiff = 0;
    while (isDigit(at(a, i)) && isDigit(at(b, j))) {
      if (firstDiff === 0) firstDiff = at(a, i) - at(b, j);
      i++;
      j++;
    }
    if (isDigit(at(a, i))) return 1;
    if (isDigit(at(b, j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/** Splits a version into epoch, upstream and revision, leniently (see the module comment). */
export function parseDpkgVersion(version: string): DpkgVersion {
  const v = version.trim();
  let epoch = 0;
  let rest = v;
  const colon = v.indexOf(':');
  if (colon > 0 && /^\+?[0-9]+$/.test(v.slice(0, colon))) {
    epoch = Number(v.slice(0, colon));
    rest = v.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf('-');
  if (hyphen < 0) return { epoch, upstream: rest, revision: '' };
  return { epoch, upstream: rest.slice(0, hyphen), revision: rest.slice(hyphen + 1) };
}

/** Compares two parsed Debian versions: -1, 0 or 1. */
export function compareDpkgParsed(a: DpkgVersion, b: DpkgVersion): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  const r = verrevcmp(a.upstream, b.upstream) || verrevcmp(a.revision, b.revision);
  return Math.sign(r);
}

/** Compares two Debian version strings: -1 when a < b, 0 when equal, 1 when a > b. Never throws. */
export function compareDpkg(a: string, b: string): number {
  return compareDpkgParsed(parseDpkgVersion(a), parseDpkgVersion(b));
}

const INT_MAX = 2147483647;

/**
 * Whether dpkg accepts the version without error or warning: a non-empty version with no inner
 * whitespace, an optional decimal epoch (≤ INT_MAX) before the first colon, an upstream version
 * that starts with a digit and holds only alphanumerics and `. + ~ - :`, and an optional
 * non-empty revision after the last hyphen holding only alphanumerics and `. + ~`.
 */
export function isValidDpkgVersion(version: string): boolean {
  const v = version.trim();
  if (v === '' || /\s/.test(v)) return false;
  let rest = v;
  const colon = v.indexOf(':');
  if (colon >= 0) {
    const e = v.slice(0, colon);
    if (!/^\+?[0-9]+$/.test(e) || Number(e) > INT_MAX) return false;
    rest = v.slice(colon + 1);
    if (rest === '') return false;
  }
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen < 0 ? rest : rest.slice(0, hyphen);
  const revision = hyphen < 0 ? undefined : rest.slice(hyphen + 1);
  if (upstream === '' || revision === '') return false;
  if (!/^[0-9][A-Za-z0-9.+~:-]*$/.test(upstream)) return false;
  if (revision !== undefined && !/^[A-Za-z0-9.+~]+$/.test(revision)) return false;
  return true;
}
