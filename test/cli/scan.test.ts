/**
 * `portcullis scan` and `portcullis db` end to end: the real CLI in a child process, feeds in their
 * published formats built into a DB by `db build`, and an image written in code that reproduces
 * both incidents behind Portcullis: a vulnerable openssl and an entrypoint that does not exist
 * (/app/processr instead of /app/processor) — plus a credential in a file a later layer deleted.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { makeTar, type LayerEntry } from '../helpers/images.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/env.js';
import { createProject, startTestServer } from '../helpers/server.js';


const run = runCli;

const sha = (b: Uint8Array | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Writes an OCI layout holding one image, tagged `tag`. */
async function writeImage(dir: string, tag: string, layers: readonly (readonly LayerEntry[])[], config: object): Promise<{ layerDigests: string[]; diffIds: string[] }> {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (b: Buffer): string => {
    const d = sha(b);
    writeFileSync(join(dir, 'blobs', 'sha256', d.slice(7)), b);
    return d;
  };
  const layerDescs = [];
  const diffIds: string[] = [];
  for (const entries of layers) {
    const tar = await makeTar(entries);
    diffIds.push(sha(tar));
    const gz = gzipSync(tar);
    layerDescs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: put(gz), size: gz.length });
  }
  const configBytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2024-01-02T03:04:05Z', ...config, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: put(configBytes), size: configBytes.length }, layers: layerDescs }),
  );
  const md = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: md, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': tag } }] }),
  );
  return { layerDigests: layerDescs.map((l) => l.digest), diffIds };
}

const DPKG_STATUS = `Package: libssl3
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 6149
Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>
Architecture: amd64
Multi-Arch: same
Source: openssl
Version: 3.0.11-1~deb12u2
Description: Secure Sockets Layer toolkit - shared libraries

Package: dash
Status: install ok installed
Priority: required
Essential: yes
Architecture: amd64
Version: 0.5.12-2
Description: POSIX-compliant shell

`;

/** The AWS documentation's example key with its last characters changed: not AWS's allow-listed example. */
const AWS_KEY_ID = ['AKIA', 'QYLPMN5HHHFPZAM2'].join('');
const AWS_SECRET = ['wJalrXUtnFEMI/K7MDENG', '/bPxRfiCYzEXAMPLEKEY'.replace('EXAMPLE', 'Q3R9T2W')].join('');

async function incidentImage(dir: string): Promise<{ layerDigests: string[]; diffIds: string[] }> {
  const base: LayerEntry[] = [
    { type: 'dir', path: 'etc' },
    { type: 'file', path: 'etc/os-release', data: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n' },
    { type: 'dir', path: 'usr/bin' },
    { type: 'symlink', path: 'bin', target: 'usr/bin' },
    { type: 'file', path: 'usr/bin/dash', data: '\x7fELF-not-really', mode: 0o755 },
    { type: 'symlink', path: 'usr/bin/sh', target: 'dash' },
    { type: 'dir', path: 'var/lib/dpkg' },
    { type: 'file', path: 'var/lib/dpkg/status', data: DPKG_STATUS },
  ];
  const app: LayerEntry[] = [
    { type: 'dir', path: 'app' },
    { type: 'file', path: 'app/processor', data: '#!/bin/sh\necho ok\n', mode: 0o755 },
    { type: 'file', path: 'app/.env', data: `REGION=eu-west-1\nAWS_ACCESS_KEY_ID=${AWS_KEY_ID}\naws_secret_access_key = ${AWS_SECRET}\n` },
    { type: 'file', path: 'usr/lib/python3/dist-packages/Django-4.1.5.dist-info/METADATA', data: 'Metadata-Version: 2.1\nName: Django\nVersion: 4.1.5\nLicense: BSD-3-Clause\n\n' },
  ];
  // A later layer deletes the credentials file: it still ships in the image.
  const cleanup: LayerEntry[] = [{ type: 'file', path: 'app/.wh..env', data: '' }];
  return writeImage(dir, 'latest', [base, app, cleanup], { config: { Entrypoint: ['/app/processr'], Cmd: ['--serve'], WorkingDir: '/app', Env: ['PATH=/usr/local/bin:/usr/bin:/bin'] } });
}

const TRACKER = {
  openssl: {
    'CVE-2023-5678': {
      description: 'Generating excessively long X9.42 DH keys may be very slow.',
      scope: 'local',
      releases: { bookworm: { status: 'resolved', repositories: { bookworm: '3.0.11-1~deb12u2' }, fixed_version: '3.0.13-1~deb12u1', urgency: 'not yet assigned' } },
    },
    'CVE-2024-0727': {
      description: 'Processing a maliciously formatted PKCS12 file may lead OpenSSL to crash',
      scope: 'local',
      releases: { bookworm: { status: 'open', repositories: { bookworm: '3.0.11-1~deb12u2' }, urgency: 'low' } },
    },
  },
};
const GHSA_DJANGO = {
  schema_version: '1.4.0',
  id: 'GHSA-2m57-hf25-phgg',
  modified: '2024-02-16T21:14:18Z',
  published: '2023-02-01T06:30:21Z',
  aliases: ['CVE-2023-23969'],
  summary: 'Django contains Uncontrolled Resource Consumption via cached header',
  severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H' }],
  affected: [{ package: { ecosystem: 'PyPI', name: 'django' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '4.1' }, { fixed: '4.1.6' }] }] }],
  database_specific: { severity: 'HIGH' },
};

interface Fixture {
  readonly home: string;
  readonly image: string;
  readonly db: string;
  readonly layers: { layerDigests: string[]; diffIds: string[] };
}

async function fixture(t: TestContext): Promise<Fixture> {
  const home = tempDir(t, 'portcullis-scan-');
  const image = join(home, 'image');
  const layers = await incidentImage(image);
  const feeds = join(home, 'feeds');
  mkdirSync(join(feeds, 'osv'), { recursive: true });
  writeFileSync(join(feeds, 'debian.json'), JSON.stringify(TRACKER));
  writeFileSync(join(feeds, 'osv', 'GHSA-2m57-hf25-phgg.json'), JSON.stringify(GHSA_DJANGO));
  const db = join(home, 'advisory.db');
  const built = await run(home, ['db', 'build', '-o', db, join(feeds, 'debian.json'), join(feeds, 'osv')]);
  assert.equal(built.code, 0, built.stderr);
  return { home, image, db, layers };
}

interface TrivyJson {
  SchemaVersion: number;
  ArtifactName: string;
  ArtifactType: string;
  Metadata: { OS?: { Family: string; Name: string }; Warnings?: string[] };
  Results?: {
    Target: string;
    Class: string;
    Type: string;
    Vulnerabilities?: { VulnerabilityID: string; PkgName: string; InstalledVersion: string; FixedVersion?: string; Status: string; Severity: string; Layer?: { Digest?: string; DiffID?: string }; PkgIdentifier: { PURL: string } }[];
    Secrets?: { RuleID: string; StartLine: number; Match: string; Layer?: { Digest?: string } }[];
    Misconfigurations?: { ID: string; Message: string; Severity: string }[];
  }[];
}

test('scan finds the vulnerable openssl, Django, the deleted credentials and the /app/processr entrypoint', async (t) => {
  const f = await fixture(t);
  const r = await run(f.home, ['scan', `oci-dir:${f.image}:latest`, '--db', f.db, '-f', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as TrivyJson;
  assert.equal(report.SchemaVersion, 2);
  assert.equal(report.ArtifactType, 'container_image');
  assert.deepEqual(report.Metadata.OS, { Family: 'debian', Name: '12' });
  // The DB speaks for Debian 12 and PyPI: everything was checked, and nothing says otherwise.
  assert.equal(report.Metadata.Warnings, undefined);
  assert.doesNotMatch(r.stderr, /not checked/);
  const vulns = (report.Results ?? []).flatMap((x) => (x.Vulnerabilities ?? []).map((v) => ({ target: x.Class, ...v })));
  assert.deepEqual(
    vulns.map((v) => [v.target, v.VulnerabilityID, v.PkgName, v.InstalledVersion, v.FixedVersion ?? '', v.Status]).sort(),
    [
      ['lang-pkgs', 'CVE-2023-23969', 'Django', '4.1.5', '4.1.6', 'fixed'],
      ['os-pkgs', 'CVE-2023-5678', 'libssl3', '3.0.11-1~deb12u2', '3.0.13-1~deb12u1', 'fixed'],
      ['os-pkgs', 'CVE-2024-0727', 'libssl3', '3.0.11-1~deb12u2', '', 'affected'],
    ],
  );
  const ssl = vulns.find((v) => v.VulnerabilityID === 'CVE-2023-5678')!;
  assert.deepEqual(ssl.Layer, { Digest: f.layers.layerDigests[0], DiffID: f.layers.diffIds[0] });
  assert.match(ssl.PkgIdentifier.PURL, /^pkg:deb\/debian\/libssl3@3\.0\.11-1~deb12u2\?/);
  assert.equal(vulns.find((v) => v.VulnerabilityID === 'CVE-2023-23969')!.Severity, 'HIGH');

  const secrets = (report.Results ?? []).filter((x) => x.Class === 'secret');
  assert.deepEqual(secrets.map((s) => s.Target), ['/app/.env']);
  const found = secrets[0]!.Secrets!;
  assert.ok(found.length >= 2, JSON.stringify(found));
  for (const s of found) assert.equal(s.Layer?.Digest, f.layers.layerDigests[1]);
  assert.ok(!r.stdout.includes(AWS_SECRET) && !r.stdout.includes(AWS_KEY_ID), 'secrets are redacted');

  const config = (report.Results ?? []).find((x) => x.Class === 'config')!;
  const ids = config.Misconfigurations!.map((m) => m.ID).sort();
  assert.deepEqual(ids, ['DS001', 'DS002', 'DS026', 'PCL-IMG-001']);
  const entry = config.Misconfigurations!.find((m) => m.ID === 'PCL-IMG-001')!;
  assert.equal(entry.Severity, 'CRITICAL');
  assert.match(entry.Message, /\/app\/processr/);
  assert.match(entry.Message, /\/app\/processor/);
});

test('exit codes, severity and unfixed filters, ignore files, table and SARIF output', async (t) => {
  const f = await fixture(t);
  const src = `oci-dir:${f.image}:latest`;
  const findings = await run(f.home, ['scan', src, '--db', f.db, '--exit-code', '3']);
  assert.equal(findings.code, 3, findings.stderr);
  assert.match(findings.stdout, /Total: \d+ \(UNKNOWN: \d+, LOW: \d+, MEDIUM: \d+, HIGH: \d+, CRITICAL: \d+\)/);
  assert.match(findings.stdout, /CVE-2023-5678/);

  const onlyVulnCritical = await run(f.home, ['scan', src, '--db', f.db, '--scanners', 'vuln', '--severity', 'CRITICAL', '--exit-code', '3', '-f', 'json']);
  assert.equal(onlyVulnCritical.code, 0, 'nothing CRITICAL among the vulnerabilities: exit 0');

  const unfixed = await run(f.home, ['scan', src, '--db', f.db, '--scanners', 'vuln', '--ignore-unfixed', '-f', 'json']);
  const ids = (JSON.parse(unfixed.stdout) as TrivyJson).Results!.flatMap((x) => (x.Vulnerabilities ?? []).map((v) => v.VulnerabilityID)).sort();
  assert.deepEqual(ids, ['CVE-2023-23969', 'CVE-2023-5678']);

  writeFileSync(join(f.home, 'ignore'), '# accepted until the next base image\nCVE-2023-5678\nCVE-2023-23969 exp:2000-01-01\n');
  const ignored = await run(f.home, ['scan', src, '--db', f.db, '--scanners', 'vuln', '--ignorefile', 'ignore', '-f', 'json']);
  const left = (JSON.parse(ignored.stdout) as TrivyJson).Results!.flatMap((x) => (x.Vulnerabilities ?? []).map((v) => v.VulnerabilityID)).sort();
  assert.deepEqual(left, ['CVE-2023-23969', 'CVE-2024-0727'], 'an expired entry no longer suppresses');

  const sarif = await run(f.home, ['scan', src, '--db', f.db, '-f', 'sarif', '-o', 'out.sarif']);
  assert.equal(sarif.code, 0, sarif.stderr);
  assert.equal(sarif.stdout, '');
  const log = JSON.parse(readFileSync(join(f.home, 'out.sarif'), 'utf8')) as { version: string; runs: { results: { ruleId: string }[] }[] };
  assert.equal(log.version, '2.1.0');
  assert.ok(log.runs[0]!.results.some((x) => x.ruleId === 'CVE-2023-5678'));
  assert.ok(log.runs[0]!.results.some((x) => x.ruleId === 'PCL-IMG-001'));

  const cdx = await run(f.home, ['scan', src, '--db', f.db, '--scanners', 'vuln', '-f', 'cyclonedx']);
  const bom = JSON.parse(cdx.stdout) as { bomFormat: string; vulnerabilities: { id: string }[] };
  assert.equal(bom.bomFormat, 'CycloneDX');
  assert.deepEqual(bom.vulnerabilities.map((v) => v.id).sort(), ['CVE-2023-23969', 'CVE-2023-5678', 'CVE-2024-0727']);
});

test('a warm rescan reads no layer: the same findings from the cache', async (t) => {
  const f = await fixture(t);
  const src = `oci-dir:${f.image}:latest`;
  const first = await run(f.home, ['scan', src, '--db', f.db, '-f', 'json']);
  // Remove the layer blobs: a rescan that needed them would fail.
  for (const d of f.layers.layerDigests) writeFileSync(join(f.image, 'blobs', 'sha256', d.slice(7)), 'gone');
  const second = await run(f.home, ['scan', src, '--db', f.db, '-f', 'json']);
  assert.equal(second.code, 0, second.stderr);
  const strip = (s: string): unknown => ({ ...(JSON.parse(s) as object), CreatedAt: undefined });
  assert.deepEqual(strip(second.stdout), strip(first.stdout));
});

test('scan sbom:FILE matches through the source packages an SBOM records; fs:DIR reads lockfiles, Dockerfiles and secrets', async (t) => {
  const f = await fixture(t);
  const sbom = await run(f.home, ['sbom', `oci-dir:${f.image}:latest`, '-f', 'cyclonedx-json', '-o', 'image.cdx.json']);
  assert.equal(sbom.code, 0, sbom.stderr);
  const fromSbom = await run(f.home, ['scan', 'sbom:image.cdx.json', '--db', f.db, '-f', 'json']);
  assert.equal(fromSbom.code, 0, fromSbom.stderr);
  const rep = JSON.parse(fromSbom.stdout) as TrivyJson;
  assert.equal(rep.ArtifactType, 'cyclonedx');
  assert.deepEqual(rep.Results!.flatMap((x) => (x.Vulnerabilities ?? []).map((v) => v.VulnerabilityID)).sort(), ['CVE-2023-23969', 'CVE-2023-5678', 'CVE-2024-0727']);

  const src = join(f.home, 'checkout');
  mkdirSync(src);
  writeFileSync(join(src, 'requirements.txt'), 'Django==4.1.5\nrequests==2.31.0\n');
  writeFileSync(join(src, 'Cargo.lock'), 'version = 3\n\n[[package]]\nname = "smallvec"\nversion = "1.6.0"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n');
  writeFileSync(join(src, 'Dockerfile'), 'FROM python:latest\nCOPY . /app\nCMD ["python", "/app/main.py"]\n');
  writeFileSync(join(src, 'settings.py'), `GITHUB_TOKEN = "${['ghp', '_', 'R8fK2mQ7xLp4Wn9Tz3Vb6Yc1Hd5Js0AeGu2'].join('')}"\n`);
  const fs = await run(f.home, ['scan', 'fs:checkout', '--db', f.db, '-f', 'json']);
  assert.equal(fs.code, 0, fs.stderr);
  const frep = JSON.parse(fs.stdout) as TrivyJson;
  assert.equal(frep.ArtifactType, 'filesystem');
  // The DB holds nothing for Rust crates: said on stderr and in the report, never a silent "no vulnerabilities".
  const cargoWarning = 'the advisory DB holds no data for crates.io: 1 crates.io package was not checked for vulnerabilities';
  assert.deepEqual(frep.Metadata.Warnings, [cargoWarning]);
  assert.ok(fs.stderr.includes(`warning: ${cargoWarning}`), fs.stderr);
  const pip = frep.Results!.find((x) => x.Target === 'requirements.txt')!;
  assert.equal(pip.Type, 'pip');
  assert.deepEqual(pip.Vulnerabilities!.map((v) => v.VulnerabilityID), ['CVE-2023-23969']);
  const docker = frep.Results!.find((x) => x.Target === 'Dockerfile')!;
  assert.ok(docker.Misconfigurations!.some((m) => m.ID === 'DS001'));
  assert.ok(docker.Misconfigurations!.some((m) => m.ID === 'DS002'));
  assert.deepEqual(frep.Results!.filter((x) => x.Class === 'secret').map((x) => x.Target), ['/settings.py']);
});

test('bad input: unknown scanner, severity or format, a missing or foreign DB, a bad source', async (t) => {
  const f = await fixture(t);
  const src = `oci-dir:${f.image}:latest`;
  const scanner = await run(f.home, ['scan', src, '--db', f.db, '--scanners', 'vuln,licence']);
  assert.equal(scanner.code, 2);
  assert.match(scanner.stderr, /unknown scanner "licence": valid ones are vuln, secret, config/);
  const severity = await run(f.home, ['scan', src, '--db', f.db, '--severity', 'SEVERE']);
  assert.equal(severity.code, 2);
  assert.match(severity.stderr, /UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL/);
  const format = await run(f.home, ['scan', src, '--db', f.db, '-f', 'xml']);
  assert.equal(format.code, 2);
  assert.match(format.stderr, /table, json, sarif, cyclonedx/);
  const missing = await run(f.home, ['scan', src, '--db', 'nope.db']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no advisory DB at .*nope\.db: make one from the official feeds with `portcullis db update --db .*nope\.db`/);
  writeFileSync(join(f.home, 'random.db'), Buffer.alloc(4096, 7));
  const random = await run(f.home, ['scan', src, '--db', 'random.db']);
  assert.equal(random.code, 1);
  assert.match(random.stderr, /not an advisory DB/);
  // An SQLite file of someone else's.
  const other = new Database(join(f.home, 'other.db'));
  other.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  other.close();
  const foreign = await run(f.home, ['db', 'info', '--db', 'other.db']);
  assert.equal(foreign.code, 1);
  assert.match(foreign.stderr, /an SQLite file but not a Portcullis advisory DB/);
  const source = await run(f.home, ['scan', 'Not A/Valid:Reference!', '--db', f.db]);
  assert.equal(source.code, 2);
  const bad = await run(f.home, ['scan', src, '--db', f.db, '--exit-code', 'x']);
  assert.equal(bad.code, 2);
  const stale = await run(f.home, ['scan', src, '--db', f.db, '--scanners', 'vuln', '--db-max-age', '1s', '-f', 'json'], {});
  await new Promise((r) => setTimeout(r, 1100));
  const stale2 = await run(f.home, ['scan', src, '--db', f.db, '--scanners', 'vuln', '--db-max-age', '1s', '-f', 'json']);
  assert.equal(stale.code, 0);
  assert.match(stale2.stderr, /warning: the advisory DB .* was built .* ago/);
});

test('db info, and db push / pull through a Portcullis registry', async (t) => {
  const f = await fixture(t);
  const info = await run(f.home, ['db', 'info', '--db', f.db, '-f', 'json']);
  assert.equal(info.code, 0, info.stderr);
  const parsed = JSON.parse(info.stdout) as { schemaVersion: number; counts: { vulnerabilities: number; ecosystems: Record<string, number> }; sources: { feed: string }[] };
  const infoToFile = await run(f.home, ['db', 'info', '--db', f.db, '-f', 'json', '-o', 'info.json']);
  assert.equal(infoToFile.code, 0, infoToFile.stderr);
  assert.equal(infoToFile.stdout, '');
  assert.deepEqual(JSON.parse(readFileSync(join(f.home, 'info.json'), 'utf8')), parsed);
  assert.equal(parsed.schemaVersion, 1);
  assert.equal(parsed.counts.vulnerabilities, 3);
  assert.deepEqual(parsed.counts.ecosystems, { 'debian:12': 2, pypi: 1 });

  const server = await startTestServer(t);
  await createProject(server, 'security');
  mkdirSync(join(f.home, '.docker'), { recursive: true });
  writeFileSync(join(f.home, '.docker', 'config.json'), JSON.stringify({ auths: { [server.host]: { auth: Buffer.from('admin:admin-password-1').toString('base64') } } }));
  const ref = `${server.host}/security/advisory-db:1`;
  const push = await run(f.home, ['db', 'push', ref, '--db', f.db, '--insecure']);
  assert.equal(push.code, 0, push.stderr);
  const pulled = join(f.home, 'pulled', 'advisory.db');
  const pull = await run(f.home, ['db', 'pull', ref, '--db', pulled, '--insecure']);
  assert.equal(pull.code, 0, pull.stderr);
  assert.deepEqual(readFileSync(pulled), readFileSync(f.db));
  // A scan with the pulled DB finds the same.
  const scan = await run(f.home, ['scan', `oci-dir:${f.image}:latest`, '--db', pulled, '--scanners', 'vuln', '-f', 'json']);
  assert.equal((JSON.parse(scan.stdout) as TrivyJson).Results!.flatMap((x) => x.Vulnerabilities ?? []).length, 3);
  // Pulling something that is not a DB leaves the current one alone.
  const notDb = await run(f.home, ['db', 'pull', `${server.host}/security/advisory-db:missing`, '--db', pulled, '--insecure']);
  assert.equal(notDb.code, 1);
  assert.ok(existsSync(pulled));
  assert.deepEqual(readFileSync(pulled), readFileSync(f.db));
});

test('sbom takes -f FORMAT and -o FILE as scan does; the shipped -o FORMAT and --file PATH still work, with a note', async (t) => {
  const home = tempDir(t, 'portcullis-sbom-flags-');
  mkdirSync(join(home, 'rootfs', 'var', 'lib', 'dpkg'), { recursive: true });
  writeFileSync(join(home, 'rootfs', 'var', 'lib', 'dpkg', 'status'), DPKG_STATUS);
  const src = 'dir:rootfs';
  const OLD_O = /^warning: portcullis sbom -o FORMAT is deprecated: use -f FORMAT \(and -o FILE for the output file\)$/m;
  const OLD_FILE = /^warning: portcullis sbom --file PATH is deprecated: use -o PATH$/m;
  const names = (text: string): string[] => (JSON.parse(text) as { components: { name: string }[] }).components.map((c) => c.name).sort();

  const toFile = await run(home, ['sbom', src, '-f', 'cyclonedx-json', '-o', 'new.cdx.json']);
  assert.equal(toFile.code, 0, toFile.stderr);
  assert.equal(toFile.stdout, '');
  assert.doesNotMatch(toFile.stderr, /deprecated/);
  assert.deepEqual(names(readFileSync(join(home, 'new.cdx.json'), 'utf8')), ['dash', 'libssl3']);
  const json = await run(home, ['sbom', src, '--format', 'json']);
  assert.equal(json.code, 0, json.stderr);
  assert.equal((JSON.parse(json.stdout) as { schema: string }).schema, 'https://portcullis.dev/schemas/inventory/v1');
  assert.match((await run(home, ['sbom', src])).stdout, /^libssl3\s+3\.0\.11-1~deb12u2\s+deb$/m, 'a table by default');

  // The old spellings: -o FORMAT alone, and with --file PATH.
  const oldFormat = await run(home, ['sbom', src, '-o', 'json']);
  assert.equal(oldFormat.code, 0, oldFormat.stderr);
  assert.equal(oldFormat.stdout, json.stdout);
  assert.match(oldFormat.stderr, OLD_O);
  assert.equal(existsSync(join(home, 'json')), false, '-o json wrote a file named json');
  const oldBoth = await run(home, ['sbom', src, '-o', 'cyclonedx-json', '--file', 'old.cdx.json']);
  assert.equal(oldBoth.code, 0, oldBoth.stderr);
  assert.equal(oldBoth.stdout, '');
  assert.match(oldBoth.stderr, OLD_O);
  assert.match(oldBoth.stderr, OLD_FILE);
  assert.deepEqual(names(readFileSync(join(home, 'old.cdx.json'), 'utf8')), ['dash', 'libssl3']);
  const oldFile = await run(home, ['sbom', src, '-f', 'json', '--file', 'old.json']);
  assert.equal(oldFile.code, 0, oldFile.stderr);
  assert.match(oldFile.stderr, OLD_FILE);
  assert.doesNotMatch(oldFile.stderr, OLD_O);
  assert.equal(readFileSync(join(home, 'old.json'), 'utf8'), json.stdout);
  // A file whose name is a format's: ./NAME.
  assert.equal((await run(home, ['sbom', src, '-f', 'json', '-o', './table'])).code, 0);
  assert.equal(readFileSync(join(home, 'table'), 'utf8'), json.stdout);

  // Contradictions and bad values are usage errors.
  for (const args of [['-f', 'spdx-json', '-o', 'json'], ['-o', 'a.json', '--file', 'b.json'], ['-f', 'xml']]) {
    const r = await run(home, ['sbom', src, ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    assert.equal(r.stdout, '');
  }
  // The help shows the new spelling only.
  const help = await run(home, ['help', 'sbom']);
  assert.match(help.stdout, /-f, --format <format>/);
  assert.match(help.stdout, /-o, --output <file>/);
  assert.doesNotMatch(help.stdout, /--file/);
});

test('db build takes -o FILE; the shipped --out FILE still works, with a note', async (t) => {
  const home = tempDir(t, 'portcullis-db-flags-');
  writeFileSync(join(home, 'debian.json'), JSON.stringify(TRACKER));
  const old = await run(home, ['db', 'build', '--out', 'old.db', 'debian.json']);
  assert.equal(old.code, 0, old.stderr);
  assert.match(old.stderr, /^warning: portcullis db build --out FILE is deprecated: use -o FILE$/m);
  assert.equal((await run(home, ['db', 'info', '--db', 'old.db'])).code, 0);
  const current = await run(home, ['db', 'build', '--output', 'new.db', 'debian.json']);
  assert.equal(current.code, 0, current.stderr);
  assert.doesNotMatch(current.stderr, /deprecated/);
  assert.equal((await run(home, ['db', 'info', '--db', 'new.db'])).code, 0);
  const none = await run(home, ['db', 'build', 'debian.json']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /give -o FILE/);
  assert.equal((await run(home, ['db', 'build', '--out', 'a.db', '-o', 'b.db', 'debian.json'])).code, 2);
});

test('KEV and EPSS: findings carry them; --known-exploited, --epss-threshold and --sort risk; the table marks KEV findings', async (t) => {
  const f = await fixture(t);
  const feeds = join(f.home, 'feeds');
  // CISA's catalogue and FIRST's daily CSV in their published forms; the listings are made up for
  // this image (CVE-2023-5678 is not in the real catalogue).
  writeFileSync(
    join(feeds, 'known_exploited_vulnerabilities.json'),
    JSON.stringify({
      title: 'CISA Catalog of Known Exploited Vulnerabilities',
      catalogVersion: '2099.01.02',
      dateReleased: '2099-01-02T15:00:00.000Z',
      count: 1,
      vulnerabilities: [{ cveID: 'CVE-2023-5678', vendorProject: 'OpenSSL', product: 'OpenSSL', vulnerabilityName: 'OpenSSL X9.42 DH Excessive Time', dateAdded: '2099-01-02', shortDescription: '...', requiredAction: 'Apply mitigations per vendor instructions.', dueDate: '2099-01-23', knownRansomwareCampaignUse: 'Unknown', notes: '', cwes: ['CWE-476'] }],
    }),
  );
  writeFileSync(join(feeds, 'epss_scores-2099-01-02.csv.gz'), gzipSync('#model_version:v2025.03.14,score_date:2099-01-02T12:55:00Z\ncve,epss,percentile\nCVE-2023-5678,0.00421,0.61\nCVE-2023-23969,0.91,0.99\nCVE-2024-0727,0.0123,0.79\nCVE-2099-9999,0.5,0.9\n'));
  const db = join(f.home, 'risk.db');
  const built = await run(f.home, ['db', 'build', '-o', db, join(feeds, 'debian.json'), join(feeds, 'osv'), join(feeds, 'known_exploited_vulnerabilities.json'), join(feeds, 'epss_scores-2099-01-02.csv.gz')]);
  assert.equal(built.code, 0, built.stderr);

  type Finding = { VulnerabilityID: string; KnownExploited?: { DateAdded: string; DueDate?: string }; EPSS?: { Score: number; Percentile: number; Date?: string } };
  const ids = async (...args: string[]): Promise<Finding[]> => {
    const r = await run(f.home, ['scan', `oci-dir:${f.image}:latest`, '--db', db, '--scanners', 'vuln', '-f', 'json', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return ((JSON.parse(r.stdout) as { Results?: { Vulnerabilities?: Finding[] }[] }).Results ?? []).flatMap((x) => x.Vulnerabilities ?? []);
  };
  const all = await ids();
  const byId = new Map(all.map((v) => [v.VulnerabilityID, v]));
  assert.deepEqual(byId.get('CVE-2023-5678')!.KnownExploited, { DateAdded: '2099-01-02', DueDate: '2099-01-23' });
  assert.deepEqual(byId.get('CVE-2024-0727')!.EPSS, { Score: 0.0123, Percentile: 0.79, Date: '2099-01-02' });
  assert.equal(byId.get('CVE-2024-0727')!.KnownExploited, undefined);
  assert.deepEqual(byId.get('CVE-2023-23969')!.EPSS, { Score: 0.91, Percentile: 0.99, Date: '2099-01-02' });

  assert.deepEqual((await ids('--known-exploited')).map((v) => v.VulnerabilityID), ['CVE-2023-5678']);
  assert.deepEqual((await ids('--epss-threshold', '0.01')).map((v) => v.VulnerabilityID).sort(), ['CVE-2023-23969', 'CVE-2024-0727']);
  // The OS result's two findings: by package and severity by default, the known exploited first by risk.
  assert.deepEqual((await ids()).map((v) => v.VulnerabilityID).filter((id) => id !== 'CVE-2023-23969'), ['CVE-2024-0727', 'CVE-2023-5678']);
  assert.deepEqual((await ids('--sort', 'risk')).map((v) => v.VulnerabilityID).filter((id) => id !== 'CVE-2023-23969'), ['CVE-2023-5678', 'CVE-2024-0727']);

  const table = await run(f.home, ['scan', `oci-dir:${f.image}:latest`, '--db', db, '--scanners', 'vuln']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /CVE-2023-5678 \(KEV\)/);
  assert.doesNotMatch(table.stdout, /CVE-2024-0727 \(KEV\)/);

  const bad = await run(f.home, ['scan', `oci-dir:${f.image}:latest`, '--db', db, '--epss-threshold', '2']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--epss-threshold must be a probability from 0 to 1/);
});
