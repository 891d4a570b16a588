/**
 * Gradle and sbt lockfiles, against the formats' published examples (Debian's Gradle 4.4 predates
 * dependency locking, and sbt is not packaged): Gradle's user manual sample of `gradle.lockfile`
 * (Gradle 6+), the per-configuration files of Gradle 4.8–5, and the example of the
 * sbt-dependency-lock plugin's README.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Cataloger, RawPackage } from '../../../src/sbom/index.js';
import { gradleLockCataloger, sbtLockCataloger } from '../../../src/sbom/catalogers/maven-locks.js';
import { GARBAGE, runCataloger } from '../../helpers/catalog.js';

const GRADLE = `# This is a Gradle generated file for dependency locking.
# Manual edits can break the build and are not advised.
# This file is expected to be part of source control.
org.springframework:spring-beans:5.0.5.RELEASE=compileClasspath, runtimeClasspath
org.springframework:spring-core:5.0.5.RELEASE=compileClasspath, runtimeClasspath
org.springframework:spring-jcl:5.0.5.RELEASE=compileClasspath, runtimeClasspath
junit:junit:4.13.2=testCompileClasspath,testRuntimeClasspath
org.hamcrest:hamcrest-core:1.3=testCompileClasspath,testRuntimeClasspath
empty=annotationProcessor
`;

const GRADLE_5 = `# This is a Gradle generated file for dependency locking.
# Manual edits can break the build and are not advised.
# This file is expected to be part of source control.
com.google.guava:guava:27.0.1-jre
com.google.guava:failureaccess:1.0.1
`;

const SBT = `{
  "lockVersion" : 1,
  "timestamp" : "2019-10-29T17:33:05.944Z",
  "configurations" : [ "compile", "optional", "provided", "runtime", "test" ],
  "dependencies" : [ {
    "org" : "org.apache.commons",
    "name" : "commons-lang3",
    "version" : "3.9",
    "artifacts" : [ { "name" : "commons-lang3.jar", "hash" : "sha1:0122c7cee69b53ed4a7681c03d4ee4c0e2765da5" } ],
    "configurations" : [ "test", "compile", "runtime" ]
  }, {
    "org" : "org.scala-lang",
    "name" : "scala-library",
    "version" : "2.12.10",
    "artifacts" : [ { "name" : "scala-library.jar", "hash" : "sha1:3509860bc2e5b3da001ed45aca94ffbe5694dbda" } ],
    "configurations" : [ "test", "compile", "runtime" ]
  }, {
    "org" : "org.scalatest",
    "name" : "scalatest_2.12",
    "version" : "3.0.8",
    "artifacts" : [ { "name" : "scalatest_2.12.jar", "hash" : "sha1:7a6bd1d3d2d7c5b3a1a0d2c4b6e8f0a1c3e5d7f9" } ],
    "configurations" : [ "test" ]
  } ]
}
`;

const catalog = (c: Cataloger, path: string, body: string | Uint8Array): ReturnType<typeof runCataloger> => runCataloger(c, path, body);

const summary = (ps: readonly RawPackage[]): string[] => ps.map((p) => `${p.namespace}:${p.name}:${p.version}${p.properties?.['dev'] === 'true' ? ' dev' : ''}`);

test('gradle.lockfile (Gradle 6+): coordinates with their configurations, test-only ones dev, empty= skipped', async () => {
  const { packages, warnings } = await catalog(gradleLockCataloger, 'app/gradle.lockfile', GRADLE);
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), [
    'org.springframework:spring-beans:5.0.5.RELEASE',
    'org.springframework:spring-core:5.0.5.RELEASE',
    'org.springframework:spring-jcl:5.0.5.RELEASE',
    'junit:junit:4.13.2 dev',
    'org.hamcrest:hamcrest-core:1.3 dev',
  ]);
  assert.deepEqual(packages[0], {
    type: 'maven',
    namespace: 'org.springframework',
    name: 'spring-beans',
    version: '5.0.5.RELEASE',
    properties: { configurations: 'compileClasspath,runtimeClasspath' },
  });
});

test('Gradle 4.8-5 per-configuration lockfiles: the file names the configuration', async () => {
  const { packages, warnings } = await catalog(gradleLockCataloger, 'app/gradle/dependency-locks/testRuntimeClasspath.lockfile', GRADLE_5);
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), ['com.google.guava:guava:27.0.1-jre dev', 'com.google.guava:failureaccess:1.0.1 dev']);
  const compile = await catalog(gradleLockCataloger, 'gradle/dependency-locks/compileClasspath.lockfile', GRADLE_5);
  assert.deepEqual(summary(compile.packages), ['com.google.guava:guava:27.0.1-jre', 'com.google.guava:failureaccess:1.0.1']);
});

test('build.sbt.lock: org, name (with the Scala suffix), version; test-only dev', async () => {
  const { packages, warnings } = await catalog(sbtLockCataloger, 'build.sbt.lock', SBT);
  assert.deepEqual(warnings, []);
  assert.deepEqual(summary(packages), ['org.apache.commons:commons-lang3:3.9', 'org.scala-lang:scala-library:2.12.10', 'org.scalatest:scalatest_2.12:3.0.8 dev']);
  assert.equal(packages[0]!.properties?.['configurations'], 'compile,runtime,test');
});

test('wants the lockfiles by name', () => {
  for (const p of ['gradle.lockfile', 'app/gradle.lockfile', 'app/settings-gradle.lockfile', 'app/buildscript-gradle.lockfile', 'app/gradle/dependency-locks/compileClasspath.lockfile']) {
    assert.ok(gradleLockCataloger.wants(p, 1, 0o644), p);
  }
  for (const p of ['app/other.lockfile', 'app/gradle.lockfile.bak', 'app/build.gradle']) assert.ok(!gradleLockCataloger.wants(p, 1, 0o644), p);
  assert.ok(sbtLockCataloger.wants('svc/build.sbt.lock', 1, 0o644));
  assert.ok(!sbtLockCataloger.wants('svc/build.sbt', 1, 0o644));
});

test('broken input warns: bad lines, bad JSON, missing fields, garbage', async () => {
  const g = await catalog(gradleLockCataloger, 'gradle.lockfile', 'a:b:1.0=compileClasspath\nnot a coordinate\na:b=x\n');
  assert.deepEqual(summary(g.packages), ['a:b:1.0']);
  assert.equal(g.warnings.length, 2, g.warnings.join('; '));
  const junk = await catalog(gradleLockCataloger, 'gradle.lockfile', GARBAGE);
  assert.deepEqual(junk.packages, []);
  assert.equal(junk.warnings.length, 21);
  for (const body of [GARBAGE, '{"dependencies": [', '{"lockVersion": 1}', '[]']) {
    const { packages, warnings } = await catalog(sbtLockCataloger, 'build.sbt.lock', body);
    assert.deepEqual(packages, []);
    assert.equal(warnings.length, 1, warnings.join('; '));
  }
  const s = await catalog(sbtLockCataloger, 'build.sbt.lock', JSON.stringify({ dependencies: [{ org: 'a', name: 'b', version: '1' }, { org: 'a', name: 'c' }, 'x'] }));
  assert.deepEqual(summary(s.packages), ['a:b:1']);
  assert.equal(s.warnings.length, 2);
});
