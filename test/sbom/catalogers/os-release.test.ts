import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileFromBytes, type Distro, type Finding } from '../../../src/sbom/index.js';
import { osReleaseCataloger, pickDistro } from '../../../src/sbom/catalogers/os-release.js';
import { tempDir } from '../../helpers/env.js';

async function parse(path: string, text: string): Promise<{ findings: readonly Finding[]; warnings: string[] }> {
  const warnings: string[] = [];
  const findings = await osReleaseCataloger.parse(fileFromBytes(path, Buffer.from(text)), { warn: (m) => warnings.push(m) });
  return { findings, warnings };
}

async function distroOf(path: string, text: string): Promise<Distro | undefined> {
  const { findings } = await parse(path, text);
  const f = findings[0];
  return f?.kind === 'distro' ? f.distro : undefined;
}

/** What the shell makes of an os-release file: it is a shell fragment, so `sh` is the ground truth. */
function shellRead(file: string): Distro {
  const out = execFileSync('sh', ['-c', '. "$1"; printf "%s\\0" "$ID" "$VERSION_ID" "$VERSION_CODENAME" "$PRETTY_NAME" "$ID_LIKE"', 'sh', file], { encoding: 'utf8' });
  const [id, versionId, versionCodename, prettyName, idLike] = out.split('\0');
  return {
    id: (id || 'linux').toLowerCase(),
    ...(versionId ? { versionId } : {}),
    ...(versionCodename ? { versionCodename } : {}),
    ...(prettyName ? { prettyName } : {}),
    ...(idLike ? { idLike: idLike.toLowerCase().split(/\s+/).filter((x) => x !== '') } : {}),
  };
}

const SAMPLES: Readonly<Record<string, string>> = {
  ubuntu: `PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
UBUNTU_CODENAME=jammy
`,
  alpine: `NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.1
PRETTY_NAME="Alpine Linux v3.19"
HOME_URL="https://alpinelinux.org/"
BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"
`,
  rocky: `NAME="Rocky Linux"
VERSION="9.3 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.3"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"
ANSI_COLOR="0;32"
`,
  quoting: `# comment line
ID='Weird'
PRETTY_NAME="A \\"quoted\\" \\$name with \\\\ and a \\x"
VERSION_ID=1.0\\-beta

ID_LIKE="  suse   opensuse "
`,
  distroless: `PRETTY_NAME="Distroless"
NAME="Debian GNU/Linux"
ID="debian"
VERSION_ID="12"
VERSION="Debian GNU/Linux 12 (bookworm)"
HOME_URL="https://github.com/GoogleContainerTools/distroless"
`,
};

test('os-release samples parse as the shell reads them', async (t) => {
  const dir = tempDir(t);
  for (const [name, text] of Object.entries(SAMPLES)) {
    const file = join(dir, name);
    writeFileSync(file, text);
    assert.deepEqual(await distroOf('etc/os-release', text), shellRead(file), name);
  }
});

test("this machine's os-release parses as the shell reads it", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'os-release');
  // A copy, so both readers see the same bytes.
  writeFileSync(file, readFileSync('/etc/os-release'));
  const distro = await distroOf('usr/lib/os-release', readFileSync(file, 'utf8'));
  assert.deepEqual(distro, shellRead(file));
  assert.ok(distro !== undefined && distro.id !== '');
});

test('wants only the distro files', () => {
  for (const p of ['etc/os-release', 'usr/lib/os-release', 'etc/alpine-release', 'etc/debian_version']) assert.ok(osReleaseCataloger.wants(p, 100, 0o644), p);
  for (const p of ['etc/os-release.bak', 'x/etc/os-release', 'etc/lsb-release', 'usr/lib/os-release/x', 'constructor', '__proto__']) {
    assert.ok(!osReleaseCataloger.wants(p, 100, 0o644), p);
  }
});

test('alpine-release and debian_version fallbacks', async () => {
  assert.deepEqual(await distroOf('etc/alpine-release', '3.19.1\n'), { id: 'alpine', versionId: '3.19.1' });
  assert.deepEqual(await distroOf('etc/alpine-release', '3.20.0_alpha20240329\n'), { id: 'alpine', versionId: '3.20.0_alpha20240329' });
  assert.deepEqual(await distroOf('etc/debian_version', '12.5\n'), { id: 'debian', versionId: '12' });
  assert.deepEqual(await distroOf('etc/debian_version', 'trixie/sid\n'), { id: 'debian', versionCodename: 'trixie' });
});

test('garbage gives a warning and no distro', async () => {
  for (const [path, text] of [
    ['etc/os-release', '\u0000\u0001\u0002 not an os-release file at all'],
    ['etc/os-release', ''],
    ['etc/alpine-release', 'hello world\n'],
    ['etc/debian_version', '\u00ff\u00fe\n'],
  ] as const) {
    const { findings, warnings } = await parse(path, text);
    assert.deepEqual(findings, [], path);
    assert.equal(warnings.length, 1, path);
  }
});

test('pickDistro prefers etc/os-release, then usr/lib/os-release, then the fallbacks', () => {
  const a: Distro = { id: 'debian', versionId: '12' };
  const b: Distro = { id: 'debian', versionId: '11' };
  const c: Distro = { id: 'alpine', versionId: '3.19.1' };
  assert.equal(pickDistro([['etc/debian_version', b], ['usr/lib/os-release', a]]), a);
  assert.equal(pickDistro([['usr/lib/os-release', b], ['etc/os-release', a], ['etc/alpine-release', c]]), a);
  assert.equal(pickDistro([['etc/debian_version', b], ['etc/alpine-release', c]]), c);
  assert.equal(pickDistro([['some/other/file', a]]), undefined);
  assert.equal(pickDistro([]), undefined);
});

test('the Red Hat family\'s release files, for images without os-release (CentOS 6, RHEL 6, Amazon Linux AMI)', async () => {
  const cases: [string, string, Distro | undefined][] = [
    ['etc/centos-release', 'CentOS release 6.10 (Final)\n', { id: 'centos', versionId: '6', prettyName: 'CentOS release 6.10 (Final)' }],
    ['etc/centos-release', 'CentOS Linux release 7.9.2009 (Core)\n', { id: 'centos', versionId: '7', prettyName: 'CentOS Linux release 7.9.2009 (Core)' }],
    ['etc/redhat-release', 'CentOS Stream release 9\n', { id: 'centos', versionId: '9', prettyName: 'CentOS Stream release 9' }],
    ['etc/redhat-release', 'Red Hat Enterprise Linux Server release 6.10 (Santiago)\n', { id: 'rhel', versionId: '6.10', prettyName: 'Red Hat Enterprise Linux Server release 6.10 (Santiago)' }],
    ['etc/redhat-release', 'Red Hat Enterprise Linux release 9.3 (Plow)\n', { id: 'rhel', versionId: '9.3', prettyName: 'Red Hat Enterprise Linux release 9.3 (Plow)' }],
    ['etc/redhat-release', 'Rocky Linux release 9.3 (Blue Onyx)\n', { id: 'rocky', versionId: '9.3', prettyName: 'Rocky Linux release 9.3 (Blue Onyx)' }],
    ['etc/redhat-release', 'AlmaLinux release 8.9 (Midnight Oncilla)\n', { id: 'almalinux', versionId: '8.9', prettyName: 'AlmaLinux release 8.9 (Midnight Oncilla)' }],
    ['etc/oracle-release', 'Oracle Linux Server release 6.10\n', { id: 'ol', versionId: '6.10', prettyName: 'Oracle Linux Server release 6.10' }],
    ['etc/system-release', 'Amazon Linux AMI release 2018.03\n', { id: 'amzn', versionId: '2018.03', prettyName: 'Amazon Linux AMI release 2018.03' }],
    ['etc/system-release', 'Amazon Linux release 2 (Karoo)\n', { id: 'amzn', versionId: '2', prettyName: 'Amazon Linux release 2 (Karoo)' }],
    ['etc/system-release', 'Amazon Linux release 2023.3.20240131 (Amazon Linux)\n', { id: 'amzn', versionId: '2023', prettyName: 'Amazon Linux release 2023.3.20240131 (Amazon Linux)' }],
    ['etc/redhat-release', 'Some Linux 1.0\n', undefined],
  ];
  for (const [path, text, want] of cases) assert.deepEqual(await distroOf(path, text), want, text);
  for (const p of ['etc/centos-release', 'etc/oracle-release', 'etc/redhat-release', 'etc/system-release', 'root/buildinfo/content_manifests/ubi9-container-9.3-1361.json']) assert.ok(osReleaseCataloger.wants(p, 100, 0o644), p);
  assert.ok(!osReleaseCataloger.wants('root/buildinfo/content_manifests/sub/x.json', 100, 0o644));
  assert.ok(!osReleaseCataloger.wants('root/buildinfo/Dockerfile-ubi9-9.3-1361', 100, 0o644));
});

test('a Red Hat content manifest names the RHEL major its repositories belong to (UBI images)', async () => {
  const manifest = (sets: string[]): string => JSON.stringify({ metadata: { icm_version: 1, icm_spec: 'https://raw.githubusercontent.com/containerbuildsystem/atomic-reactor/master/atomic_reactor/schemas/content_manifest.json', image_layer_index: 1 }, content_sets: sets, image_contents: [] });
  const path = 'root/buildinfo/content_manifests/ubi9-container-9.3-1361.json';
  assert.deepEqual(await distroOf(path, manifest(['rhel-9-for-x86_64-appstream-rpms', 'rhel-9-for-x86_64-baseos-rpms'])), { id: 'rhel', versionId: '9' });
  assert.deepEqual(await distroOf(path, manifest(['rhel-8-for-x86_64-baseos-eus-rpms__8_DOT_6'])), { id: 'rhel', versionId: '8' });
  assert.deepEqual(await distroOf(path, manifest(['rhel-7-server-rpms'])), { id: 'rhel', versionId: '7' });
  assert.equal(await distroOf(path, manifest(['rhel-8-for-x86_64-baseos-rpms', 'rhel-9-for-x86_64-baseos-rpms'])), undefined);
  assert.equal(await distroOf(path, '{not json'), undefined);
  // os-release first, then the distribution's own files, then a content manifest.
  const rhel93: Distro = { id: 'rhel', versionId: '9.3' };
  const centos: Distro = { id: 'centos', versionId: '6' };
  const manifestDistro: Distro = { id: 'rhel', versionId: '9' };
  assert.equal(pickDistro([[path, manifestDistro], ['etc/os-release', rhel93]]), rhel93);
  assert.equal(pickDistro([[path, manifestDistro], ['etc/redhat-release', centos]]), centos);
  assert.equal(pickDistro([[path, manifestDistro]]), manifestDistro);
  assert.equal(pickDistro([['etc/redhat-release', rhel93], ['etc/oracle-release', centos]]), centos);
});
