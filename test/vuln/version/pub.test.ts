/**
 * Pub versions (src/vuln/version/pub.ts) against pub_semver's published tests
 * (test/version_test.dart: the sorted comparison list, equality with leading zeros, parse errors)
 * and the Pub vectors osv-scalibr checks its order with (semantic/testdata/pub-versions.txt),
 * where they agree with pub_semver (not the cases with a `v` prefix, which pub_semver rejects,
 * nor numeric builds, which pub_semver compares as numbers: `+10` after `+9`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { comparePub, isValidPub } from '../../../src/vuln/version/pub.js';
import { assertAscending, assertConsistent, assertTable, genSemverLike, makePairs, Rng } from './lang-oracle.js';

test("pub: pub_semver's comparison list, in order", () => {
  assertAscending(comparePub, [
    '1.0.0-alpha',
    '1.0.0-alpha.1',
    '1.0.0-beta.2',
    '1.0.0-beta.11',
    '1.0.0-rc.1',
    '1.0.0-rc.1+build.1',
    '1.0.0',
    '1.0.0+0.3.7',
    '1.3.7+build',
    '1.3.7+build.2.b8f12d7',
    '1.3.7+build.11.e0f985a',
    '2.0.0',
    '2.1.0',
    '2.2.0',
    '2.11.0',
    '2.11.1',
  ]);
});

test("pub: pub_semver's equality and parse tests", () => {
  for (const [a, b] of [
    ['01.2.3', '1.2.3'],
    ['1.02.3', '1.2.3'],
    ['1.2.03', '1.2.3'],
    ['1.2.3-01', '1.2.3-1'],
    ['1.2.3+01', '1.2.3+1'],
  ] as const) assert.equal(comparePub(a, b), 0, `${a} = ${b}`);
  for (const ok of ['0.0.0', '12.34.56', '1.2.3-alpha.1', '1.2.3-x.7.z-92', '1.2.3+build.1', '1.0.0-rc-1+build-1', '001.02.0003-01.dev+pre.002']) assert.equal(isValidPub(ok), true, ok);
  for (const bad of ['1.0', '1.2.3.4', '1234', '-2.3.4', '1.3-pre', '1.3+build', '1.3+bu?!3ild', 'v1.2.3', '99999999999999999999.0.0']) assert.equal(isValidPub(bad), false, bad);
});

test("pub: osv-scalibr's Pub vectors (those pub_semver agrees with)", () => {
  assertTable(comparePub, [
    ['1.0.0-pre', '<', '1.0.0-pre+build'],
    ['1.0.0-pre+build', '<', '1.0.0'],
    ['1.0.0', '<', '1.0.0+build'],
    ['1.2.3+1', '<', '1.2.3+2'],
    ['1.2.3+1', '<', '1.2.3+a'],
    ['1.2.3+9', '<', '1.2.3+a'],
    ['1.2.3+900', '<', '1.2.3+a'],
    ['1.2.3+a1', '>', '1.2.3+a'],
    ['1.2.3+a1', '=', '1.2.3+a1'],
    ['1.2.3+a1', '<', '1.2.3+a2'],
    ['1.2.3+a9', '<', '1.2.3+b2'],
    ['1.2.3+9a', '>', '1.2.3+1z'],
    ['1.0.0-alpha.1', '<', '1.0.0-alpha.beta'],
    ['0.0.0', '>', '0.0.0-foo'],
    ['0.10.0', '>', '0.9.0'],
    ['1.2.3', '>', '1.2.3-4-foo'],
    ['1.2.3-5-foo', '>', '1.2.3-5'],
    ['1.2.3-5-foo', '>', '1.2.3-5-Foo'],
    ['3.0.0', '>', '2.7.2+asdf'],
    ['1.2.3-a.10', '>', '1.2.3-a.5'],
    ['1.2.3-a.b', '>', '1.2.3-a.5'],
    ['1.2.3-a.b.c.10.d.5', '>', '1.2.3-a.b.c.5.d.100'],
    ['1.2.3-r2', '>', '1.2.3-r100'],
    ['1.2.3-r100', '>', '1.2.3-R2'],
    ['1.2.3-beta+build', '<', '1.2.3-beta+otherbuild'],
  ]);
  // Where the two part: pub_semver reads numeric builds as numbers.
  assert.equal(comparePub('1.2.3+10', '1.2.3+9'), 1);
});

test('pub: Dart int.tryParse decides what is a number (signs, hex, 64 bits)', () => {
  assertTable(comparePub, [
    ['1.0.0-0x10', '>', '1.0.0-15'],
    ['1.0.0--1', '<', '1.0.0-0'],
    // Past 64 bits it is text, which sorts after every number.
    ['1.0.0-99999999999999999999', '>', '1.0.0-15'],
    ['1.0.0-99999999999999999999', '<', '1.0.0-a'],
  ]);
  assertConsistent(comparePub, makePairs(new Rng(0x9b5), 3000, (r) => genSemverLike(r, { prefix: ['', '', '', 'v', '0'] })));
});
