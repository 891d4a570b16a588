/**
 * RPM version comparison: rpmvercmp (rpmio/rpmvercmp.c) as in rpm ≥ 4.15, and EVR comparison
 * as `rpm.labelCompare` / rpmVersionCompare do it.
 *
 * rpmvercmp walks both strings in segments. Characters other than ASCII letters, digits, `~`
 * and `^` only separate segments (so `1.0` equals `1_0`). At each step:
 *  - `~` (pre-release) sorts before everything, including the end of the string:
 *    `1.0~rc1 < 1.0`;
 *  - `^` (post-release) sorts after the end of the string but before any other segment:
 *    `1.0 < 1.0^git1 < 1.0.1`;
 *  - a digit segment is compared numerically (leading zeros dropped, any length) and a
 *    letter segment with strcmp; a digit segment is newer than a letter segment;
 *  - when one string runs out, the one with something left is newer.
 *
 * Nothing here throws: every string, even an empty one, is compared as rpm would compare it.
 * {@link isValidRpmVersion} tells whether a version or release is one rpm would build.
 */

/** An RPM epoch-version-release. A missing epoch is 0; a missing release is older than any release. */
export interface RpmEvr {
  readonly epoch?: number | string | undefined;
  readonly version: string;
  readonly release?: string | undefined;
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const TILDE = 0x7e;
const CARET = 0x5e;

/** rpmvercmp: -1 when a is older than b, 0 when equal, 1 when newer. */
export function compareRpm(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const at = (s: string, k: number): number => (k < s.length ? s.charCodeAt(k) : 0);
  const sep = (c: number): boolean => c !== 0 && !isDigit(c) && !isAlpha(c) && c !== TILDE && c !== CARET;
  while (i < a.length || j < b.length) {
    while (sep(at(a, i))) i++;
    while (sep(at(b, j))) j++;
    const ca = at(a, i);
    const cb = at(b, j);

    // The tilde sorts before everything else.
    if (ca === TILDE || cb === TILDE) {
      if (ca !== TILDE) return 1;
      if (cb !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    // The caret sorts after the end but before anything else.
    if (ca === CARET || cb === CARET) {
      if (ca === 0) return -1;
      if (cb === 0) return 1;
      if (ca !== CARET) return 1;
      if (cb !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (ca === 0 || cb === 0) break;

    const numeric = isDigit(ca);
    const inSegment = numeric ? isDigit : isAlpha;
    let ei = i;
    let ej = j;
    while (ei < a.length && inSegment(a.charCodeAt(ei))) ei++;
    while (ej < b.length && inSegment(b.charCodeAt(ej))) ej++;
    let sa = a.slice(i, ei);
    let sb = b.slice(j, ej);
    // b's segment is of the other kind: a numeric segment is newer than an alphabetic one.
    if (sb === '') return numeric ? 1 : -1;
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/**
 * Parses `[epoch:]version[-release]` as rpm's parseEVR does: the epoch is the run of digits
 * before a colon that ends it (an empty run is epoch 0), the release what follows the LAST
 * hyphen; without a hyphen there is no release. Surrounding whitespace is dropped first.
 */
export function parseRpmEvr(evr: string): { epoch?: number; version: string; release?: string } {
  let rest = evr.trim();
  let epoch: number | undefined;
  const m = /^([0-9]*):/.exec(rest);
  if (m !== null) {
    epoch = m[1] === '' ? 0 : Number(m[1]);
    rest = rest.slice(m[0].length);
  }
  const hyphen = rest.lastIndexOf('-');
  const out: { epoch?: number; version: string; release?: string } = { version: hyphen < 0 ? rest : rest.slice(0, hyphen) };
  if (epoch !== undefined) out.epoch = epoch;
  if (hyphen >= 0) out.release = rest.slice(hyphen + 1);
  return out;
}

function epochString(e: number | string | undefined): string {
  if (e === undefined || e === '') return '0';
  return typeof e === 'number' ? String(Math.trunc(e)) : e;
}

/**
 * Compares two EVRs as rpm's rpmverCmp (and python's rpm.labelCompare) do: epoch (missing = 0),
 * then version, then release, each with rpmvercmp, except that a missing release is older than
 * any present one (even "" or "~") and two missing releases are equal.
 */
export function compareRpmEvr(a: RpmEvr, b: RpmEvr): number {
  const r = compareRpm(epochString(a.epoch), epochString(b.epoch)) || compareRpm(a.version, b.version);
  if (r !== 0) return r;
  if (a.release === undefined || b.release === undefined) return a.release === b.release ? 0 : a.release === undefined ? -1 : 1;
  return compareRpm(a.release, b.release);
}

/** Compares two `[epoch:]version[-release]` strings. */
export function compareRpmEvrString(a: string, b: string): number {
  return compareRpmEvr(parseRpmEvr(a), parseRpmEvr(b));
}

/**
 * Whether a version or release is one rpmbuild accepts: non-empty, made of ASCII letters,
 * digits and `. _ + ~ ^` (no `-`, which separates the release, and no `:`).
 */
export function isValidRpmVersion(version: string): boolean {
  return /^[A-Za-z0-9._+~^]+$/.test(version);
}

/** Whether a `[epoch:]version[-release]` string is well formed (decimal epoch, valid parts). */
export function isValidRpmEvr(evr: string): boolean {
  const m = /^(?:([0-9]+):)?([^:-]+)(?:-([^:-]+))?$/.exec(evr);
  return m !== null && isValidRpmVersion(m[2]!) && (m[3] === undefined || isValidRpmVersion(m[3]));
}
