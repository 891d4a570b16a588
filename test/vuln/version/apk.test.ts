/**
 * Alpine version comparison. No apk is installable on Debian, so there is no reference process:
 * the checks are apk-tools' own test vectors, hand-checked pairs from its version grammar, and
 * properties that must hold on real Alpine versions (test/fixtures/vuln/apk-versions.json, from
 * the Alpine security database), including agreement with an independent, key-based
 * formulation of the same rules.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { compareApk, isValidApkVersion } from '../../../src/vuln/version/index.js';

interface Fixture {
  readonly source: string;
  readonly packages: ReadonlyArray<{ branch: string; repo: string; name: string; fixed: string[] }>;
}
const FIXTURE = JSON.parse(readFileSync(new URL('../../../../test/fixtures/vuln/apk-versions.json', import.meta.url), 'utf8')) as Fixture;

function check(pairs: ReadonlyArray<readonly [string, '<' | '=' | '>', string]>): void {
  const want = { '<': -1, '=': 0, '>': 1 } as const;
  const wrong: string[] = [];
  for (const [a, op, b] of pairs) {
    if (compareApk(a, b) !== want[op]) wrong.push(`${a} ${op} ${b}: got ${compareApk(a, b)}`);
    if (compareApk(b, a) !== 0 - want[op]) wrong.push(`${b} vs ${a} (reversed): got ${compareApk(b, a)}`);
  }
  assert.deepEqual(wrong, []);
}

test('the documented ordering of suffixes, letters, numbers and revisions', () => {
  // A revision counts after the suffixes: 1.0_p1 is a newer upstream than any 1.0-rN.
  const chain = ['1.0_alpha', '1.0_alpha1', '1.0_beta', '1.0_pre', '1.0_rc', '1.0_rc1', '1.0', '1.0-r1', '1.0-r2', '1.0_cvs', '1.0_svn', '1.0_git', '1.0_hg', '1.0_p1', '1.0_p1-r1', '1.0a', '1.0b', '1.0.1', '1.9', '1.10'];
  for (let i = 0; i < chain.length; i++) {
    for (let j = 0; j < chain.length; j++) assert.equal(compareApk(chain[i]!, chain[j]!), Math.sign(i - j), `${chain[i]} vs ${chain[j]}`);
  }
  check([
    ['1.0_p1', '<', '1.0_p2'],
    ['1.0_p9', '<', '1.0_p10'],
    ['1.0_rc1-r5', '<', '1.0-r0'],
    ['1.0', '=', '1.0'],
    ['1.0-r0', '>', '1.0'], // a revision, even r0, is more than none
    ['1.02', '<', '1.1'], // leading zero: string comparison
    ['1.0', '<', '1.00'],
    ['1.01', '<', '1.010'],
    ['01.0', '=', '1.0'], // the first number is always numeric
    ['1.0~abc', '<', '1.0~abd'],
    ['1.0~abc', '>', '1.0'],
    ['1.0~abc', '<', '1.0.1'],
    ['1.0~abc-r1', '>', '1.0~abc-r0'],
    ['18446744073709551617', '>', '18446744073709551616'],
  ]);
});

// Pairs from apk-tools' test vectors (alpinelinux/apk-tools, test/version.data, GPL-2.0-only),
// a selection covering every token kind and the Gentoo-style leading-zero rule.
const APK_TOOLS_VECTORS: ReadonlyArray<readonly [string, '<' | '=' | '>', string]> = (
  [
    '2.34 > 0.1.0_alpha', '23_foo > 4_beta', '1.0 < 1.0bc', '0.1.0_alpha = 0.1.0_alpha', '0.1.0_alpha2 > 0.1.0_alpha',
    '1.1 > 1.1_alpha1', '1.2.1 > 1.2', '1.2 < 1.3_alpha', '0.7.0 < 0.8_beta1', '2.3.0b-r1 < 2.3.0b-r2', '0.12.3 > 0.12',
    '0.12 < 0.13_beta1', '1.2.11 < 1.2.12.1', '3.1_p16 < 3.1_p17', '3.1_p17 > 1.06-r6', '1.06-r6 < 006', '006 > 1.0.0',
    '1.2.2-r1 > 1.2.2', '2.59 < 20050718-r1', '3.9.8-r5 > 2.01.01_alpha10', '2.01.01_alpha10 > 0.94', '1.0 > 0.99.3.20040818',
    '1.39 > 1.00_beta2', '7.15.1-r1 > 1.02', '1.02 < 1.03-r1', '4.2.52_p2-r1 < 4.2.52_p4-r2', '4.2.52_p4-r2 > 1.02.07',
    '1.02.07 < 1.02.10-r1', '2.18.3-r10 > 1.05-r18', '1.05-r18 < 1.05-r19', '2.38 < 20050405', '20060720 > 3.0.20060720',
    '2.1.9.200602141850 > 1.6', '2.5.1-r8 < 2.5.1a-r1', '1.3.5-r10 > 1.3.5-r8', '20040401 > 2.0.0_rc3-r1',
    '3.0.0-r2 < 021109-r3', '021109-r3 < 20060512', '0.9.16-r1 < 3.9_pre20060124', '3.9_pre20060124 > 0.01', '0.01 < 0.06',
    '1.1.7 < 6b-r7', '0.10.0-r1 > 0.10.0', '0.10.0 < 0.10.1_rc1', '0.9.11 < 394', '2.0.2 > 1.1a', '1.1a < 1.3a',
    '1.0-r1 > 0.15.1b', '0.15.1b-r2 > 0.15.1b', '0.0.31 < 0.0.50', '1.1.3 < 1.1.20', '22.7-r1 < 22.7.3-r1', '22.7.3-r1 > 22.7',
    '22.7 > 2.1_pre20', '2.1_pre20 < 2.1_pre26', '2.10.1 > 02.08.01b', '02.08.01b < 4.77', '5.1 > 2.02.06', '2.02.06 < 2.02.10',
    '8.1.2.20050715-r1 < 20030215', '3.81 > 1.6d', '1.6d > 1.2.07.8', '1.2.07.8 < 1.2.12.04', '1.2.12.04 < 1.2.12.05',
    '1.07-r1 < 1.07.5', '1.07.5 > 1.07', '1.07 < 1.19', '0.1_pre20060810 < 0.1_pre20060817', '3.3.17 > 0.59s-r11',
    '0.59s-r11 < 0.65', '1.60-r12 < 110-r8', '4.01 < 4.20', '4.20 > 0.20070118', '0.20070118 < 0.20070207_rc1',
    '0.20070207_rc1 < 1.0', '2.3.30-r2 < 3.7_p1', '4.3_p2-r1 < 4.3_p2-r5', '4.5_p1-r1 > 4.5_p1', '4.5_p1 > 0.9.8c-r1',
    '0.9.8c-r1 < 0.9.8d', '2.2.3-r2 < 013', '013 < 014-r1', '1.7 < 1.7b', '1.8.5 < 1.8.5_p2', '0.98 < 1.00',
    '2.9.11_pre20051101-r2 < 2.9.11_pre20051101-r3', '2.9.11_pre20051101-r3 > 2.9.11_pre20051101', '1.6.8_p12-r1 > 1.6.8_p9-r2',
    '4.09-r1 > 1.3.1', '2.25b-r5 < 2.25b-r6', '1.4_p12-r2 < 1.4_p12-r5', '0.9.28-r2 < 0.9.28.1', '0.9.28.1 < 087-r1',
    '104-r11 > 104-r9', '1.2.5_rc2 > 0.1', '20040406-r1 > 2.12r-r4', '2.12r-r4 < 2.12r-r5', '7.0.17 < 7.0.174',
    '1.1.1-r3 > 0.3.4_pre20061029', '1.2.9.1-r1 > 1.2.9.1', '1.3-r0 < 1.3.1-r0', '1.3_pre1-r1 < 1.3.2', '1.0_p10-r0 > 1.0_p9-r0',
    '0.1.0_alpha_pre2 < 0.1.0_alpha', '1.0.0_pre20191002222144-r0 < 1.0.0_pre20210530193627-r0', '1.3.5-r9 > 1.0',
    '12.17.9 > 1.1.12', '2.6.1.3-r1 > 2.6.1.3',
  ] as const
).map((l) => l.split(' ') as unknown as readonly [string, '<' | '=' | '>', string]);

test("apk-tools' own test vectors", () => {
  assert.ok(APK_TOOLS_VECTORS.length > 100);
  check(APK_TOOLS_VECTORS);
});

test('validity is apk_version_validate, and invalid versions compare without throwing', () => {
  for (const v of ['1', '1.0', '1.0a', '1.0_rc1', '1.0_alpha_pre2', '1.0_p1-r3', '1.0~deadbeef-r1', '006', '1.0a_p1', '2.34-r10']) assert.ok(isValidApkVersion(v), v);
  for (const v of ['', 'a', '.1', '1.', '1..0', '1.0bc', '1.0-1', '1.0-r', '1.0_foo', '1.0_RC1', '1.0~', '1.0~XYZ', '1.0a1', '1.0-r1-r2', '1.0-r1_p1', '1.0 ', 'v1.0']) {
    assert.ok(!isValidApkVersion(v), v);
  }
  // As in apk: comparison stops at the first invalid part, which sorts below the end of a valid
  // string; what follows it does not count.
  check([
    ['1.0b', '>', '1.0bc'],
    ['1.0bc', '=', '1.0bd'],
    ['1.0-1', '<', '1.0'],
    ['1.0-1', '>', '0.9'],
    ['', '=', 'abc'],
    ['', '<', '0'],
    ['1.0_foo', '<', '1.0'],
    ['1.0_foo', '>', '1.0_rc1'], // a pre-release suffix is below even an invalid part
  ]);
});

// ---- real data ----

const ALL = [...new Set(FIXTURE.packages.flatMap((p) => p.fixed))].sort();
const VALID = ALL.filter(isValidApkVersion);

/** Malformed fixed versions that really are in the Alpine secdb (typos such as `4.8.0.-r1`). */
const KNOWN_MALFORMED = ['0.12.5.-r0', '0.8.21.r2', '1.0.4.-r0', '1.11-20-r0', '1.18.-r2', '1.7.5.-r1', '10.2.22.r0', '10.2.24.r0', '10.2.26.r0', '2.15.r-r1', '2.7.16-33', '4.10-1-r1', '4.8.0.-r1', '57-1-r2', '6.6.2p1-r0'];

/**
 * An independent formulation of apk's order for valid versions: each version becomes a list of
 * keys compared lexicographically, where a key's first element ranks its kind of part the way apk
 * ranks parts of different kinds at the same position.
 */
const PRE = ['alpha', 'beta', 'pre', 'rc'];
const POST = ['cvs', 'svn', 'git', 'hg', 'p'];
type Key = Array<number | string | bigint>;
function keyOf(v: string): Key[] {
  const m = /^([0-9]+)((?:\.[0-9]+)*)([a-z]?)((?:_[a-z]+[0-9]*)*)(?:~([0-9a-f]+))?(?:-r([0-9]+))?$/.exec(v);
  assert.ok(m, `not a valid apk version: ${v}`);
  const keys: Key[] = [[9, BigInt(m[1]!)]];
  for (const d of m[2]!.split('.').slice(1)) keys.push(d.startsWith('0') ? [8, 0, d] : [8, 1, BigInt(d)]);
  if (m[3]) keys.push([7, m[3]]);
  for (const s of m[4]!.split('_').slice(1)) {
    const [, word, num] = /^([a-z]+)([0-9]*)$/.exec(s)!;
    keys.push(PRE.includes(word!) ? [0, PRE.indexOf(word!)] : [6, 10 + POST.indexOf(word!)]);
    if (num) keys.push([5, BigInt(num)]);
  }
  if (m[5] !== undefined) keys.push([4, m[5]]);
  if (m[6] !== undefined) keys.push([3, BigInt(m[6])]);
  keys.push([2]); // the end
  return keys;
}
function compareKeys(a: Key[], b: Key[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    for (let k = 0; k < Math.max(x.length, y.length); k++) {
      if (x[k] === undefined || y[k] === undefined) return x[k] === undefined ? -1 : 1;
      if (x[k]! < y[k]!) return -1;
      if (x[k]! > y[k]!) return 1;
    }
  }
  return Math.sign(a.length - b.length);
}

test('the fixture is real data, and only the known typos in it are invalid', () => {
  assert.match(FIXTURE.source, /alpine-secdb/);
  assert.ok(ALL.length > 300, `${ALL.length} versions`);
  assert.deepEqual(ALL.filter((v) => !isValidApkVersion(v)), KNOWN_MALFORMED);
});

test('on real versions, apk order is a total order that agrees with the key-based formulation', () => {
  const keys = new Map(VALID.map((v) => [v, keyOf(v)]));
  const wrong: string[] = [];
  for (let i = 0; i < VALID.length; i++) {
    const a = VALID[i]!;
    if (compareApk(a, a) !== 0) wrong.push(`${a} is not equal to itself`);
    for (let j = i + 1; j < VALID.length; j++) {
      const b = VALID[j]!;
      const ab = compareApk(a, b);
      if (ab !== 0 - compareApk(b, a)) wrong.push(`${a} vs ${b}: not antisymmetric`);
      if (ab !== compareKeys(keys.get(a)!, keys.get(b)!)) wrong.push(`${a} vs ${b}: ${ab}, keys say ${compareKeys(keys.get(a)!, keys.get(b)!)}`);
      if (ab === 0) wrong.push(`${a} = ${b}: distinct real versions should differ`);
    }
  }
  assert.deepEqual(wrong.slice(0, 20), []);
  // Transitivity: the sorted sequence is increasing between any two positions, not only neighbours.
  const sorted = [...ALL].sort(compareApk);
  let seed = 7;
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
  for (let k = 0; k < 20000; k++) {
    const i = rand(sorted.length);
    const j = rand(sorted.length);
    if (i < j) assert.ok(compareApk(sorted[i]!, sorted[j]!) <= 0, `${sorted[i]} after ${sorted[j]}`);
  }
  for (let k = 0; k < 20000; k++) {
    const [a, b, c] = [ALL[rand(ALL.length)]!, ALL[rand(ALL.length)]!, ALL[rand(ALL.length)]!];
    if (compareApk(a, b) <= 0 && compareApk(b, c) <= 0) assert.ok(compareApk(a, c) <= 0, `${a} ≤ ${b} ≤ ${c} but not ${a} ≤ ${c}`);
  }
});

test("each package's fixed versions in a branch: apk order reproduces the maintainers' newest-first lists", () => {
  let lists = 0;
  let reproduced = 0;
  const wrong: string[] = [];
  for (const p of FIXTURE.packages) {
    const fixed = p.fixed.filter(isValidApkVersion);
    if (fixed.length < 2) continue;
    lists++;
    const newestFirst = (cmp: (a: string, b: string) => number): boolean => fixed.every((v, i) => i === 0 || cmp(fixed[i - 1]!, v) > 0);
    const ours = newestFirst(compareApk);
    if (ours) reproduced++;
    // Where the listing is out of order, it is the data's doing (entries appended at the end):
    // the independent formulation sees the same.
    if (ours !== newestFirst((a, b) => compareKeys(keyOf(a), keyOf(b)))) wrong.push(`${p.branch}/${p.repo} ${p.name}: ${fixed.join(', ')}`);
  }
  assert.deepEqual(wrong, []);
  assert.ok(lists > 150 && reproduced / lists > 0.75, `${reproduced} of ${lists} lists reproduced`);
  // A plain string order, for contrast, gets real lists wrong (1.10 vs 1.9, 1.0_rc1 vs 1.0).
  const naive = FIXTURE.packages.filter((p) => p.fixed.length > 1 && p.fixed.every((v, i) => i === 0 || p.fixed[i - 1]! > v)).length;
  assert.ok(naive < reproduced, `string order reproduces ${naive}, apk order ${reproduced}`);
});
