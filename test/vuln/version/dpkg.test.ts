/**
 * Debian version comparison, checked differentially against the real references: Debian's
 * python3-apt (`apt_pkg.version_compare`, one batch process for thousands of generated pairs)
 * and `dpkg --compare-versions` (a few hundred pairs, one shell loop).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { compareDpkg, isValidDpkgVersion, parseDpkgVersion } from '../../../src/vuln/version/index.js';
import { requirePythonModule, requireTools } from '../../helpers/env.js';
import { Rng } from './lang-oracle.js';

const PYTHON = '/usr/bin/python3'; // Debian's python, which has apt_pkg (python3 on PATH may not)

/** The shared seeded PRNG (lang-oracle's mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

function generator(seed: number) {
  const r = rng(seed);
  const int = (n: number): number => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const digits = (): string => pick(['0', '1', '2', '9', '10', '01', '001', '12', '100', '2023', '20230101', String(int(1000))]);
  const letters = (): string => pick(['a', 'b', 'z', 'A', 'Z', 'rc', 'beta', 'alpha', 'git', 'dfsg', 'ubuntu', 'deb', 'b', 'svn', 'pre', 'Bb']);
  /** A run of version characters that may start anywhere (not only with a digit). */
  const body = (seps: readonly string[], max: number): string => {
    let s = '';
    for (let k = 0, n = 1 + int(max); k < n; k++) {
      const x = r();
      if (x < 0.45) s += digits();
      else if (x < 0.7) s += letters();
      else s += pick(seps);
    }
    return s;
  };
  const upstream = (withHyphen: boolean, withColon: boolean): string => {
    const seps = ['.', '.', '.', '+', '~', '~'];
    if (withHyphen) seps.push('-');
    if (withColon) seps.push(':');
    return digits() + body(seps, 6);
  };
  const revision = (): string => pick(['1', '2', '0', '1', '10']) + (r() < 0.5 ? '' : body(['.', '+', '~'], 4));
  const real = (): string =>
    pick([
      `1:2.38.1-5+deb12u${int(5)}`,
      `2.36-9+deb12u${int(6)}`,
      `1.0~rc${int(3)}-1`,
      `0.0~git2023010${int(9)}.abcdef-1`,
      `3.0.${int(15)}-1~deb12u${int(3)}`,
      `1:9.18.${int(30)}-1~deb12u${int(3)}`,
      `2.${int(40)}+dfsg-${int(3)}`,
      `7.88.1-10+deb12u${int(8)}`,
      `1.2.13.dfsg-1`,
      `252.${int(30)}-1~deb12u1`,
      `1:1.2.13.dfsg-1ubuntu${int(3)}`,
      `5.2.15-2+b${int(4)}`,
      `2.9.14+dfsg-1.3~deb12u${int(2)}`,
      `1.1.1n-0+deb11u${int(6)}`,
      `0.9.8-1ubuntu0.${int(3)}`,
      `20230311`,
      `2:8.2.3995-1ubuntu2.${int(20)}`,
      `4.19.0~rc${int(4)}`,
    ]);
  const version = (): string => {
    if (r() < 0.25) return real();
    const epoch = r() < 0.3 ? `${pick(['0', '1', '2', '10', '00', '01'])}:` : '';
    const hasRev = r() < 0.6;
    return `${epoch}${upstream(hasRev, epoch !== '')}${hasRev ? `-${revision()}` : ''}`;
  };
  /** b from a by a small change, so pairs are close and the comparison gets deep. */
  const mutate = (a: string): string => {
    const ops: Array<() => string> = [
      () => `${a}~`,
      () => `${a}~${letters()}`,
      () => `${a}.0`,
      () => `${a}+${letters()}1`,
      () => `${a}a`,
      () => a.replace(/[0-9]+/, (m) => String(Math.max(0, Number(m) + pick([-1, 1])))),
      () => a.replace(/(^|[^0-9])([0-9])/, '$10$2'),
      () => a.replace(/~/, ''),
      () => (a.includes(':') ? a.replace(/^[0-9]+:/, '') : `1:${a}`),
      () => (a.includes(':') ? a.replace(/^[0-9]+:/, '0:') : `0:${a}`),
      () => (a.includes('-') ? `${a}.1` : `${a}-0`),
      () => (a.includes('-') ? a.replace(/-[^-]*$/, '-0') : `${a}-1`),
      () => a.replace(/[a-z]/, (m) => (m === 'z' ? 'A' : String.fromCharCode(m.charCodeAt(0) + 1))),
      () => a.replace(/\.([^.]*)$/, '+$1'),
      () => a,
    ];
    return pick(ops)();
  };
  return { version, mutate, r };
}

function pairs(seed: number, n: number): Array<[string, string]> {
  const g = generator(seed);
  const out: Array<[string, string]> = [];
  while (out.length < n) {
    const a = g.version();
    const b = g.r() < 0.6 ? g.mutate(a) : g.version();
    // The references take only valid versions; invalid ones are covered by the lenient-mode tests.
    if (isValidDpkgVersion(a) && isValidDpkgVersion(b)) out.push(g.r() < 0.5 ? [a, b] : [b, a]);
  }
  return out;
}

const APT_SCRIPT = `
import apt_pkg, sys
apt_pkg.init_system()
out = []
for line in sys.stdin.read().splitlines():
    a, b = line.split('\\t')
    r = apt_pkg.version_compare(a, b)
    out.append('-1' if r < 0 else '1' if r > 0 else '0')
print('\\n'.join(out))
`;

test('Debian policy examples', () => {
  // Policy §5.6.12: ~~ < ~~a < ~ < (empty) < a
  const ordered = ['1.0~~', '1.0~~a', '1.0~', '1.0', '1.0a', '1.0a+', '1.0.', '1.0.0.1', '1.0.1'];
  for (let i = 0; i < ordered.length; i++) {
    for (let j = 0; j < ordered.length; j++) assert.equal(compareDpkg(ordered[i]!, ordered[j]!), Math.sign(i - j), `${ordered[i]} vs ${ordered[j]}`);
  }
  assert.equal(compareDpkg('1.0~rc1-1', '1.0-1'), -1);
  assert.equal(compareDpkg('1:1.0', '2.0'), 1);
  assert.equal(compareDpkg('0:1.0', '1.0'), 0);
  assert.equal(compareDpkg('1.0-0', '1.0'), 0);
  assert.equal(compareDpkg('1.010', '1.9'), 1);
  assert.equal(compareDpkg('1.001', '1.1'), 0);
  assert.equal(compareDpkg('2.36-9+deb12u4', '2.36-9+deb12u10'), -1);
  assert.equal(compareDpkg('1:2.38.1-5+deb12u3', '1:2.38.1-5'), 1);
  assert.equal(compareDpkg('1.2-3-4', '1.2-3-5'), -1); // the revision follows the LAST hyphen
  assert.deepEqual(parseDpkgVersion('1:2.0-a-b'), { epoch: 1, upstream: '2.0-a', revision: 'b' });
  assert.equal(compareDpkg('1.0a', '1.0+'), -1); // letters before non-letters
  assert.equal(compareDpkg('1.0Z', '1.0a'), -1); // ASCII order among letters
});

test('validity follows dpkg', () => {
  for (const v of ['1.0', '1:1.0', '0:1.0-1', '1.0-1+deb12u1', '1.0~rc1', '1:2:3-1', '1.0-a-b', '9', '+1:1.0', '1.0+-1']) assert.ok(isValidDpkgVersion(v), v);
  for (const v of ['', ' ', 'a1.0', '1.0-', '-1', ':1.0', '1:', 'x:1.0', '-1:1.0', '1.0 1', '1.0_1', '1.0-1_2', '1.0-1:2', '99999999999:1.0', '1.0-~-']) {
    assert.ok(!isValidDpkgVersion(v), v);
  }
});

test('invalid versions compare leniently and never throw', () => {
  assert.equal(compareDpkg('', ''), 0);
  assert.equal(compareDpkg('', '0'), 0); // both: epoch 0, upstream "" ≡ "0"
  assert.equal(compareDpkg('a1', '1'), 1); // dpkg --compare-versions warns and says the same
  assert.equal(compareDpkg('x:1.0', '1.0'), 1); // not an epoch: "x:1.0" is the upstream version
  assert.equal(compareDpkg(' 1.0 ', '1.0'), 0);
  assert.equal(compareDpkg('1.0-', '1.0'), 0);
  for (const v of ['', '-', ':', '~', '1:', ':-', '1.0 1', '\u00e9', '1..-..']) compareDpkg(v, '1.0');
});

test('agrees with python3-apt on thousands of generated pairs', (t) => {
  if (!requirePythonModule(t, PYTHON, 'apt_pkg', 'python3-apt')) return;
  const ps = pairs(0xdeb, 6000);
  const out = execFileSync(PYTHON, ['-c', APT_SCRIPT], { input: ps.map(([a, b]) => `${a}\t${b}`).join('\n'), encoding: 'utf8' }).trim().split('\n');
  assert.equal(out.length, ps.length);
  const wrong = ps.filter(([a, b], i) => compareDpkg(a, b) !== Number(out[i])).map(([a, b], i) => `${a} vs ${b}: apt ${out[i]}, ours ${compareDpkg(a, b)}`);
  assert.deepEqual(wrong.slice(0, 20), []);
  // The pairs exercise every outcome.
  for (const r of ['-1', '0', '1']) assert.ok(out.filter((x) => x === r).length > 300, `outcome ${r}`);
});

test('agrees with dpkg --compare-versions on a sample', (t) => {
  if (!requireTools(t, 'dpkg', 'sh')) return;
  const ps = pairs(0x5eed, 300);
  const script = 'while IFS="\t" read -r a b; do if dpkg --compare-versions "$a" lt "$b"; then echo -1; elif dpkg --compare-versions "$a" eq "$b"; then echo 0; else echo 1; fi; done';
  const out = execFileSync('sh', ['-c', script], { input: `${ps.map(([a, b]) => `${a}\t${b}`).join('\n')}\n`, encoding: 'utf8' }).trim().split('\n');
  assert.equal(out.length, ps.length);
  const wrong = ps.filter(([a, b], i) => compareDpkg(a, b) !== Number(out[i])).map(([a, b]) => `${a} vs ${b}`);
  assert.deepEqual(wrong, []);
});
