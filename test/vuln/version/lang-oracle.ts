/**
 * Shared pieces of the language-ecosystem version tests: a seeded generator, pair building, one
 * batch run of a reference implementation (one process, pairs on stdin), and the comparison of
 * our answers with the reference's.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type { TestContext } from 'node:test';

/** mulberry32: a small seeded PRNG, so every run generates the same cases. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/**
 * `count` pairs from versions made by `gen`: a third random pairs, a third pairs from a small
 * pool (so equal and near-equal versions meet often), a third a version against a fresh variant
 * of a near-identical shape. Versions must not contain tabs or newlines.
 */
export function makePairs(rng: Rng, count: number, gen: (rng: Rng) => string): [string, string][] {
  const pool = Array.from({ length: 60 }, () => gen(rng));
  const pairs: [string, string][] = [];
  for (let i = 0; i < count; i++) {
    const k = i % 3;
    if (k === 0) pairs.push([gen(rng), gen(rng)]);
    else if (k === 1) pairs.push([rng.pick(pool), rng.pick(pool)]);
    else {
      const a = rng.pick(pool);
      pairs.push([a, rng.chance(0.2) ? a : gen(rng)]);
    }
  }
  for (const [a, b] of pairs) assert.ok(!/[\t\n\r]/.test(a + b), `generator made a tab or newline: ${JSON.stringify([a, b])}`);
  return pairs;
}

/** Runs `cmd args` once with the pairs as `a\tb` lines on stdin; returns its stdout lines. */
export function runBatch(cmd: string, args: readonly string[], pairs: readonly (readonly [string, string])[]): string[] {
  const input = pairs.map(([a, b]) => `${a}\t${b}\n`).join('');
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} exited ${r.status}: ${r.stderr}`);
  const lines = r.stdout.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  assert.equal(lines.length, pairs.length, `${cmd} answered ${lines.length} lines for ${pairs.length} pairs; stderr: ${r.stderr}`);
  return lines;
}

/** What a reference says about one pair: validity of each side, and the order when both are valid. */
export interface Verdict {
  readonly validA: boolean;
  readonly validB: boolean;
  readonly cmp: number | undefined;
}

/** Parses reference lines of the form `VA VB CMP` (1/0, 1/0, -1/0/1 or x). */
export function parseVerdicts(lines: readonly string[]): Verdict[] {
  return lines.map((l) => {
    const [va, vb, c] = l.split(' ');
    return { validA: va === '1', validB: vb === '1', cmp: c === 'x' || c === undefined ? undefined : Math.sign(Number(c)) };
  });
}

/**
 * Asserts our compare/isValid agree with the reference verdicts on every pair (order checked
 * only where the reference found both valid); reports up to 25 disagreements.
 */
export function assertAgrees(
  t: TestContext,
  pairs: readonly (readonly [string, string])[],
  verdicts: readonly Verdict[],
  compare: (a: string, b: string) => number,
  isValid: (v: string) => boolean,
): void {
  const bad: string[] = [];
  let ordered = 0;
  pairs.forEach(([a, b], i) => {
    const v = verdicts[i]!;
    if (isValid(a) !== v.validA) bad.push(`isValid(${JSON.stringify(a)}) = ${isValid(a)}, reference ${v.validA}`);
    if (isValid(b) !== v.validB) bad.push(`isValid(${JSON.stringify(b)}) = ${isValid(b)}, reference ${v.validB}`);
    if (v.cmp !== undefined) {
      ordered++;
      const ours = compare(a, b);
      if (ours !== v.cmp) bad.push(`compare(${JSON.stringify(a)}, ${JSON.stringify(b)}) = ${ours}, reference ${v.cmp}`);
    }
  });
  t.diagnostic(`${pairs.length} pairs, ${ordered} ordered by the reference`);
  assert.deepEqual([...new Set(bad)].slice(0, 25), []);
  // Most pairs must actually be ordered, or the generator is producing junk.
  assert.ok(ordered > pairs.length * 0.4, `only ${ordered} of ${pairs.length} pairs were valid on both sides`);
}

/** Checks a table `[a, op, b]` with op one of < = >. */
export function assertTable(compare: (a: string, b: string) => number, table: readonly (readonly [string, '<' | '=' | '>', string])[]): void {
  const bad: string[] = [];
  for (const [a, op, b] of table) {
    const want = op === '<' ? -1 : op === '=' ? 0 : 1;
    if (compare(a, b) !== want) bad.push(`${a} ${op} ${b}: got ${compare(a, b)}`);
    if (compare(b, a) !== -want) bad.push(`${b} (reversed) ${a}: got ${compare(b, a)}`);
  }
  assert.deepEqual(bad, []);
}

/** Each list is in strictly ascending order: every earlier element compares below every later one. */
export function assertAscending(compare: (a: string, b: string) => number, list: readonly string[]): void {
  const bad: string[] = [];
  for (let i = 0; i < list.length; i++) {
    for (let j = 0; j < list.length; j++) {
      const want = Math.sign(i - j);
      const got = compare(list[i]!, list[j]!);
      if (got !== want) bad.push(`compare(${list[i]}, ${list[j]}) = ${got}, want ${want}`);
    }
  }
  assert.deepEqual(bad.slice(0, 20), []);
}

/** Antisymmetry and reflexivity on generated pairs (independent of any reference). */
export function assertConsistent(compare: (a: string, b: string) => number, pairs: readonly (readonly [string, string])[]): void {
  const bad: string[] = [];
  for (const [a, b] of pairs) {
    const x = compare(a, b);
    if (![-1, 0, 1].includes(x) || Object.is(x, -0)) bad.push(`compare(${a}, ${b}) = ${x}`);
    if (compare(b, a) !== -x && !(x === 0 && compare(b, a) === 0)) bad.push(`not antisymmetric: ${a} ${b}`);
    if (compare(a, a) !== 0) bad.push(`not reflexive: ${a}`);
  }
  assert.deepEqual(bad.slice(0, 20), []);
}

/** The parts of node-semver the tests use as a reference. */
export interface NodeSemver {
  valid(v: string): string | null;
  compare(a: string, b: string): number;
}

/**
 * node-semver, the npm CLI's own comparator: present in node_modules as a dependency of fastify,
 * not declared in package.json, hence loaded with require and typed here. Skips (fails under
 * CI=true) when it is not installed.
 */
export function loadNodeSemver(t: TestContext): NodeSemver | undefined {
  try {
    return createRequire(import.meta.url)('semver') as NodeSemver;
  } catch {
    const msg = 'npm package semver is not installed: npm install --save-dev semver';
    if (process.env['CI'] === 'true') throw new Error(msg);
    t.skip(msg);
    return undefined;
  }
}

/** Verdicts from node-semver, `valid` deciding validity. */
export function semverVerdicts(semver: NodeSemver, pairs: readonly (readonly [string, string])[], valid: (v: string) => boolean = (v) => semver.valid(v) !== null): Verdict[] {
  return pairs.map(([a, b]) => {
    const validA = valid(a);
    const validB = valid(b);
    return { validA, validB, cmp: validA && validB ? semver.compare(a, b) : undefined };
  });
}

const SMALL_NUMS = ['0', '0', '1', '1', '2', '10', '11', '3'];
const PRE_IDS = ['alpha', 'beta', 'rc', 'alpha', 'beta', '0', '1', '2', '10', '11', '9', 'x-y', '-', 'alpha1', '1a', 'a1', 'Alpha', 'BETA', '0a', 'pre', 'a', 'b', 'Z', 'z', '20230101120000-abcdef123456', '20230102000000-abcdef123456'];
const BAD_PRE_IDS = ['01', '00', '', 'a_b', 'é'];
const BUILD_IDS = ['build', '001', 'sha', '1', 'x-1', 'incompatible', '0'];

/** Semantic-version-shaped strings, mostly valid, with the usual near misses. */
export function genSemverLike(rng: Rng, opts: { readonly prefix?: readonly string[]; readonly lowercase?: boolean } = {}): string {
  const num = (): string => (rng.chance(0.03) ? rng.pick(['01', '00', '007', '123456789']) : rng.pick(SMALL_NUMS));
  let core = `${num()}.${num()}.${num()}`;
  if (rng.chance(0.03)) core = rng.pick([`${num()}.${num()}`, `${num()}`, `${core}.${num()}`, `${num()}..${num()}`]);
  let s = core;
  if (rng.chance(0.55)) {
    const n = 1 + rng.int(3);
    const ids = Array.from({ length: n }, () => (rng.chance(0.02) ? rng.pick(BAD_PRE_IDS) : rng.pick(PRE_IDS)));
    s += `-${ids.join('.')}`;
  }
  if (rng.chance(0.2)) s += `+${Array.from({ length: 1 + rng.int(2) }, () => (rng.chance(0.02) ? '' : rng.pick(BUILD_IDS))).join('.')}`;
  if (opts.lowercase) s = s.toLowerCase();
  const prefix = opts.prefix ?? [''];
  return rng.pick(prefix) + s;
}
