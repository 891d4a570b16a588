/**
 * Cargo versions (src/vuln/version/cargo.ts): SemVer precedence checked against node-semver on
 * generated pairs (the Rust `semver` crate is not installable here; its parsing differs from
 * node-semver's only by refusing the `v` prefix and whitespace, which validity accounts for).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareCargo, isValidCargo } from '../../../src/vuln/version/cargo.js';
import { assertAgrees, assertAscending, assertConsistent, genSemverLike, loadNodeSemver, makePairs, Rng, semverVerdicts } from './lang-oracle.js';

test('cargo: strict SemVer, no prefix', () => {
  assertAscending(compareCargo, ['0.1.0-alpha', '0.1.0-alpha.1', '0.1.0', '0.1.1', '0.2.0-0', '0.2.0', '1.0.0']);
  assert.equal(compareCargo('1.0.0+a', '1.0.0+b'), 0);
  for (const bad of ['v1.0.0', ' 1.0.0', '1.0', '1.0.0-01', '1']) assert.equal(isValidCargo(bad), false, bad);
  assert.equal(isValidCargo('1.0.0-alpha.1+001'), true);
});

test('cargo agrees with node-semver on 4000 generated pairs', (t) => {
  const semver = loadNodeSemver(t);
  if (semver === undefined) return;
  const pairs = makePairs(new Rng(0xca760), 4000, (r) => genSemverLike(r, { prefix: ['', '', '', '', '', 'v', ' '] }));
  assertConsistent(compareCargo, pairs);
  const valid = (v: string): boolean => semver.valid(v) !== null && !/^[v=\s]|\s$/.test(v);
  assertAgrees(t, pairs, semverVerdicts(semver, pairs, valid), compareCargo, isValidCargo);
});
