/**
 * Go module versions (src/vuln/version/golang.ts). No Go toolchain here: hand-checked tables from
 * the Go Modules Reference (go.dev/ref/mod: "Versions", "Pseudo-versions", "+incompatible") and
 * golang.org/x/mod/semver's documented behaviour, plus node-semver as the SemVer precedence
 * reference on generated `v`-prefixed pairs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareGo, isGoPseudoVersion, isValidGo } from '../../../src/vuln/version/golang.js';
import { assertAgrees, assertAscending, assertConsistent, assertTable, genSemverLike, loadNodeSemver, makePairs, Rng, semverVerdicts } from './lang-oracle.js';

test('pseudo-versions order as pre-releases, between their base and the next release', () => {
  assertAscending(compareGo, [
    'v0.0.0-20190101000000-000000000000',
    'v0.0.0-20230101120000-abcdef123456',
    'v0.0.0-20230101120001-000000000000',
    'v0.1.0',
    'v1.2.3-pre',
    'v1.2.3-pre.0.20230101120000-abcdef123456',
    'v1.2.3-pre.0.20230201120000-abcdef123456',
    'v1.2.3-pre.1',
    'v1.2.3',
    'v1.2.4-0.20230101120000-abcdef123456',
    'v1.2.4-0.20230301120000-000000000000',
    'v1.2.4-alpha',
    'v1.2.4',
  ]);
});

test('+incompatible and other build metadata are ignored; shorthand versions; invalid sorts first', () => {
  assertTable(compareGo, [
    ['v2.0.0+incompatible', '=', 'v2.0.0'],
    ['v2.0.1+incompatible', '>', 'v2.0.0'],
    ['v3.0.0+incompatible', '>', 'v2.9.9+incompatible'],
    ['v1', '=', 'v1.0.0'],
    ['v1.2', '=', 'v1.2.0'],
    ['v1.2', '<', 'v1.2.1'],
    ['1.2.3', '<', 'v0.0.0'],
    ['1.2.3', '=', 'junk'],
    ['v1.0.0-alpha', '<', 'v1.0.0-alpha.1'],
    ['v1.0.0-rc.1', '<', 'v1.0.0'],
  ]);
  for (const bad of ['1.2.3', 'v1.2.3.4', 'v01.2.3', 'v1.2-pre', 'v1.2+meta', 'V1.2.3', 'v1.2.3-', '']) assert.equal(isValidGo(bad), false, bad);
  for (const good of ['v0', 'v1.2', 'v1.2.3-pre+meta', 'v2.0.0+incompatible']) assert.equal(isValidGo(good), true, good);
  assert.equal(isGoPseudoVersion('v0.0.0-20230101120000-abcdef123456'), true);
  assert.equal(isGoPseudoVersion('v1.2.4-0.20230101120000-abcdef123456'), true);
  assert.equal(isGoPseudoVersion('v1.2.3-pre.0.20230101120000-abcdef123456+incompatible'), true);
  assert.equal(isGoPseudoVersion('v1.2.3-pre'), false);
  assert.equal(isGoPseudoVersion('v1.2.3'), false);
});

test('Go versions agree with SemVer precedence (node-semver) on 3000 generated pairs', (t) => {
  const semver = loadNodeSemver(t);
  if (semver === undefined) return;
  const pairs = makePairs(new Rng(0x90), 3000, (r) => genSemverLike(r, { prefix: ['v', 'v', 'v', 'v', 'v', ''] }));
  assertConsistent(compareGo, pairs);
  // Valid for Go: a `v`, then strict SemVer (shorthands are checked by the table above).
  const valid = (v: string): boolean => v.startsWith('v') && semver.valid(v) !== null && !/\s/.test(v);
  assertAgrees(t, pairs, semverVerdicts(semver, pairs, valid), compareGo, (v) => isValidGo(v) && /^v[0-9]+\.[0-9]+\.[0-9]+/.test(v));
});
