/**
 * RPM version comparison, checked differentially against rpm itself: python3-rpm's
 * `rpm.labelCompare` (one batch process, thousands of generated EVRs with `~` and `^`) and the
 * `rpm.vercmp` of rpm's embedded Lua (`rpm --eval`, one process, a few hundred raw strings).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { compareRpm, compareRpmEvr, compareRpmEvrString, isValidRpmEvr, isValidRpmVersion, parseRpmEvr, type RpmEvr } from '../../../src/vuln/version/index.js';
import { requirePythonModule, requireTools } from '../../helpers/env.js';
import { Rng } from './lang-oracle.js';

const PYTHON = '/usr/bin/python3'; // Debian's python, which has the rpm module (python3 on PATH may not)

/** The shared seeded PRNG (lang-oracle's mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

interface Evr {
  epoch?: string;
  version: string;
  release?: string;
}

function generator(seed: number, seps: readonly string[]) {
  const r = rng(seed);
  const int = (n: number): number => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const digits = (): string => pick(['0', '1', '2', '9', '10', '01', '007', '12', '100', '2023', '20230101', String(int(1000)), '18446744073709551617']);
  const letters = (): string => pick(['a', 'b', 'z', 'A', 'Z', 'rc', 'beta', 'alpha', 'git', 'el', 'fc', 'svn', 'pre', 'aB']);
  const str = (max: number): string => {
    let s = '';
    for (let k = 0, n = 1 + int(max); k < n; k++) {
      const x = r();
      if (x < 0.45) s += digits();
      else if (x < 0.7) s += letters();
      else s += pick(seps);
    }
    return s;
  };
  const real = (): Evr => {
    const e = pick([undefined, undefined, '0', '1', '2']);
    const [version, release] = pick([
      [`1.2.${int(5)}`, `${int(5)}.el9`],
      ['2.34', `60.el9_2.${int(9)}`],
      [`1.0~rc${int(3)}`, '1.fc38'],
      [`5.14.0^20230101git${pick(['1234abc', '99ffee0'])}`, '1'],
      [`3.0.${int(9)}`, `${int(9)}.el9_2`],
      ['9.0.2153', `1.el9_${int(4)}`],
      [`2.${int(40)}`, `${int(3)}.amzn2023.0.${int(3)}`],
      [`1.1.1k`, `${int(9)}.el8_${int(9)}`],
      [`4.18.0`, `${int(3)}.fc38`],
      [`0.9.${int(9)}^post${int(3)}`, '1.mga9'],
      [`6.${int(7)}.0~pre${int(3)}`, `0.${int(3)}.rc${int(4)}.fc39`],
    ] as const);
    return e === undefined ? { version, release } : { epoch: e, version, release };
  };
  const evr = (): Evr => {
    if (r() < 0.25) return real();
    const e = pick([undefined, undefined, '0', '1', '2', '10', '01']);
    const version = str(6);
    const x = r();
    const out: Evr = x < 0.05 ? { version, release: '' } : x < 0.15 ? { version } : { version, release: str(3) };
    if (e !== undefined) out.epoch = e;
    return out;
  };
  const tweak = (s: string): string =>
    pick<() => string>([
      () => `${s}~`,
      () => `${s}~${letters()}1`,
      () => `${s}^`,
      () => `${s}^git${int(3)}`,
      () => `${s}.0`,
      () => `${s}a`,
      () => `${s}${pick(seps)}`,
      () => s.replace(/[0-9]+/, (m) => String(Math.max(0, Number(m) + pick([-1, 1])))),
      () => s.replace(/(^|[^0-9])([0-9])/, '$10$2'),
      () => s.replace(/[~^]/, ''),
      () => s.replace(/\./, '_'),
      () => s.replace(/[a-z]/, 'Z'),
      () => s,
    ])();
  const mutate = (a: Evr): Evr => {
    const b = { ...a };
    const x = r();
    if (x < 0.55) b.version = tweak(a.version);
    else if (x < 0.8) b.release = tweak(a.release ?? '');
    else if (x < 0.85) delete b.release;
    else if (a.epoch === undefined) b.epoch = pick(['0', '1']);
    else delete b.epoch;
    return b;
  };
  return { evr, mutate, str, tweak, r };
}

const RPM_SCRIPT = `
import rpm, sys
out = []
for line in sys.stdin.read().splitlines():
    # fields: epoch, version, release for each side; "-" stands for None (missing)
    f = [None if x == '-' else x for x in line.split('\\t')]
    r = rpm.labelCompare((f[0], f[1], f[2]), (f[3], f[4], f[5]))
    out.append('-1' if r < 0 else '1' if r > 0 else '0')
print('\\n'.join(out))
`;

const toEvr = (x: Evr): RpmEvr => ({ epoch: x.epoch, version: x.version, release: x.release });

test('rpmvercmp rules', () => {
  const cases: Array<[string, string, number]> = [
    ['1.0', '1.0', 0],
    ['1.0', '1_0', 0],
    ['1.0', '1.0.0', -1],
    ['1.0a', '1.0', 1],
    ['1.0', '1.0a', -1], // something left over is newer
    ['1.a', '1.1', -1], // numeric beats alpha
    ['010', '10', 0],
    ['1.10', '1.9', 1],
    ['a', 'B', 1], // strcmp: uppercase sorts first
    ['1.0~rc1', '1.0', -1],
    ['1.0~rc1', '1.0~rc2', -1],
    ['1.0~~', '1.0~', -1],
    ['1.0^', '1.0', 1],
    ['1.0^git1', '1.0', 1],
    ['1.0^git1', '1.0.1', -1],
    ['1.0^git1', '1.0^git2', -1],
    ['1.0^git1~pre', '1.0^git1', -1],
    ['1.0~rc1^git1', '1.0~rc1', 1],
    ['1.0~rc1^git1', '1.0', -1],
    ['', '', 0],
    ['', '1', -1],
    ['.', '', 0],
    ['18446744073709551617', '18446744073709551616', 1],
  ];
  for (const [a, b, want] of cases) {
    assert.equal(compareRpm(a, b), want, `${a} vs ${b}`);
    assert.equal(compareRpm(b, a), 0 - want, `${b} vs ${a}`);
  }
});

test('EVR parsing and comparison', () => {
  assert.deepEqual(parseRpmEvr('1:2.34-60.el9'), { epoch: 1, version: '2.34', release: '60.el9' });
  assert.deepEqual(parseRpmEvr('2.34'), { version: '2.34' });
  assert.deepEqual(parseRpmEvr('1.0-1-2'), { version: '1.0-1', release: '2' });
  assert.deepEqual(parseRpmEvr('x:1.0'), { version: 'x:1.0' });
  assert.deepEqual(parseRpmEvr(':1.0'), { epoch: 0, version: '1.0' });
  assert.equal(compareRpmEvr({ version: '1.0' }, { version: '1.0', release: '~' }), -1); // a missing release is oldest
  assert.equal(compareRpmEvr({ version: '1.0' }, { version: '1.0' }), 0);
  assert.equal(compareRpmEvr({ version: '1.0', release: '' }, { version: '1.0', release: '~' }), 1);
  assert.equal(compareRpmEvr({ version: '1.0', release: '1' }, { epoch: 0, version: '1.0', release: '1' }), 0);
  assert.equal(compareRpmEvr({ epoch: 1, version: '1.0' }, { version: '9.0' }), 1);
  assert.equal(compareRpmEvrString('1:1.0-1', '2.0-1'), 1);
  assert.equal(compareRpmEvrString('1.0-1.el9', '1.0-1.el9_2'), -1);
  assert.equal(compareRpmEvrString('1.0~rc1-1', '1.0-1'), -1);
  assert.ok(isValidRpmEvr('1:2.34-60.el9_2.7') && isValidRpmEvr('5.14.0^20230101git1234abc-1') && isValidRpmEvr('1.0'));
  assert.ok(!isValidRpmEvr('') && !isValidRpmEvr('a:1.0') && !isValidRpmEvr('1.0-') && !isValidRpmEvr('1-2-3'));
  assert.ok(isValidRpmVersion('1.0~rc1^git1') && !isValidRpmVersion('1.0-1') && !isValidRpmVersion('1 0'));
});

test('agrees with python3-rpm labelCompare on thousands of generated EVRs', (t) => {
  if (!requirePythonModule(t, PYTHON, 'rpm', 'python3-rpm')) return;
  const g = generator(0x59a, ['.', '.', '.', '_', '+', '~', '~', '^', '^']);
  const ps: Array<[Evr, Evr]> = [];
  while (ps.length < 6000) {
    const a = g.evr();
    const b = g.r() < 0.6 ? g.mutate(a) : g.evr();
    // rpm refuses an empty version ("invalid version"); ours compares it, see 'rpmvercmp rules'.
    if (a.version === '' || b.version === '') continue;
    ps.push(g.r() < 0.5 ? [a, b] : [b, a]);
  }
  const line = (x: Evr): string => `${x.epoch ?? '-'}\t${x.version}\t${x.release ?? '-'}`;
  const out = execFileSync(PYTHON, ['-c', RPM_SCRIPT], { input: ps.map(([a, b]) => `${line(a)}\t${line(b)}`).join('\n'), encoding: 'utf8' }).trim().split('\n');
  assert.equal(out.length, ps.length);
  const wrong = ps
    .map(([a, b], i) => ({ a, b, want: Number(out[i]), got: compareRpmEvr(toEvr(a), toEvr(b)) }))
    .filter((x) => x.want !== x.got)
    .map((x) => `${line(x.a)} vs ${line(x.b)}: rpm ${x.want}, ours ${x.got}`);
  assert.deepEqual(wrong.slice(0, 20), []);
  for (const r of ['-1', '0', '1']) assert.ok(out.filter((x) => x === r).length > 300, `outcome ${r}`);
  // The same pairs through the string form, where the EVR has a string form.
  for (const [a, b] of ps.slice(0, 1000)) {
    if (!a.release || !b.release || /[-:]/.test(a.version + b.version + a.release + b.release)) continue;
    const s = (x: Evr): string => `${x.epoch === undefined ? '' : `${x.epoch}:`}${x.version}-${x.release ?? ''}`;
    assert.equal(compareRpmEvrString(s(a), s(b)), compareRpmEvr(toEvr(a), toEvr(b)), `${s(a)} vs ${s(b)}`);
  }
});

test('agrees with rpm.vercmp (rpm --eval lua) on raw strings, odd separators included', (t) => {
  if (!requireTools(t, 'rpm')) return;
  // rpm 4.18's Lua rpm.vercmp parses each side as an EVR, so the strings hold no '-' or ':' (which
  // would make a release or an epoch) and are never empty (rejected): then it is rpmvercmp itself.
  const g = generator(0x1a, ['.', '_', '+', '~', '^', ',', '=', '#', '/', '..', '~~', '^^', '^~', '~^']);
  const ps: Array<[string, string]> = [
    ['~', '.'],
    ['^', '.'],
    ['~', '^'],
    ['1.0^~', '1.0^'],
    ['a', 'A'],
    ['1a', '1.a'],
    ['1..2', '1.2'],
    ['#', '.'],
  ];
  while (ps.length < 400) {
    const a = g.str(6);
    const b = g.r() < 0.6 ? g.tweak(a) : g.str(6);
    if (a !== '' && b !== '') ps.push(g.r() < 0.5 ? [a, b] : [b, a]);
  }
  // Lua long strings hold anything but "]]"; the generator never makes % or brackets.
  const lua = `%{lua: local p = {${ps.map(([a, b]) => `{[[${a}]],[[${b}]]}`).join(',')}} local o = {} for _, x in ipairs(p) do o[#o + 1] = rpm.vercmp(x[1], x[2]) end print(table.concat(o, ' '))}`;
  // rpm's Lua print() does not end lines: the results come space-separated on one line.
  const out = execFileSync('rpm', ['--eval', lua], { encoding: 'utf8' }).trim().split(/\s+/);
  assert.equal(out.length, ps.length);
  const wrong = ps.filter(([a, b], i) => compareRpm(a, b) !== Number(out[i])).map(([a, b], i) => `'${a}' vs '${b}': rpm ${out[i]}, ours ${compareRpm(a, b)}`);
  assert.deepEqual(wrong, []);
});
