/**
 * SwiftURL versions (src/vuln/version/swift.ts) against SwiftPM's `Version` tests
 * (swift-tools-support-core Tests/TSCUtilityTests/VersionTests.swift: comparison, equality with
 * build metadata, the lossless string conversions that must fail) and semver.org's precedence list
 * they include.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareSwift, isValidSwift } from '../../../src/vuln/version/swift.js';
import { assertAscending, assertConsistent, assertTable, genSemverLike, makePairs, Rng } from './lang-oracle.js';

test('swift: semver.org precedence, as SwiftPM tests it', () => {
  assertAscending(compareSwift, ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0']);
  assertAscending(compareSwift, ['0.0.0', '0.0.1', '0.1.0', '0.10.0', '1.0.0', '2.0.0']);
});

test("swift: SwiftPM's comparisons with pre-releases and build metadata", () => {
  assertTable(compareSwift, [
    ['1.2.3-beta+123', '=', '1.2.3-beta+'],
    ['1.2.3-alpha+-alpha', '<', '1.2.3-beta+123alpha'],
    ['1.2.3-alpha1+alpha.beta', '<', '1.2.3-alpha2+alpha'],
    ['1.2.3-alpha+123', '<', '1.2.3-alpha-+alpha.beta'],
    ['1.2.3-beta.alpha+123alpha', '<', '1.2.3-beta.beta+123'],
    ['1.2.3-alpha.beta+', '<', '1.2.3-beta.alpha+alpha-'],
    ['1.2.3-1+alpha-', '=', '1.2.3-1+'],
    ['1.2.3-1+123', '<', '1.2.3-2+123alpha'],
    ['1.2.3-1.1+alpha.beta', '<', '1.2.3-1.2+123'],
    ['1.2.3-1.2+alpha', '<', '1.2.3-2.1+alpha.beta'],
    ['1.2.3-123+123alpha', '<', '1.2.3-123alpha+-alpha'],
    ['1.2.3-223+123alpha', '<', '1.2.3-123alpha+123'],
    ['1.2.3', '=', '1.2.3+1011'],
    ['0.9.21', '<', '2.0.0'],
    // Tags: SwiftPM resolves `v1.2.3` as 1.2.3.
    ['v1.2.3', '=', '1.2.3'],
  ]);
});

test("swift: the strings SwiftPM's Version(String) refuses, and ones it takes", () => {
  for (const bad of ['3', '3 5', '5.8', '-5.8.13', '8.-13.21', '13.21.-34', '-0.0.0', '0.-0.0', '0.0.-0', '21.34.55.89', '6 x 9 = 42', 'forty two', '一点二点三', '233.377.610-hello world', '0.0.O', '1.l1.O']) {
    assert.equal(isValidSwift(bad), false, bad);
  }
  for (const ok of ['0.0.0', '1.1.2', '0.0.0-pre-alpha', '55.89.144-beta.1', '89.144.233-a.whole..lot.of.pre-release.identifiers', '144.233.377-', '123.234.345-alpha.beta+sha1.1011']) {
    assert.equal(isValidSwift(ok), true, ok);
  }
  assertConsistent(compareSwift, makePairs(new Rng(0x5f1), 3000, (r) => genSemverLike(r, { prefix: ['', '', '', 'v', ' '] })));
});
