/**
 * Python version comparison: PEP 440 ("Version Identification and Dependency Specification"),
 * following `packaging.version.Version` (pypa/packaging: VERSION_PATTERN, _parse_letter_version,
 * _parse_local_version, _cmpkey).
 *
 * `[v][N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`, case-insensitive, surrounding whitespace
 * allowed, with the normalizations PEP 440 lists: `alpha`->a, `beta`->b, `c`/`pre`/`preview`->rc,
 * `rev`/`r`->post, `-N` (implicit post release), optional `.`/`-`/`_` separators and implicit 0
 * numbers (`1.0a` = `1.0a0`). Sort key, in order:
 *  - epoch (default 0);
 *  - release with trailing zeros dropped (`1.0` = `1.0.0`);
 *  - pre-release (a < b < rc < none); a dev release of a final (no pre, no post) sorts before
 *    every pre-release of it: 1.0.dev0 < 1.0a0;
 *  - post release (none < post0 < post1 ...);
 *  - dev release (devN < none);
 *  - local version: none < any; segments split on `.`/`-`/`_`, numeric segments compare
 *    numerically and above alphanumeric ones (lower-cased, compared lexically); a longer local
 *    version with an equal prefix sorts after.
 * Numbers have unbounded size. Invalid versions sort before valid ones (see npm.ts);
 * {@link comparePep440} never throws.
 */
import { compareParsedOrInvalid, compareStrings } from './npm.js';

export interface Pep440Version {
  readonly epoch: bigint;
  readonly release: readonly bigint[];
  readonly pre: { readonly letter: 'a' | 'b' | 'rc'; readonly number: bigint } | undefined;
  readonly post: bigint | undefined;
  readonly dev: bigint | undefined;
  readonly local: readonly (bigint | string)[] | undefined;
}

const PATTERN = new RegExp(
  '^\\s*v?' +
    '(?:([0-9]+)!)?' + // epoch
    '([0-9]+(?:\\.[0-9]+)*)' + // release
    '(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?([0-9]+)?)?' + // pre
    '(?:(?:-([0-9]+))|(?:[-_.]?(post|rev|r)[-_.]?([0-9]+)?))?' + // post
    '(?:[-_.]?(dev)[-_.]?([0-9]+)?)?' + // dev
    '(?:\\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?' + // local
    '\\s*$',
  'i',
);

export function parsePep440(v: string): Pep440Version | undefined {
  const m = PATTERN.exec(v);
  if (!m) return undefined;
  let pre: Pep440Version['pre'];
  if (m[3] !== undefined) {
    const l = m[3].toLowerCase();
    const letter = l === 'alpha' || l === 'a' ? 'a' : l === 'beta' || l === 'b' ? 'b' : 'rc';
    pre = { letter, number: BigInt(m[4] ?? '0') };
  }
  let post: bigint | undefined;
  if (m[5] !== undefined) post = BigInt(m[5]);
  else if (m[6] !== undefined) post = BigInt(m[7] ?? '0');
  return {
    epoch: BigInt(m[1] ?? '0'),
    release: m[2]!.split('.').map((x) => BigInt(x)),
    pre,
    post,
    dev: m[8] !== undefined ? BigInt(m[9] ?? '0') : undefined,
    local: m[10] === undefined ? undefined : m[10].split(/[-_.]/).map((x) => (/^[0-9]+$/.test(x) ? BigInt(x) : x.toLowerCase())),
  };
}

export function isValidPep440(v: string): boolean {
  return parsePep440(v) !== undefined;
}

function cmpBig(a: bigint, b: bigint): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

/** Compares optional numbers where absence sorts as `absent` (-1: before all, 1: after all). */
function cmpOpt(a: bigint | undefined, b: bigint | undefined, absent: -1 | 1): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? absent : -absent;
  return cmpBig(a, b);
}

const PRE_RANK = { a: 0, b: 1, rc: 2 } as const;

export function comparePep440Parsed(a: Pep440Version, b: Pep440Version): number {
  let c = cmpBig(a.epoch, b.epoch);
  if (c !== 0) return c;
  const n = Math.max(a.release.length, b.release.length);
  for (let i = 0; i < n; i++) {
    c = cmpBig(a.release[i] ?? 0n, b.release[i] ?? 0n);
    if (c !== 0) return c;
  }
  // Pre-release key: -inf for a bare dev release, +inf for no pre-release, else (letter, number).
  const preKey = (v: Pep440Version): number => (v.pre !== undefined ? 0 : v.post === undefined && v.dev !== undefined ? -1 : 1);
  const ka = preKey(a);
  const kb = preKey(b);
  if (ka !== kb) return ka < kb ? -1 : 1;
  if (a.pre !== undefined && b.pre !== undefined) {
    c = PRE_RANK[a.pre.letter] - PRE_RANK[b.pre.letter] || cmpBig(a.pre.number, b.pre.number);
    if (c !== 0) return Math.sign(c);
  }
  c = cmpOpt(a.post, b.post, -1) || cmpOpt(a.dev, b.dev, 1);
  if (c !== 0) return c;
  if (a.local === undefined || b.local === undefined) return a.local === b.local ? 0 : a.local === undefined ? -1 : 1;
  const m = Math.min(a.local.length, b.local.length);
  for (let i = 0; i < m; i++) {
    const x = a.local[i]!;
    const y = b.local[i]!;
    if (typeof x === 'bigint' && typeof y === 'bigint') c = cmpBig(x, y);
    else if (typeof x === 'bigint') c = 1;
    else if (typeof y === 'bigint') c = -1;
    else c = compareStrings(x, y);
    if (c !== 0) return c;
  }
  return a.local.length === b.local.length ? 0 : a.local.length < b.local.length ? -1 : 1;
}

export function comparePep440(a: string, b: string): number {
  return compareParsedOrInvalid(a, b, parsePep440, comparePep440Parsed);
}
