/**
 * ConanCenter versions (src/vuln/version/conan.ts), in the order OSV's tooling gives them
 * (osv-scalibr's `semantic` package, which parses ConanCenter versions as semver-like): the
 * semver vectors it shares across ecosystems (as quoted in its Pub fixture, less the `+build`
 * cases where Pub differs), its rule that components past the third join the build string, and
 * the versions ConanCenter recipes actually carry (`1.1.1w`, `cci.20210126`, `system`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareConan, parseConanVersion } from '../../../src/vuln/version/conan.js';
import { assertConsistent, assertTable, genSemverLike, makePairs, Rng } from './lang-oracle.js';

test('conancenter: the semver vectors of osv-scalibr', () => {
  assertTable(compareConan, [
    ['1.0.0-alpha', '<', '1.0.0-alpha.1'],
    ['1.0.0-alpha.1', '<', '1.0.0-alpha.beta'],
    ['1.0.0-alpha.beta', '<', '1.0.0-beta'],
    ['1.0.0-beta', '<', '1.0.0-beta.2'],
    ['1.0.0-beta.2', '<', '1.0.0-beta.11'],
    ['1.0.0-beta.11', '<', '1.0.0-rc.1'],
    ['1.0.0-rc.1', '<', '1.0.0'],
    ['1.0.0', '<', '1.0.1'],
    ['0.0.0', '>', '0.0.0-foo'],
    ['0.99.0', '>', '0.10.0'],
    ['v0.0.0', '>', '0.0.0-foo'],
    ['2.0.0', '>', 'v1.2.3'],
    ['1.2.3', '>', '1.2.3-4-foo'],
    ['1.2.3-5-foo', '>', '1.2.3-5'],
    ['1.2.3-5-foo', '>', '1.2.3-5-Foo'],
    ['3.0.0', '>', '2.7.2+asdf'],
    ['1.2.3-a.10', '>', '1.2.3-a.5'],
    ['1.2.3-a.b', '>', '1.2.3-a.5'],
    ['1.2.3-a.b.c.10.d.5', '>', '1.2.3-a.b.c.5.d.100'],
    ['1.2.3-r2', '>', '1.2.3-r100'],
    ['1.2.3-r100', '>', '1.2.3-R2'],
    ['1.2.3', '=', 'v1.2.3'],
    ['1.2.3-beta', '=', 'v1.2.3-beta'],
    ['1.2.3+build', '=', '1.2.3+otherbuild'],
    ['999999999999999999999999999991', '<', '999999999999999999999999999999'],
    ['1.1.3.4.5', '=', '1.1.3.4.5'],
  ]);
});

test('conancenter: Conan versions as OSV orders them', () => {
  assertTable(compareConan, [
    // Missing components are 0.
    ['1.2', '=', '1.2.0'],
    ['1.3', '>', '1.2.11'],
    // A letter release is a "build" string: after earlier letters, but before the bare version.
    ['1.1.1w', '>', '1.1.1t'],
    ['1.1.1t', '<', '1.1.1'],
    ['3.0.8', '>', '1.1.1w'],
    // A fourth component joins the build string (`.4`), so it sorts before the three-part version.
    ['1.2.3.4', '<', '1.2.3'],
    ['1.2.3.4', '<', '1.2.3.5'],
    ['cci.20210126', '>', 'cci.20200101'],
    ['system', '=', 'system'],
  ]);
  assert.deepEqual(parseConanVersion('1.2.3.4-beta'), { components: ['1', '2', '3'], build: '-beta.4' });
  assert.deepEqual(parseConanVersion('v01.002'), { components: ['1', '2'], build: '' });
  assertConsistent(compareConan, makePairs(new Rng(0xc0a), 3000, (r) => genSemverLike(r, { prefix: ['', '', 'v', 'cci.'] })));
});
