/**
 * RubyGems versions (src/vuln/version/gem.ts) against Gem::Version itself (Debian's ruby, one
 * `ruby -e` batch process), on generated pairs, plus examples from the Gem::Version docs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareGem, isGemPrerelease, isValidGem } from '../../../src/vuln/version/gem.js';
import { requireTools } from '../../helpers/env.js';
import { assertAgrees, assertAscending, assertConsistent, assertTable, makePairs, parseVerdicts, Rng, runBatch } from './lang-oracle.js';

const SCRIPT = `
out = []
STDIN.read.split("\\n").each do |line|
  next if line.empty?
  a, b = line.split("\\t", -1)
  va = Gem::Version.correct?(a)
  vb = Gem::Version.correct?(b)
  c = (va && vb) ? (Gem::Version.new(a) <=> Gem::Version.new(b)) : "x"
  out << "#{va ? 1 : 0} #{vb ? 1 : 0} #{c}"
end
STDOUT.write(out.join("\\n") + "\\n")
`;

test('Gem::Version documented ordering', () => {
  // "1.0.a.2 < 1.0.b1 < 1.0 < 1.0.1" (Gem::Version docs, "Preventing Version Catastrophe").
  assertAscending(compareGem, ['1.0.a.2', '1.0.b1', '1.0', '1.0.1', '1.1.a', '1.1', '2.0.0.rc1', '2.0.0']);
  assertTable(compareGem, [
    ['1.0.a', '<', '1.0'],
    ['1.0', '=', '1.0.0'],
    ['1.0.a.0', '=', '1.0.a'],
    ['1.0-1', '=', '1.0.pre.1'],
    ['1.0-1', '<', '1.0'],
    ['', '=', '0'],
    [' 1.0 ', '=', '1'],
    ['1.0.B', '<', '1.0.a'],
    ['01.2', '=', '1.2'],
    ['1.a', '<', '1.1.a'],
  ]);
  assert.equal(isGemPrerelease('1.0.a'), true);
  assert.equal(isGemPrerelease('1.0'), false);
  for (const bad of ['a1', '1..0', '1.0-', '1_0', '-1', '1.0.']) assert.equal(isValidGem(bad), false, bad);
});

const NUMS = ['0', '0', '1', '2', '10', '01', '00', '3'];
const WORDS = ['a', 'b', 'pre', 'rc', 'alpha', 'beta', 'A', 'Z', 'a0', '0a', '1b2', 'rc1'];

function genGem(rng: Rng): string {
  if (rng.chance(0.02)) return rng.pick(['a1', '1..0', '1.0-', '1_0', '', ' 1.0 ', '1.0.', '-1', '1 0']);
  let s = rng.pick(NUMS);
  const n = rng.int(5);
  for (let i = 0; i < n; i++) s += `.${rng.chance(0.65) ? rng.pick(NUMS) : rng.pick(WORDS)}`;
  if (rng.chance(0.15)) s += `-${Array.from({ length: 1 + rng.int(2) }, () => rng.pick([...NUMS, ...WORDS, 'x-y'])).join('.')}`;
  return s;
}

test('agrees with Gem::Version on 8000 generated pairs', (t) => {
  if (!requireTools(t, 'ruby')) return;
  const pairs = makePairs(new Rng(0x6e3), 8000, genGem);
  assertConsistent(compareGem, pairs);
  const verdicts = parseVerdicts(runBatch('ruby', ['-e', SCRIPT], pairs));
  assertAgrees(t, pairs, verdicts, compareGem, isValidGem);
});
