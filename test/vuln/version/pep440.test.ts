/**
 * PEP 440 versions (src/vuln/version/pep440.ts) against pypa/packaging's `Version`, from Debian's
 * python3-packaging run by /usr/bin/python3 (the python3 on PATH may be another build without
 * it), on generated pairs, plus the ordering example of PEP 440 ("Summary of permitted suffixes
 * and relative ordering").
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { comparePep440, isValidPep440 } from '../../../src/vuln/version/pep440.js';
import { assertAgrees, assertAscending, assertConsistent, assertTable, makePairs, parseVerdicts, Rng, runBatch } from './lang-oracle.js';

const PYTHON = '/usr/bin/python3';

const SCRIPT = `
import sys
from packaging.version import Version, InvalidVersion
def parse(s):
    try:
        return Version(s)
    except InvalidVersion:
        return None
out = []
for line in sys.stdin.read().split("\\n"):
    if not line:
        continue
    a, b = line.split("\\t")
    x, y = parse(a), parse(b)
    c = "x" if x is None or y is None else str((x > y) - (x < y))
    out.append("%d %d %s" % (x is not None, y is not None, c))
sys.stdout.write("\\n".join(out) + "\\n")
`;

/** Skips (fails under CI=true) without Debian's python3 with packaging. */
function havePackaging(t: TestContext): boolean {
  const ok = existsSync('/usr/lib/python3/dist-packages/packaging/version.py') && existsSync(PYTHON);
  if (ok) return true;
  const msg = 'missing python3-packaging: install with apt-get install -y python3-packaging';
  if (process.env['CI'] === 'true') throw new Error(msg);
  t.skip(msg);
  return false;
}

test('PEP 440 ordering example', () => {
  assertAscending(comparePep440, [
    '1.dev0',
    '1.0.dev456',
    '1.0a1',
    '1.0a2.dev456',
    '1.0a12.dev456',
    '1.0a12',
    '1.0b1.dev456',
    '1.0b2',
    '1.0b2.post345.dev456',
    '1.0b2.post345',
    '1.0rc1.dev456',
    '1.0rc1',
    '1.0',
    '1.0+abc.5',
    '1.0+abc.7',
    '1.0+5',
    '1.0.post456.dev34',
    '1.0.post456',
    '1.0.15',
    '1.1.dev1',
  ]);
});

test('PEP 440 normalizations compare equal', () => {
  assertTable(comparePep440, [
    ['1.0', '=', '1.0.0.0'],
    ['1.0alpha1', '=', '1.0a1'],
    ['1.0-BETA.2', '=', '1.0b2'],
    ['1.0c1', '=', '1.0rc1'],
    ['1.0pre1', '=', '1.0rc1'],
    ['1.0preview', '=', '1.0rc0'],
    ['1.0-1', '=', '1.0.post1'],
    ['1.0rev2', '=', '1.0.post2'],
    ['1.0r', '=', '1.0.post0'],
    ['1.0-dev', '=', '1.0.dev0'],
    ['v1.0', '=', '1.0'],
    [' 1.0 ', '=', '1.0'],
    ['1.0+ubuntu-1', '=', '1.0+ubuntu.1'],
    ['1.0+ABC', '=', '1.0+abc'],
    ['1!1.0', '>', '2.0'],
    ['1.0+1', '>', '1.0+abc'],
    ['1.0+abc.1', '>', '1.0+abc'],
    ['1.0+01', '=', '1.0+1'],
  ]);
  for (const bad of ['1.0+', '1.0_', 'abc', '', '1..0', '1.0.post-a', '1.0+a+b', '1.0-foo']) assert.equal(isValidPep440(bad), false, bad);
});

const NUMS = ['0', '0', '1', '1', '2', '10', '00', '01'];
const SEP = ['', '', '.', '-', '_'];

function genPep440(rng: Rng): string {
  if (rng.chance(0.02)) return rng.pick(['1.0-foo', '1..0', '1.0+', 'abc', '', '1.0_', '1.0.post-1', '1.0+a..b', '1.0 a1', '01!', '1!']);
  let s = rng.chance(0.1) ? rng.pick(['v', 'V', ' ', ' v']) : '';
  if (rng.chance(0.1)) s += `${rng.pick(['0', '1', '2'])}!`;
  s += Array.from({ length: 1 + rng.int(4) }, () => rng.pick(NUMS)).join('.');
  if (rng.chance(0.4)) s += rng.pick(SEP) + rng.pick(['a', 'b', 'c', 'rc', 'alpha', 'beta', 'pre', 'preview', 'A', 'RC', 'Alpha']) + (rng.chance(0.7) ? rng.pick(SEP) + rng.pick(NUMS) : '');
  if (rng.chance(0.3)) s += rng.chance(0.3) ? `-${rng.pick(NUMS)}` : rng.pick(SEP) + rng.pick(['post', 'rev', 'r', 'POST']) + (rng.chance(0.7) ? rng.pick(SEP) + rng.pick(NUMS) : '');
  if (rng.chance(0.3)) s += rng.pick(SEP) + rng.pick(['dev', 'DEV']) + (rng.chance(0.7) ? rng.pick(SEP) + rng.pick(NUMS) : '');
  if (rng.chance(0.2)) {
    const parts = Array.from({ length: 1 + rng.int(3) }, () => rng.pick(['abc', '1', '01', 'a1', 'ubuntu', '0', 'z', 'ABC', '2']));
    s += `+${parts.map((p, i) => (i === 0 ? p : rng.pick(['.', '-', '_']) + p)).join('')}`;
  }
  if (rng.chance(0.03)) s += ' ';
  return s;
}

test('agrees with python3-packaging on 8000 generated pairs', (t) => {
  if (!havePackaging(t)) return;
  const pairs = makePairs(new Rng(0x9e9440), 8000, genPep440);
  assertConsistent(comparePep440, pairs);
  const verdicts = parseVerdicts(runBatch(PYTHON, ['-c', SCRIPT], pairs));
  assertAgrees(t, pairs, verdicts, comparePep440, isValidPep440);
});
