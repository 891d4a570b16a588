import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { catalogDirectory, fileFromBytes, type Finding, type RawPackage } from '../../../src/sbom/index.js';
import { dpkgCataloger, dpkgCopyrightCataloger, dpkgStatusDCataloger } from '../../../src/sbom/catalogers/dpkg.js';
import { requireTools, tempDir } from '../../helpers/env.js';

async function catalog(cataloger: typeof dpkgCataloger, path: string, bytes: Uint8Array, size = bytes.byteLength): Promise<{ findings: readonly Finding[]; warnings: string[] }> {
  const warnings: string[] = [];
  const findings = await cataloger.parse(fileFromBytes(path, bytes, 0o644, size), { warn: (m) => warnings.push(m) });
  return { findings, warnings };
}

function packages(findings: readonly Finding[]): RawPackage[] {
  return findings.flatMap((f) => (f.kind === 'package' ? [f.package] : []));
}

/** name, version, arch, source name, source version: the columns dpkg-query prints below. */
function row(p: RawPackage): string {
  return [p.name, p.version, p.arch ?? '', p.source?.name ?? '', p.source?.version ?? ''].join('\t');
}

/** The installed packages of a status file as dpkg itself reads it. */
function dpkgQuery(t: TestContext, status: Uint8Array): string[] {
  const admin = tempDir(t);
  mkdirSync(join(admin, 'updates'));
  mkdirSync(join(admin, 'info'));
  writeFileSync(join(admin, 'status'), status);
  const out = execFileSync('dpkg-query', ['-W', '-f=${Package}\\t${Version}\\t${Architecture}\\t${source:Package}\\t${source:Version}\\t${db:Status-Status}\\n', `--admindir=${admin}`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 64 * 1024 * 1024,
  });
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'))
    .filter((cols) => cols[5] === 'installed')
    .map((cols) => cols.slice(0, 5).join('\t'));
}

/** Stanzas in other states than installed, which dpkg keeps in the status file. */
const OTHER_STATES = `
Package: pc-removed
Status: deinstall ok config-files
Priority: optional
Architecture: amd64
Version: 1.0-1
Conffiles:
 /etc/pc-removed.conf 0123456789abcdef0123456789abcdef obsolete

Package: pc-half
Status: install reinstreq half-installed
Architecture: all
Version: 2.0-1

Package: pc-unpacked
Status: install ok unpacked
Architecture: all
Version: 2.0-1

Package: pc-held
Status: hold ok installed
Maintainer: Portcullis Tests <tests@example.org>
Architecture: amd64
Source: pc-src (1:0.9-2)
Version: 1:1.0-2+b1
Description: a held package
 whose description goes on
 .
 over several lines

Package: pc-purged
Status: purge ok not-installed
Architecture: amd64
`;

test("the machine's dpkg status matches dpkg-query", async (t) => {
  if (!requireTools(t, 'dpkg-query')) return;
  // One read, shared by both sides: the file changes whenever something is installed.
  const status = Buffer.concat([readFileSync('/var/lib/dpkg/status'), Buffer.from(OTHER_STATES)]);
  const expected = dpkgQuery(t, status);
  const { findings, warnings } = await catalog(dpkgCataloger, 'var/lib/dpkg/status', status);
  assert.deepEqual(warnings, []);
  const found = packages(findings);
  assert.deepEqual(found.map(row).sort(), expected.sort());
  assert.ok(expected.length > 50, `only ${expected.length} packages installed?`);
  for (const p of found) {
    assert.equal(p.type, 'deb');
    const epoch = /^(\d+):/.exec(p.version);
    assert.equal(p.epoch, epoch === null ? undefined : Number(epoch[1]), p.name);
  }
  const held = found.find((p) => p.name === 'pc-held');
  assert.deepEqual(held, {
    type: 'deb',
    name: 'pc-held',
    version: '1:1.0-2+b1',
    epoch: 1,
    arch: 'amd64',
    source: { name: 'pc-src', version: '1:0.9-2' },
    properties: { maintainer: 'Portcullis Tests <tests@example.org>' },
  });
});

/** Distroless images: one file per package, no Status field, md5sums files beside them. */
const STATUS_D: Readonly<Record<string, string>> = {
  'base-files': `Package: base-files
Essential: yes
Priority: required
Section: admin
Installed-Size: 341
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: amd64
Multi-Arch: foreign
Version: 12.4+deb12u5
Replaces: base, dpkg (<= 1.15.0), miscutils
Provides: base
Conflicts: base
Description: Debian base system miscellaneous files
 This package contains the basic filesystem hierarchy of a Debian system, and
 several important miscellaneous files, such as /etc/debian_version,
 /etc/host.conf, /etc/issue, /etc/motd, /etc/profile, and others,
 and the text of several common licenses in use on Debian systems.
Homepage: https://tracker.debian.org/pkg/base-files
`,
  libssl3: `Package: libssl3
Source: openssl
Version: 3.0.11-1~deb12u2
Architecture: amd64
Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>
Installed-Size: 6293
Depends: libc6 (>= 2.34)
Section: libs
Priority: optional
Multi-Arch: same
Homepage: https://www.openssl.org/
Description: Secure Sockets Layer toolkit - shared libraries
 This package is part of the OpenSSL project's implementation of the SSL
 and TLS cryptographic protocols for secure communication over the
 Internet.
`,
  'libgcc-s1': `Package: libgcc-s1
Source: gcc-12 (12.2.0-14)
Version: 12.2.0-14
Architecture: amd64
Maintainer: Debian GCC Maintainers <debian-gcc@lists.debian.org>
Description: GCC support library
`,
  tzdata: `Package: tzdata
Version: 2024a-0+deb12u1
Architecture: all
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Description: time zone and daylight-saving time data

Package: tzdata-legacy
Version: 2024a-0+deb12u1
Architecture: all
Source: tzdata
Description: legacy names, a second stanza in the same file
`,
};

test('distroless status.d files match dpkg-query on the same stanzas', async (t) => {
  if (!requireTools(t, 'dpkg-query')) return;
  const found: RawPackage[] = [];
  for (const [name, text] of Object.entries(STATUS_D)) {
    const path = `var/lib/dpkg/status.d/${name}`;
    assert.ok(dpkgStatusDCataloger.wants(path, text.length, 0o644), path);
    const { findings, warnings } = await catalog(dpkgStatusDCataloger, path, Buffer.from(text));
    assert.deepEqual(warnings, []);
    found.push(...packages(findings));
  }
  // dpkg reads status files only: the same stanzas, marked installed, in one.
  const asStatus = Object.values(STATUS_D)
    .join('\n')
    .replace(/^(Package: .*)$/gm, '$1\nStatus: install ok installed');
  assert.deepEqual(found.map(row).sort(), dpkgQuery(t, Buffer.from(asStatus)).sort());
});

test('dpkg wants the status file, its status.d cousin the entries, neither md5sums or other dpkg files', () => {
  assert.ok(dpkgCataloger.wants('var/lib/dpkg/status', 10, 0o644));
  for (const p of ['var/lib/dpkg/status.d/libc6', 'var/lib/dpkg/status.d/libc6:amd64']) {
    assert.ok(dpkgStatusDCataloger.wants(p, 10, 0o644), p);
    assert.ok(!dpkgCataloger.wants(p, 10, 0o644), p);
  }
  assert.ok(!dpkgStatusDCataloger.wants('var/lib/dpkg/status', 10, 0o644));
  for (const p of [
    'var/lib/dpkg/status-old',
    'var/lib/dpkg/status.d/',
    'var/lib/dpkg/status.d/libc6.md5sums',
    'var/lib/dpkg/status.d/sub/libc6',
    'var/lib/dpkg/available',
    'var/lib/dpkg/info/libc6.list',
    'x/var/lib/dpkg/status',
  ]) {
    assert.ok(!dpkgCataloger.wants(p, 10, 0o644), p);
    assert.ok(!dpkgStatusDCataloger.wants(p, 10, 0o644), p);
  }
});

test('package databases are read up to a bound: a status.d entry over 1 MiB is not read, with a warning (red-team: three 60 MiB status.d files took the heap)', async (t) => {
  const root = tempDir(t, 'portcullis-dpkg-bound-');
  mkdirSync(join(root, 'var/lib/dpkg/status.d'), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/status.d/libssl3'), STATUS_D['libssl3']!);
  // A real status.d file is one package; this one is 1 MiB and a byte of stanzas.
  const stanza = 'Package: filler\nVersion: 1\nArchitecture: amd64\n\n';
  writeFileSync(join(root, 'var/lib/dpkg/status.d/hostile'), stanza.repeat(Math.ceil((1024 * 1024 + 1) / stanza.length)));
  const inventory = await catalogDirectory(root, 'dir:hostile', { catalogers: [dpkgStatusDCataloger] });
  assert.deepEqual(inventory.packages.map((p) => p.name), ['libssl3']);
  assert.ok(inventory.warnings.some((w) => /var\/lib\/dpkg\/status\.d\/hostile: \d+ bytes, over the 1048576-byte limit for this kind of file; not read/.test(w)), inventory.warnings.join('\n'));
});

test('a truncated status file keeps the whole stanzas and warns about the cut one', async () => {
  const text = `${STATUS_D['libssl3']!.replace('Package: libssl3', 'Package: libssl3\nStatus: install ok installed')}\nPackage: cut-off\nStatus: install ok installed\nArchitec`;
  const { findings, warnings } = await catalog(dpkgCataloger, 'var/lib/dpkg/status', Buffer.from(text));
  assert.deepEqual(
    packages(findings).map((p) => p.name),
    ['libssl3'],
  );
  assert.equal(warnings.length, 2, warnings.join('\n')); // the "Architec" line, the stanza without Version
});

test('garbage gives capped warnings and no packages, without throwing', async () => {
  const junk = Buffer.alloc(256 * 1024);
  let x = 12345;
  for (let i = 0; i < junk.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    junk[i] = x >>> 24;
  }
  const { findings, warnings } = await catalog(dpkgCataloger, 'var/lib/dpkg/status', junk);
  assert.deepEqual(packages(findings), []);
  assert.ok(warnings.length >= 1 && warnings.length <= 21, `${warnings.length} warnings`);
});

function copyrightText(pkg: string): Buffer | undefined {
  const p = `/usr/share/doc/${pkg}/copyright`;
  return existsSync(p) && lstatSync(p).isFile() ? readFileSync(p) : undefined;
}

async function copyrightLicensesOf(pkg: string): Promise<readonly string[]> {
  const bytes = copyrightText(pkg);
  assert.ok(bytes !== undefined, `${pkg} has no copyright file on this machine`);
  const path = `usr/share/doc/${pkg}/copyright`;
  assert.ok(dpkgCopyrightCataloger.wants(path, bytes.length, 0o644));
  const { findings } = await catalog(dpkgCopyrightCataloger, path, bytes);
  assert.ok(findings.length <= 1);
  const f = findings[0];
  if (f === undefined) return [];
  assert.ok(f.kind === 'license' && f.type === 'deb' && f.name === pkg);
  return f.kind === 'license' ? f.licenses : [];
}

test('licenses of real DEP-5 copyright files (Debian 12)', async () => {
  // What these files state in their License: fields (checked by reading them on Debian 12).
  const bash = await copyrightLicensesOf('bash');
  for (const id of ['GPL-3.0-or-later', 'GPL-2.0-or-later', 'GFDL-NIV-1.3', 'MIT-like']) assert.ok(bash.includes(id), `bash: ${bash.join(', ')}`);
  const coreutils = await copyrightLicensesOf('coreutils');
  for (const id of ['GPL-3.0-or-later', 'ISC', 'GPL-3.0-or-later AND ISC']) assert.ok(coreutils.includes(id), `coreutils: ${coreutils.join(', ')}`);
  assert.deepEqual(await copyrightLicensesOf('zlib1g'), ['Zlib']);
  assert.deepEqual([...(await copyrightLicensesOf('apt'))].sort(), ['BSD-3-Clause', 'GPL-2.0-only', 'GPL-2.0-or-later', 'MIT']);
  const tar = await copyrightLicensesOf('tar');
  for (const id of ['GPL-3.0-or-later', 'LGPL-3.0-or-later']) assert.ok(tar.includes(id), `tar: ${tar.join(', ')}`);
});

test('licenses of a free-form copyright file come from its common-licenses references', async () => {
  // libc6: LGPL 2.1 "or (at your option) any later version", utilities GPL 2 or later.
  assert.deepEqual([...(await copyrightLicensesOf('libc6'))].sort(), ['GPL-2.0-or-later', 'LGPL-2.1-or-later']);
  // base-files points at the unversioned /usr/share/common-licenses/GPL only: nothing is claimed.
  assert.deepEqual(await copyrightLicensesOf('base-files'), []);
});

test("every copyright file on this machine parses; DEP-5 ones mostly yield licenses", async () => {
  let dep5 = 0;
  let withLicenses = 0;
  for (const pkg of readdirSync('/usr/share/doc')) {
    const bytes = copyrightText(pkg);
    if (bytes === undefined) continue;
    const licenses = await copyrightLicensesOf(pkg);
    for (const l of licenses) assert.ok(l.trim() === l && l !== '', `${pkg}: ${JSON.stringify(l)}`);
    if (/^Format:/m.test(bytes.subarray(0, 4096).toString('utf8'))) {
      dep5++;
      if (licenses.length > 0) withLicenses++;
    }
  }
  assert.ok(dep5 > 20 && withLicenses / dep5 > 0.95, `${withLicenses} of ${dep5} DEP-5 files gave licenses`);
});

test('copyright: wants one doc directory level, reads only the head of huge files', async () => {
  assert.ok(dpkgCopyrightCataloger.wants('usr/share/doc/libc6/copyright', 10, 0o644));
  for (const p of ['usr/share/doc/copyright', 'usr/share/doc//copyright', 'usr/share/doc/a/b/copyright', 'usr/share/doc/libc6/copyright.gz', 'usr/share/common-licenses/GPL-2']) {
    assert.ok(!dpkgCopyrightCataloger.wants(p, 10, 0o644), p);
  }
  const head = dpkgCopyrightCataloger.headBytes;
  assert.ok(head !== undefined);
  const filler = 'Files: *\nCopyright: someone\nLicense: MIT\n\n';
  // A file cut by the head mid-line: the partial "License: GPL-2" must not show up as "GPL" or so.
  const text = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n${filler.repeat(Math.ceil(head / filler.length))}`;
  const cut = Buffer.from(`${text.slice(0, head - 12)}License: GPL-2+\n`).subarray(0, head);
  const { findings } = await catalog(dpkgCopyrightCataloger, 'usr/share/doc/x/copyright', cut, head + 1000);
  assert.deepEqual(findings, [{ kind: 'license', type: 'deb', name: 'x', licenses: ['MIT'] }]);
});
