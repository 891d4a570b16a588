/**
 * NuGet versions (src/vuln/version/nuget.ts). No NuGet tooling here: tables from the NuGet docs
 * ("Package versioning": pre-release ordering, normalized version numbers) and NuGet.Versioning's
 * VersionComparer rules, plus node-semver on generated lower-case three-part versions, where
 * NuGet's SemVer 2 ordering and SemVer precedence coincide.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareNuget, isValidNuget } from '../../../src/vuln/version/nuget.js';
import { assertAgrees, assertAscending, assertConsistent, assertTable, genSemverLike, loadNodeSemver, makePairs, Rng, semverVerdicts } from './lang-oracle.js';

test('pre-release ordering from the NuGet docs', () => {
  // "Pre-release versions": alphabetical order of the labels, numeric labels numerically.
  assertAscending(compareNuget, ['1.0.1-alpha', '1.0.1-beta', '1.0.1-rc', '1.0.1']);
  assertAscending(compareNuget, ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0']);
  assertAscending(compareNuget, ['1.0.0', '1.0.0.1', '1.0.0.2', '1.0.1-beta', '1.0.1', '1.0.1.10', '1.1']);
});

test('normalized version numbers from the NuGet docs are equal', () => {
  assertTable(compareNuget, [
    ['1.00', '=', '1.0'],
    ['1.01.1', '=', '1.1.1'],
    ['1.00.0.1', '=', '1.0.0.1'],
    ['1.0.0.0', '=', '1.0.0'],
    ['1.0.01.0', '=', '1.0.1'],
    ['1.0.7+r3456', '=', '1.0.7'],
    ['1', '=', '1.0.0'],
    ['1.0.0-BETA', '=', '1.0.0-beta'],
    ['1.0.0-Beta.1', '=', '1.0.0-beta.1'],
    ['1.0.0-alpha', '<', '1.0.0-Beta'],
    ['1.0.0-1', '<', '1.0.0-a'],
    ['1.0.0-2', '<', '1.0.0-10'],
    ['1.0.0-2147483647', '<', '1.0.0-2147483648'], // the latter is no Int32: compared as text, after any number
    ['1.0.0-2147483648', '<', '1.0.0-A'], // ... and as text '2' < 'A'
    ['1.0.0-99999999999', '>', '1.0.0-2147483648'],
    ['1.0.0-beta+a', '=', '1.0.0-beta+b'],
    [' 2.0 ', '=', '2.0.0'],
  ]);
  for (const bad of ['v1.0.0', '1.0.0.0.0', '1.0.0-01', '1.0.0-', '1.0.0+', '1..0', '2147483648.0', '1.0.0-a_b', '']) assert.equal(isValidNuget(bad), false, bad);
  for (const good of ['1', '1.0.0.0', '2147483647.0', '1.0.0-alpha.1+001', '01.02.03']) assert.equal(isValidNuget(good), true, good);
});

test('NuGet agrees with node-semver on 3000 generated lower-case three-part pairs', (t) => {
  const semver = loadNodeSemver(t);
  if (semver === undefined) return;
  const pairs = makePairs(new Rng(0x4e6e7), 3000, (r) => genSemverLike(r, { lowercase: true }));
  assertConsistent(compareNuget, pairs);
  // Only pairs both references accept: NuGet also takes 1-, 2- and 4-part and zero-padded numbers.
  const both = pairs.filter(([a, b]) => [a, b].every((v) => semver.valid(v) !== null && isValidNuget(v)));
  assertAgrees(t, both, semverVerdicts(semver, both), compareNuget, isValidNuget);
});
