import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileFromBytes, type Finding, type RawPackage } from '../../../src/sbom/index.js';
import { apkCataloger } from '../../../src/sbom/catalogers/apk.js';

/**
 * An installed database in apk-tools' format (apk-package(5) index keys), as Alpine 3.19 writes
 * it, plus a record from an older release (space-separated license names), a record with a
 * garbled line, and a record cut off at the end of the file.
 */
const FIXTURE = readFileSync(new URL('../../../../test/fixtures/sbom/os/apk-installed', import.meta.url));

async function catalog(bytes: Uint8Array): Promise<{ packages: RawPackage[]; warnings: string[] }> {
  const warnings: string[] = [];
  const findings: readonly Finding[] = await apkCataloger.parse(fileFromBytes('lib/apk/db/installed', bytes), { warn: (m) => warnings.push(m) });
  return { packages: findings.flatMap((f) => (f.kind === 'package' ? [f.package] : [])), warnings };
}

const apk = (name: string, version: string, origin: string, licenses: string[], maintainer?: string): RawPackage => ({
  type: 'apk',
  name,
  version,
  arch: 'x86_64',
  source: { name: origin, version },
  licenses,
  ...(maintainer === undefined ? {} : { properties: { maintainer } }),
});

test('the installed database yields every complete record', async () => {
  const { packages, warnings } = await catalog(FIXTURE);
  assert.deepEqual(packages, [
    apk('alpine-baselayout-data', '3.4.3-r2', 'alpine-baselayout', ['GPL-2.0-only'], 'Natanael Copa <ncopa@alpinelinux.org>'),
    apk('musl', '1.2.4_git20230717-r4', 'musl', ['MIT'], 'Timo Teräs <timo.teras@iki.fi>'),
    apk('busybox', '1.36.1-r15', 'busybox', ['GPL-2.0-only'], 'Sören Tempel <soeren+alpine@soeren-tempel.net>'),
    apk('libcrypto3', '3.1.4-r2', 'openssl', ['Apache-2.0'], 'Ariadne Conill <ariadne@dereferenced.org>'),
    apk('ssl_client', '1.36.1-r15', 'busybox', ['GPL-2.0-only'], 'Sören Tempel <soeren+alpine@soeren-tempel.net>'),
    apk('ca-certificates-bundle', '20230506-r0', 'ca-certificates', ['MPL-2.0 AND MIT'], 'Natanael Copa <ncopa@alpinelinux.org>'),
    // Names that are not all SPDX ids stay as the record gives them.
    apk('musl-utils', '1.1.20-r4', 'musl', ['MIT BSD GPL2+'], 'Timo Teräs <timo.teras@iki.fi>'),
    // A space-separated list of SPDX ids (older abuild) becomes one license each.
    apk('scanelf', '1.2.3-r1', 'pax-utils', ['GPL-2.0-only', 'BSD-2-Clause']),
  ]);
  assert.equal(warnings.length, 2, warnings.join('\n'));
  assert.match(warnings[0]!, /line \d+: not a "K:value" line/);
  assert.match(warnings[1]!, /no package name \(P:\) or version \(V:\)/);
});

test('a record without an origin is its own source; a missing arch stays unset', async () => {
  const { packages } = await catalog(Buffer.from('P:solo\nV:1.0-r0\n'));
  assert.deepEqual(packages, [{ type: 'apk', name: 'solo', version: '1.0-r0', source: { name: 'solo', version: '1.0-r0' } }]);
});

test('wants the installed database only', () => {
  assert.ok(apkCataloger.wants('lib/apk/db/installed', 1, 0o644));
  for (const p of ['lib/apk/db/scripts.tar', 'lib/apk/db/installed.bak', 'x/lib/apk/db/installed', 'etc/apk/world']) assert.ok(!apkCataloger.wants(p, 1, 0o644), p);
});

test('truncation at any byte never throws and keeps the records before the cut', async () => {
  const complete = (await catalog(FIXTURE)).packages;
  for (let cut = 0; cut <= FIXTURE.length; cut += 97) {
    const { packages } = await catalog(FIXTURE.subarray(0, cut));
    // Each package found is one of the complete file's, possibly with a shorter version/field cut at the end.
    for (const p of packages.slice(0, -1)) assert.ok(complete.some((c) => c.name === p.name && c.version === p.version), `cut ${cut}: ${p.name}`);
    assert.ok(packages.length <= complete.length);
  }
});

test('garbage bytes give capped warnings and no packages', async () => {
  const junk = Buffer.alloc(512 * 1024);
  let x = 99;
  for (let i = 0; i < junk.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    junk[i] = x >>> 24;
  }
  const { packages, warnings } = await catalog(junk);
  assert.deepEqual(packages, []);
  assert.ok(warnings.length >= 1 && warnings.length <= 21, `${warnings.length} warnings`);
});
