/**
 * Podfile.lock in the shape CocoaPods 1.x writes (CocoaPods is not installable on this machine),
 * modelled on lockfiles of published iOS projects: plain pods, subspecs with dependencies,
 * quoted entries, a pod from a path and one from git, spec checksums.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { podfileLockCataloger } from '../../../src/sbom/catalogers/cocoapods.js';
import { GARBAGE, runCataloger } from '../../helpers/catalog.js';

const LOCK = `PODS:
  - Alamofire (5.6.4)
  - Firebase/Analytics (10.3.0):
    - Firebase/Core
  - Firebase/Core (10.3.0):
    - Firebase/CoreOnly
    - FirebaseAnalytics (~> 10.3.0)
  - Firebase/CoreOnly (10.3.0):
    - FirebaseCore (= 10.3.0)
  - FirebaseAnalytics (10.3.0):
    - GoogleUtilities/AppDelegateSwizzler (~> 7.8)
  - FirebaseCore (10.3.0)
  - "GoogleUtilities/AppDelegateSwizzler (7.10.0)":
    - GoogleUtilities/Environment
  - GoogleUtilities/Environment (7.10.0)
  - MyKit (0.1.0):
    - Alamofire
  - SnapKit (5.6.0)

DEPENDENCIES:
  - Alamofire (~> 5.6)
  - Firebase/Analytics
  - MyKit (from \`../MyKit\`)
  - SnapKit (from \`https://github.com/SnapKit/SnapKit.git\`, tag \`5.6.0\`)

SPEC REPOS:
  trunk:
    - Alamofire
    - Firebase
    - FirebaseAnalytics
    - FirebaseCore
    - GoogleUtilities

EXTERNAL SOURCES:
  MyKit:
    :path: "../MyKit"
  SnapKit:
    :git: https://github.com/SnapKit/SnapKit.git
    :tag: 5.6.0

CHECKOUT OPTIONS:
  SnapKit:
    :git: https://github.com/SnapKit/SnapKit.git
    :tag: 5.6.0

SPEC CHECKSUMS:
  Alamofire: 4e95d97098eacb88856099c4fc79b526a299e48c
  Firebase: f92fc551ead69c94168d36c2b26188263860acd9
  FirebaseAnalytics: 036232b6a1e2918e5f67572417be1173576245f3
  FirebaseCore: 988754646ab3bd4bdcb740f1bfe26b9f6c0d5f2a
  GoogleUtilities: bad72cb363809015b1f7f19beb1f1cd23c589f95
  MyKit: 6f2b8a8e0d8c1a9f3b5e7d9c1a3e5f7b9d1c3e5a
  SnapKit: e01d52ebb8ddbc333eefe2132acf85c8227d9c25

PODFILE CHECKSUM: 6f3a0e6fcfe3a0f0d1b0e1c1d1e1f1a1b1c1d1e1

COCOAPODS: 1.12.1
`;

const catalog = (body: string): ReturnType<typeof runCataloger> => runCataloger(podfileLockCataloger, 'ios/Podfile.lock', body);

test('Podfile.lock: one package per pod, subspecs folded in, dependencies to pods, checksums and external sources', async () => {
  const { packages, warnings } = await catalog(LOCK);
  assert.deepEqual(warnings, []);
  assert.deepEqual(
    packages.map((p) => `${p.name}@${p.version}${p.properties?.['subspecs'] !== undefined ? ` [${p.properties['subspecs']}]` : ''}${p.properties?.['source'] !== undefined ? ` ${p.properties['source']}` : ''}${(p.dependsOn ?? []).length > 0 ? ` -> ${[...p.dependsOn!].sort().join(' ')}` : ''}`),
    [
      'Alamofire@5.6.4',
      'Firebase@10.3.0 [Analytics,Core,CoreOnly] -> cocoapods:FirebaseAnalytics@10.3.0 cocoapods:FirebaseCore@10.3.0',
      'FirebaseAnalytics@10.3.0 -> cocoapods:GoogleUtilities@7.10.0',
      'FirebaseCore@10.3.0',
      'GoogleUtilities@7.10.0 [AppDelegateSwizzler,Environment]',
      'MyKit@0.1.0 path -> cocoapods:Alamofire@5.6.4',
      'SnapKit@5.6.0 git',
    ],
  );
  assert.deepEqual(packages[0], { type: 'cocoapods', name: 'Alamofire', version: '5.6.4', properties: { checksum: '4e95d97098eacb88856099c4fc79b526a299e48c' } });
});

test('wants Podfile.lock outside Pods/', () => {
  assert.ok(podfileLockCataloger.wants('Podfile.lock', 1, 0o644));
  assert.ok(podfileLockCataloger.wants('ios/Podfile.lock', 1, 0o644));
  assert.ok(!podfileLockCataloger.wants('ios/Pods/Manifest.lock', 1, 0o644));
  assert.ok(!podfileLockCataloger.wants('ios/Pods/Podfile.lock', 1, 0o644));
});

test('broken input warns: bad YAML, no PODS, entries without versions, garbage', async () => {
  const garbage = GARBAGE.toString('latin1');
  for (const body of [garbage, 'PODS: [', 'COCOAPODS: 1.12.1\n', '- a\n']) {
    const { packages, warnings } = await catalog(body);
    assert.deepEqual(packages, []);
    assert.equal(warnings.length, 1, warnings.join('; '));
  }
  const { packages, warnings } = await catalog('PODS:\n  - Ok (1.0)\n  - NoVersion\n  - "Bad ()"\n  - {a: [], b: []}\n');
  assert.deepEqual(packages.map((p) => p.name), ['Ok']);
  assert.equal(warnings.length, 3, warnings.join('; '));
});
