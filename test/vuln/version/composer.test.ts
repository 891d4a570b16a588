/**
 * Composer versions (src/vuln/version/composer.ts) against composer/semver itself (Debian's
 * php-composer-semver with php-cli: VersionParser::normalize + normalizeDefaultBranch, then
 * Comparator::lessThan/greaterThan, one `php` batch process), on generated pairs; plus the
 * normalization examples of composer/semver's VersionParserTest and the Composer docs
 * ("Versions and constraints": stability order dev < alpha < beta < RC < stable).
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { compareComposer, isValidComposer, normalizeComposer, phpVersionCompare } from '../../../src/vuln/version/composer.js';
import { requireTools, tempDir } from '../../helpers/env.js';
import { assertAgrees, assertAscending, assertConsistent, assertTable, makePairs, parseVerdicts, Rng, runBatch } from './lang-oracle.js';

const AUTOLOAD = '/usr/share/php/Composer/Semver/autoload.php';

const SCRIPT = `<?php
require '${AUTOLOAD}';
use Composer\\Semver\\VersionParser;
use Composer\\Semver\\Comparator;
$p = new VersionParser();
function norm($p, $v) {
  try { return $p->normalizeDefaultBranch($p->normalize($v)); } catch (\\Exception $e) { return null; }
}
$out = [];
foreach (explode("\\n", stream_get_contents(STDIN)) as $line) {
  if ($line === '') continue;
  [$a, $b] = explode("\\t", $line, 2);
  $x = norm($p, $a); $y = norm($p, $b);
  if ($x === null || $y === null) { $out[] = ($x !== null ? 1 : 0) . ' ' . ($y !== null ? 1 : 0) . ' x'; continue; }
  $c = $x === $y ? 0 : (Comparator::lessThan($x, $y) ? -1 : (Comparator::greaterThan($x, $y) ? 1 : 0));
  $out[] = "1 1 $c " . base64_encode($x) . ' ' . base64_encode($y);
}
echo implode("\\n", $out), "\\n";
`;

function haveComposerSemver(t: TestContext): boolean {
  if (!requireTools(t, 'php')) return false;
  if (existsSync(AUTOLOAD)) return true;
  const msg = 'missing composer/semver: install with apt-get install -y php-composer-semver';
  if (process.env['CI'] === 'true') throw new Error(msg);
  t.skip(msg);
  return false;
}

test('normalization examples (composer/semver VersionParserTest)', () => {
  const cases: [string, string | undefined][] = [
    ['1.0.0', '1.0.0.0'],
    ['1.2.3.4', '1.2.3.4'],
    ['1.0.0RC1dev', '1.0.0.0-RC1-dev'],
    ['1.0.0-rC15-dEv', '1.0.0.0-RC15-dev'],
    ['1.0.0.RC.15-dev', '1.0.0.0-RC15-dev'],
    ['1.0.0-rc1', '1.0.0.0-RC1'],
    ['1.0.0.pl3-dev', '1.0.0.0-patch3-dev'],
    ['1.0-dev', '1.0.0.0-dev'],
    ['0', '0.0.0.0'],
    ['10.4.13-beta', '10.4.13.0-beta'],
    ['10.4.13beta2', '10.4.13.0-beta2'],
    ['10.4.13beta.2', '10.4.13.0-beta2'],
    ['10.4.13-b', '10.4.13.0-beta'],
    ['10.4.13-b5', '10.4.13.0-beta5'],
    ['v1.0.0', '1.0.0.0'],
    ['v20100102', '20100102'],
    ['2010.01', '2010.01.0.0'],
    ['2010.01.02', '2010.01.02.0'],
    ['2010-01-02', '2010.01.02'],
    ['2010-01-02.5', '2010.01.02.5'],
    ['20100102-203040', '20100102.203040'],
    ['20100102203040-10', '20100102203040.10'],
    ['20100102-203040-p1', '20100102.203040-patch1'],
    ['dev-master', 'dev-master'],
    ['master', 'dev-master'],
    ['dev-trunk', 'dev-trunk'],
    ['1.x-dev', '1.9999999.9999999.9999999-dev'],
    ['dev-feature-foo', 'dev-feature-foo'],
    ['DEV-FOOBAR', 'dev-FOOBAR'],
    ['dev-feature/foo', 'dev-feature/foo'],
    ['dev-master as 1.0.0', 'dev-master'],
    ['1.0.0+foo', '1.0.0.0'],
    ['1.0.0-rc1+foo', '1.0.0.0-RC1'],
    ['1.0.0+foo as 2.0', '1.0.0.0'],
    ['1.0.0-beta.5+foo', '1.0.0.0-beta5'],
    ['1.0.0-stable', '1.0.0.0'],
    ['1.0.0@dev', '1.0.0.0'],
    ['1.0.0-alpha3.1', '1.0.0.0-alpha3.1'],
    ['', undefined],
    ['a', undefined],
    ['1.0.0-meh', undefined],
    ['1.0.0.0.0', undefined],
    ['feature-foo', undefined],
    ['1.0.0-SNAPSHOT', undefined],
    ['1.0.0+foo bar', undefined],
  ];
  const bad = cases.filter(([v, want]) => normalizeComposer(v) !== want).map(([v, want]) => `${v}: ${normalizeComposer(v)} != ${want}`);
  assert.deepEqual(bad, []);
});

test('stability and version_compare ordering', () => {
  assertAscending(compareComposer, ['1.0.0-dev', '1.0.0-alpha', '1.0.0-alpha2', '1.0.0-beta', '1.0.0-RC1', '1.0.0', '1.0.0-patch1', '1.0.0.1', '1.0.1', '1.x-dev', 'dev-master']);
  assertTable(compareComposer, [
    ['1.0', '=', '1.0.0'],
    ['v1.0.0', '=', '1.0.0.0'],
    ['1.0.0-a1', '=', '1.0.0-alpha1'],
    ['1.0.0-pl1', '=', '1.0.0-p1'],
    ['1.0.0-stable', '=', '1.0.0'],
    ['1.0.0-beta.2', '=', '1.0.0-beta2'],
    ['1.0.0-beta2-dev', '<', '1.0.0-beta2'],
    ['dev-foo', '=', 'dev-bar'], // two named branches are not comparable
    ['dev-foo', '<', '0.0.1'],
    ['junk', '<', '0.0.0'],
  ]);
  assertTable(phpVersionCompare, [
    ['1.0.0', '<', '1.0.1'],
    ['1.0rc1', '>', '1.0b1'],
    ['1.0', '<', '1.0pl1'],
    ['1.0', '>', '1.0-dev'],
    ['1.0-foo', '<', '1.0-dev'],
    ['5.2', '<', '5.2.0'],
  ]);
  assert.equal(isValidComposer('1.0.0-SNAPSHOT'), false);
});

const NUMS = ['0', '0', '1', '2', '10', '01', '3'];
const STAB = ['stable', 'beta', 'b', 'RC', 'rc', 'alpha', 'a', 'patch', 'pl', 'p', 'Beta', 'ALPHA', 'foo', 'dev'];

function genComposer(rng: Rng): string {
  if (rng.chance(0.04)) return rng.pick(['dev-master', 'master', 'dev-feature-x', 'dev-trunk', '1.x-dev', '2.*-dev', 'v1.X-dev', '', 'a', '1.0.0.0.0', '1.0.0@beta', '1.0 as 2.0']);
  if (rng.chance(0.06)) {
    // date-ish
    const d = `20${rng.pick(['10', '23'])}${rng.pick(['', '.', '-'])}${rng.pick(['01', '12'])}${rng.pick(['', '.', '-'])}${rng.pick(['02', '31'])}`;
    return d + (rng.chance(0.3) ? `-${rng.pick(STAB)}${rng.pick(['', '1'])}` : '');
  }
  let s = rng.chance(0.1) ? 'v' : '';
  s += Array.from({ length: 1 + rng.int(4) }, () => rng.pick(NUMS)).join('.');
  if (rng.chance(0.45)) s += rng.pick(['', '.', '-', '_']) + rng.pick(STAB) + rng.pick(['', '', '1', '2', '.3', '-1', '10', '1.2']);
  if (rng.chance(0.15)) s += rng.pick(['-dev', '.dev', 'dev', '-DEV']);
  if (rng.chance(0.08)) s += rng.pick(['+build', '+001', '@dev', '@stable']);
  return s;
}

test('agrees with composer/semver on 6000 generated pairs', (t) => {
  if (!haveComposerSemver(t)) return;
  const dir = tempDir(t);
  const script = join(dir, 'cmp.php');
  writeFileSync(script, SCRIPT);
  const pairs = makePairs(new Rng(0xc0300), 6000, genComposer);
  assertConsistent(compareComposer, pairs);
  const lines = runBatch('php', [script], pairs);
  // The normalized forms must match too.
  const badNorm: string[] = [];
  lines.forEach((l, i) => {
    const [, , , na, nb] = l.split(' ');
    if (na === undefined || nb === undefined) return;
    const [a, b] = pairs[i]!;
    const norm = (v: string): string | undefined => {
      const n = normalizeComposer(v);
      return n === 'dev-master' || n === 'dev-default' || n === 'dev-trunk' ? '9999999-dev' : n;
    };
    for (const [v, want] of [[a, Buffer.from(na, 'base64').toString()], [b, Buffer.from(nb, 'base64').toString()]] as const) {
      if (norm(v) !== want) badNorm.push(`normalize(${v}) = ${norm(v)}, composer ${want}`);
    }
  });
  assert.deepEqual([...new Set(badNorm)].slice(0, 20), []);
  assertAgrees(t, pairs, parseVerdicts(lines), compareComposer, isValidComposer);
});
