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
