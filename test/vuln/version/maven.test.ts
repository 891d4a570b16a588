/**
 * Maven versions (src/vuln/version/maven.ts) against Maven's own ComparableVersion, from
 * Debian's libmaven3-core-java (maven3-artifact.jar, pulled in by the `maven` package), run as
 * one Java single-file program that reads pairs on stdin; plus tables from ComparableVersionTest.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { compareMaven, isValidMaven } from '../../../src/vuln/version/maven.js';
import { requireTools, tempDir } from '../../helpers/env.js';
import { assertAgrees, assertAscending, assertConsistent, assertTable, makePairs, Rng, runBatch, type Verdict } from './lang-oracle.js';

const JARS = ['/usr/share/maven/lib/maven-artifact-3.x.jar', '/usr/share/java/maven3-artifact.jar', '/usr/share/java/maven-artifact.jar'];

const PROGRAM = `
import java.io.*;
import org.apache.maven.artifact.versioning.ComparableVersion;
public class MavenCmp {
  public static void main(String[] args) throws Exception {
    BufferedReader r = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
    StringBuilder sb = new StringBuilder();
    String line;
    while ((line = r.readLine()) != null) {
      int t = line.indexOf('\\t');
      int c = new ComparableVersion(line.substring(0, t)).compareTo(new ComparableVersion(line.substring(t + 1)));
      sb.append(Integer.signum(c)).append('\\n');
    }
    System.out.print(sb);
  }
}
`;

function mavenJar(t: TestContext): string | undefined {
  if (!requireTools(t, 'java')) return undefined;
  const jar = JARS.find((j) => existsSync(j));
  if (jar !== undefined) return jar;
  const msg = 'missing maven3-artifact.jar: install with apt-get install -y libmaven3-core-java';
  if (process.env['CI'] === 'true') throw new Error(msg);
  t.skip(msg);
  return undefined;
}

test('Maven qualifier order and equivalences (ComparableVersionTest)', () => {
  assertAscending(compareMaven, ['1-alpha-1', '1-alpha-2', '1-beta-1', '1-milestone-1', '1-rc-1', '1-SNAPSHOT', '1', '1-sp', '1-abc', '1-1', '1.1']);
  assertAscending(compareMaven, ['1.0-alpha1', '1.0-beta1', '1.0-m1', '1.0-rc1', '1.0-SNAPSHOT', '1.0', '1.0-sp1', '1.0.1']);
  assertTable(compareMaven, [
    ['1', '=', '1.0.0'],
    ['1-ga', '=', '1'],
    ['1-final', '=', '1'],
    ['1-release', '=', '1'],
    ['1.0-cr1', '=', '1.0-rc1'],
    ['1a1', '=', '1-alpha-1'],
    ['1b2', '=', '1-beta-2'],
    ['1m3', '=', '1-milestone-3'],
    ['1X', '=', '1x'],
    ['1.0-RC1', '=', '1.0-rc-1'],
    ['2.0.1-xyz', '<', '2.0.1.1'],
    ['1.0.0.x1', '<', '1.0.0-x2'],
    ['1-foo', '<', '1-foo1'],
    ['1.0-alpha', '<', '1.0'],
    ['1.0.0-a', '>', '1.0.0'], // a lone 'a' not followed by a digit is an unknown qualifier
    ['1.0.a', '<', '1.0.1'],
    ['1.00000000000000000000001', '>', '1.0'],
    ['99999999999999999999', '>', '9999999999'],
  ]);
  assert.equal(isValidMaven('1.0 beta'), false);
  assert.equal(isValidMaven(''), false);
  assert.equal(isValidMaven('1.0-SNAPSHOT'), true);
});

const TOKENS_NUM = ['0', '1', '1', '2', '10', '00', '01', '123456789012', '99999999999999999999', '0000'];
const TOKENS_STR = ['alpha', 'a', 'b', 'm', 'beta', 'milestone', 'rc', 'cr', 'snapshot', 'SNAPSHOT', 'ga', 'final', 'release', 'sp', 'foo', 'bar', 'x', 'RC', 'Final', 'GA', 'abc', 'mm'];

function genMaven(rng: Rng): string {
  let s = rng.chance(0.9) ? rng.pick(TOKENS_NUM) : rng.pick(TOKENS_STR);
  const n = rng.int(6);
  for (let i = 0; i < n; i++) {
    const sep = rng.pick(['.', '.', '-', '-', '']);
    const tok = rng.chance(0.5) ? rng.pick(TOKENS_NUM) : rng.pick(TOKENS_STR);
    s += rng.chance(0.05) ? sep : sep + tok; // sometimes an empty item
  }
  if (rng.chance(0.03)) s = rng.pick(['.', '-', '']) + s;
  return s;
}

test('agrees with Maven ComparableVersion on 8000 generated pairs', (t) => {
  const jar = mavenJar(t);
  if (jar === undefined) return;
  const dir = tempDir(t);
  const src = join(dir, 'MavenCmp.java');
  writeFileSync(src, PROGRAM);
  const pairs = makePairs(new Rng(0x3a7e4), 8000, genMaven).filter(([a, b]) => a !== '' && b !== '');
  assertConsistent(compareMaven, pairs);
  const verdicts: Verdict[] = runBatch('java', ['-cp', jar, src], pairs).map((l) => ({ validA: true, validB: true, cmp: Number(l) }));
  // Every string is a Maven version; isValidMaven only refuses blanks, which the generator never makes.
  assertAgrees(t, pairs, verdicts, compareMaven, () => true);
});
