/**
 * npm versions (src/vuln/version/npm.ts) against node-semver, the npm CLI's comparator, on
 * generated pairs, plus the precedence example of semver.org §11.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareNpm, isValidNpm } from '../../../src/vuln/version/npm.js';
import { assertAgrees, assertAscending, assertConsistent, assertTable, genSemverLike, loadNodeSemver, makePairs, Rng, semverVerdicts } from './lang-oracle.js';

test('semver.org §11 precedence example', () => {
  assertAscending(compareNpm, ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0']);
  assertAscending(compareNpm, ['1.0.0', '2.0.0', '2.1.0', '2.1.1']);
});

test('build metadata is ignored, a leading v and whitespace are tolerated', () => {
  assertTable(compareNpm, [
    ['1.0.0+build.1', '=', '1.0.0+build.2'],
    ['1.0.0-alpha+001', '=', '1.0.0-alpha'],
    ['v1.2.3', '=', '1.2.3'],
    [' 1.2.3 ', '=', '1.2.3'],
    ['1.0.0-2', '<', '1.0.0-10'],
    ['1.0.0-a', '>', '1.0.0-999'],
    ['1.0.0-Z', '<', '1.0.0-a'],
    ['99999999999999999999.0.0', '>', '9999999999999999999.0.0'],
  ]);
  for (const bad of ['1.0', '01.0.0', '1.0.0-01', '1.0.0-', '1.0.0+', 'V1.0.0', '=1.0.0', 'vv1.0.0', '1.0.0-a..b', '']) assert.equal(isValidNpm(bad), false, bad);
  for (const good of ['0.0.0', 'v1.0.0-0', '1.0.0-x-y.0a', '1.0.0+001', '1.0.0--']) assert.equal(isValidNpm(good), true, good);
});

test('invalid versions sort first and never throw', () => {
  assertTable(compareNpm, [
    ['junk', '<', '0.0.0-0'],
    ['a', '<', 'b'],
    ['x', '=', 'x'],
  ]);
});

test('agrees with node-semver on 6000 generated pairs', (t) => {
  const semver = loadNodeSemver(t);
  if (semver === undefined) return;
  const pairs = makePairs(new Rng(0x5e3e2), 6000, (r) => genSemverLike(r, { prefix: ['', '', '', '', '', '', 'v', 'v', ' ', 'V', '=', ' v'] }));
  assertConsistent(compareNpm, pairs);
  assertAgrees(t, pairs, semverVerdicts(semver, pairs), compareNpm, isValidNpm);
});
