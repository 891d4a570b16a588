/**
 * ConanCenter version comparison, as OSV's tooling compares ConanCenter versions in ECOSYSTEM
 * ranges: osv-scanner's and osv-scalibr's `semantic` package parses them as "semver-like" (the
 * osv.dev service itself implements no order for ConanCenter). Every string is a version:
 *
 * - a leading `v` is dropped; then runs of ASCII digits separated by `.` are the numeric
 *   components, until the first other character, which starts the "build" string (`1.1.1w` →
 *   components 1, 1, 1, build `w`; `1.2.3-rc.1` → build `-rc.1`);
 * - only three components count: further ones are appended to the build string as `.N`;
 * - components compare numerically, missing ones as 0 (`1.2` equals `1.2.0`);
 * - then the build strings, SemVer-style: what follows `+` is dropped, a leading `-` too; an
 *   empty build sorts after a non-empty one (so, as in OSV, `1.1.1w` sorts *before* `1.1.1`);
 *   dot-separated identifiers compare numerically when both are integers, an integer before
 *   text, text by code unit, and the longer list of equal prefix after.
 *
 * {@link compareConan} never throws and orders any two strings.
 */
import { compareDigits, compareStrings } from './npm.js';

interface ConanVersion {
  readonly components: readonly string[];
  readonly build: string;
}

export function parseConanVersion(v: string): ConanVersion {
  const s = v.startsWith('v') ? v.slice(1) : v;
  const components: string[] = [];
  let current = '';
  let build: string | undefined;
  for (const c of s) {
    if (build !== undefined) build += c;
    else if (c >= '0' && c <= '9') current += c;
    else {
      if (current !== '') components.push(current.replace(/^0+(?=.)/, ''));
      current = '';
      if (c !== '.') build = c;
    }
  }
  if (build === undefined && current !== '') components.push(current.replace(/^0+(?=.)/, ''));
  const extra = components.slice(3).map((n) => `.${n}`).join('');
  return { components: components.slice(0, 3), build: (build ?? '') + extra };
}

/** Every string is a ConanCenter version to OSV; the check is there for symmetry with the other ecosystems. */
export function isValidConan(v: string): boolean {
  return v.trim() !== '';
}

const INTEGER = /^[+-]?\d+$/;

function integerCompare(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x === y ? 0 : x < y ? -1 : 1;
}

function compareBuilds(a: string, b: string): number {
  const x = a.split('+')[0]!.replace(/^-/, '');
  const y = b.split('+')[0]!.replace(/^-/, '');
  if (x === '' || y === '') return x === y ? 0 : x === '' ? 1 : -1;
  const xs = x.split('.');
  const ys = y.split('.');
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    const p = xs[i]!;
    const q = ys[i]!;
    const pn = INTEGER.test(p);
    const qn = INTEGER.test(q);
    const c = pn && qn ? integerCompare(p, q) : pn ? -1 : qn ? 1 : compareStrings(p, q);
    if (c !== 0) return c;
  }
  return xs.length === ys.length ? 0 : xs.length < ys.length ? -1 : 1;
}

export function compareConan(a: string, b: string): number {
  const x = parseConanVersion(a);
  const y = parseConanVersion(b);
  for (let i = 0; i < Math.max(x.components.length, y.components.length); i++) {
    const c = compareDigits(x.components[i] ?? '0', y.components[i] ?? '0');
    if (c !== 0) return c;
  }
  return compareBuilds(x.build, y.build);
}
