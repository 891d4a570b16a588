/**
 * A hand-built scan report of a Debian 12 image with an npm app: OS packages with a fix, without
 * one and that Debian will not fix; npm packages; a secret; two image-config checks. Values are
 * written the way the feeds state them (Debian's tracker, GHSA, NVD's CVSS), not computed by the
 * code under test. The inventory beside it is what the report was scanned from (for CycloneDX).
 */
import { createHash } from 'node:crypto';
import type { Inventory, Package } from '../../../src/sbom/index.js';
import type { ScanReport, VulnerabilityFinding } from '../../../src/scan/model.js';

const hex = (seed: string): string => createHash('sha256').update(seed).digest('hex');
export const LAYER_OS = { digest: `sha256:${hex('layer-os')}`, diffId: `sha256:${hex('diff-os')}` };
export const LAYER_APP = { digest: `sha256:${hex('layer-app')}`, diffId: `sha256:${hex('diff-app')}` };
export const IMAGE_DIGEST = `sha256:${hex('manifest')}`;
export const IMAGE_ID = `sha256:${hex('config')}`;
export const IMAGE = 'registry.example.com/team/app:1.2.3';
export const OS_TARGET = `${IMAGE} (debian 12.5)`;

const DEBIAN = { id: 'debian', name: 'Debian Security Tracker', url: 'https://salsa.debian.org/security-tracker-team/security-tracker' } as const;
const GHSA = { id: 'ghsa', name: 'GitHub Security Advisory npm', url: 'https://github.com/advisories?query=type%3Areviewed+ecosystem%3Anpm' } as const;

function pkgOf(type: Package['type'], name: string, version: string, purl: string, layer: string, path: string): Package {
  return { type, name, version, purl, id: `${type}-${name}-${hex(purl).slice(0, 12)}`, licenses: [], locations: [{ path, layer }], dependsOn: [] };
}

export const libc6 = pkgOf('deb', 'libc6', '2.36-9+deb12u4', 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12.5&upstream=glibc', LAYER_OS.digest, 'var/lib/dpkg/status');
export const libcBin = pkgOf('deb', 'libc-bin', '2.36-9+deb12u4', 'pkg:deb/debian/libc-bin@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12.5&upstream=glibc', LAYER_OS.digest, 'var/lib/dpkg/status');
export const apt = pkgOf('deb', 'apt', '2.6.1', 'pkg:deb/debian/apt@2.6.1?arch=amd64&distro=debian-12.5', LAYER_OS.digest, 'var/lib/dpkg/status');
export const lodash = pkgOf('npm', 'lodash', '4.17.20', 'pkg:npm/lodash@4.17.20', LAYER_APP.digest, 'app/package-lock.json');
export const minimist = pkgOf('npm', 'minimist', '1.2.5', 'pkg:npm/minimist@1.2.5', LAYER_APP.digest, 'app/package-lock.json');

export const INVENTORY: Inventory = {
  subject: {
    reference: IMAGE,
    name: 'registry.example.com/team/app',
    tag: '1.2.3',
    digest: IMAGE_DIGEST,
    platform: { os: 'linux', architecture: 'amd64' },
    layers: [
      { digest: LAYER_OS.digest, diffId: LAYER_OS.diffId },
      { digest: LAYER_APP.digest, diffId: LAYER_APP.diffId },
    ],
  },
  distro: { id: 'debian', versionId: '12', versionCodename: 'bookworm', prettyName: 'Debian GNU/Linux 12 (bookworm)' },
  packages: [libc6, libcBin, apt, lodash, minimist],
  warnings: [],
};

const ref = (p: Package): VulnerabilityFinding['pkg'] => ({ id: p.id, name: p.name, version: p.version, purl: p.purl, ...(p.type === 'deb' && p.name.startsWith('libc') ? { sourceName: 'glibc', sourceVersion: p.version } : {}) });

/** CVE-2024-2961 (iconv ISO-2022-CN-EXT), fixed in bookworm by DSA-5673-1. */
export function glibcIconv(p: Package): VulnerabilityFinding {
  return {
    id: 'CVE-2024-2961',
    aliases: [],
    pkg: ref(p),
    installedVersion: p.version,
    fixedVersion: '2.36-9+deb12u7',
    status: 'fixed',
    severity: 'HIGH',
    severitySource: 'nvd',
    vendorSeverity: { debian: 'HIGH', nvd: 'HIGH', redhat: 'HIGH' },
    cvss: [
      { source: 'nvd', version: '3.1', vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H', score: 8.1 },
      { source: 'redhat', version: '3.1', vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H', score: 8.1 },
    ],
    title: 'glibc: Out of bounds write in iconv may lead to remote code execution',
    description: 'The iconv() function in the GNU C Library versions 2.39 and older may overflow the output buffer passed to it by up to 4 bytes when converting strings to the ISO-2022-CN-EXT character set.',
    primaryUrl: 'https://avd.aquasec.com/nvd/cve-2024-2961',
    references: ['https://security-tracker.debian.org/tracker/CVE-2024-2961', 'https://www.openwall.com/lists/oss-security/2024/04/17/9'],
    published: '2024-04-17T18:15:15.933Z',
    modified: '2024-07-22T18:15:03.19Z',
    layer: LAYER_OS,
    dataSource: DEBIAN,
  };
}

/** CVE-2023-4039 (GCC stack protector on arm64): no fix in bookworm. */
export const gccStackProtector: VulnerabilityFinding = {
  id: 'CVE-2023-4039',
  aliases: [],
  pkg: ref(libc6),
  installedVersion: libc6.version,
  status: 'affected',
  severity: 'MEDIUM',
  severitySource: 'debian',
  vendorSeverity: { debian: 'MEDIUM', nvd: 'MEDIUM' },
  cvss: [{ source: 'nvd', version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:N', score: 4.8 }],
  title: 'gcc: -fstack-protector fails to guard dynamic stack allocations on ARM64',
  references: [],
  layer: LAYER_OS,
  dataSource: DEBIAN,
};

/** CVE-2011-3374 (apt): Debian will not fix, rated LOW (unimportant). */
export const aptKeyring: VulnerabilityFinding = {
  id: 'CVE-2011-3374',
  aliases: [],
  pkg: ref(apt),
  installedVersion: apt.version,
  status: 'will_not_fix',
  severity: 'LOW',
  severitySource: 'debian',
  vendorSeverity: { debian: 'LOW', nvd: 'MEDIUM' },
  cvss: [{ source: 'nvd', version: '2.0', vector: 'AV:N/AC:M/Au:N/C:N/I:P/A:N', score: 4.3 }],
  title: 'It was found that apt-key in apt, all versions, do not correctly validate ...',
  primaryUrl: 'https://avd.aquasec.com/nvd/cve-2011-3374',
  references: ['https://people.canonical.com/~ubuntu-security/cve/2011/CVE-2011-3374.html'],
  published: '2019-11-26T00:15:11.03Z',
  layer: LAYER_OS,
  dataSource: DEBIAN,
};

/** A CRITICAL one on libc6 too, to check the order (same package: severity descending). */
export const glibcCritical: VulnerabilityFinding = {
  id: 'CVE-2023-6246',
  aliases: [],
  pkg: ref(libc6),
  installedVersion: libc6.version,
  fixedVersion: '2.36-9+deb12u7',
  status: 'fixed',
  severity: 'CRITICAL',
  severitySource: 'debian',
  vendorSeverity: { debian: 'CRITICAL' },
  cvss: [],
  title: 'glibc: heap-based buffer overflow in __vsyslog_internal()',
  references: [],
  layer: LAYER_OS,
  dataSource: DEBIAN,
};

export const lodashInjection: VulnerabilityFinding = {
  id: 'CVE-2021-23337',
  aliases: ['GHSA-35jh-r3h4-6jhm'],
  pkg: ref(lodash),
  installedVersion: lodash.version,
  fixedVersion: '4.17.21',
  status: 'fixed',
  severity: 'HIGH',
  severitySource: 'ghsa',
  vendorSeverity: { ghsa: 'HIGH', nvd: 'HIGH' },
  cvss: [
    { source: 'ghsa', version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', score: 7.2 },
    { source: 'nvd', version: '2.0', vector: 'AV:N/AC:L/Au:S/C:P/I:P/A:P', score: 6.5 },
    { source: 'nvd', version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', score: 7.2 },
  ],
  title: 'nodejs-lodash: command injection via template',
  description: 'Lodash versions prior to 4.17.21 are vulnerable to Command Injection via the template function.',
  primaryUrl: 'https://avd.aquasec.com/nvd/cve-2021-23337',
  references: ['https://github.com/advisories/GHSA-35jh-r3h4-6jhm', 'https://nvd.nist.gov/vuln/detail/CVE-2021-23337'],
  published: '2021-02-15T13:15:12.56Z',
  modified: '2022-09-13T21:25:02.093Z',
  layer: LAYER_APP,
  dataSource: GHSA,
};

export const minimistPollution: VulnerabilityFinding = {
  id: 'CVE-2021-44906',
  aliases: ['GHSA-xvch-5gv4-984h'],
  pkg: ref(minimist),
  installedVersion: minimist.version,
  fixedVersion: '1.2.6, 0.2.4',
  status: 'fixed',
  severity: 'CRITICAL',
  severitySource: 'ghsa',
  vendorSeverity: { ghsa: 'CRITICAL', nvd: 'CRITICAL' },
  cvss: [{ source: 'ghsa', version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', score: 9.8 }],
  title: 'minimist: prototype pollution',
  primaryUrl: 'https://avd.aquasec.com/nvd/cve-2021-44906',
  references: ['https://github.com/advisories/GHSA-xvch-5gv4-984h'],
  layer: LAYER_APP,
  dataSource: GHSA,
};

export const REPORT: ScanReport = {
  createdAt: '2024-05-06T07:08:09.123Z',
  artifactName: IMAGE,
  artifactType: 'container_image',
  metadata: {
    os: { family: 'debian', name: '12.5' },
    imageId: IMAGE_ID,
    diffIds: [LAYER_OS.diffId, LAYER_APP.diffId],
    repoTags: [IMAGE],
    repoDigests: [`registry.example.com/team/app@${IMAGE_DIGEST}`],
    imageConfig: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [LAYER_OS.diffId, LAYER_APP.diffId] }, config: { User: '', Cmd: ['node', 'server.js'] } },
  },
  results: [
    // Deliberately out of Trivy's order: the writers sort.
    { target: OS_TARGET, class: 'os-pkgs', type: 'debian', vulnerabilities: [gccStackProtector, glibcIconv(libcBin), aptKeyring, glibcIconv(libc6), glibcCritical] },
    { target: 'app/package-lock.json', class: 'lang-pkgs', type: 'npm', vulnerabilities: [minimistPollution, lodashInjection] },
    {
      target: 'app/config/.env',
      class: 'secret',
      type: 'secret',
      secrets: [
        {
          ruleId: 'aws-access-key-id',
          category: 'AWS',
          title: 'AWS Access Key ID',
          severity: 'CRITICAL',
          path: 'app/config/.env',
          startLine: 3,
          endLine: 3,
          match: 'AWS_ACCESS_KEY_ID=********************',
          layer: LAYER_APP,
        },
      ],
    },
    {
      target: 'image config',
      class: 'config',
      type: 'image-config',
      misconfigurations: [
        {
          id: 'DS002',
          title: "Image user should not be 'root'",
          description: "Running containers with 'root' user can lead to a container escape situation.",
          message: 'The image config sets no USER: processes run as root',
          resolution: "Add 'USER <non root user name>' line to the Dockerfile",
          severity: 'HIGH',
          primaryUrl: 'https://avd.aquasec.com/misconfig/ds002',
        },
        {
          id: 'DS026',
          title: 'No HEALTHCHECK defined',
          description: 'You should add HEALTHCHECK instruction in your docker container images to perform the health check on running containers.',
          message: 'Add HEALTHCHECK instruction in your Dockerfile',
          resolution: 'Add HEALTHCHECK instruction in Dockerfile',
          severity: 'LOW',
          primaryUrl: 'https://avd.aquasec.com/misconfig/ds026',
        },
      ],
    },
  ],
};

/** The same image with nothing found: the OS target is still listed. */
export const CLEAN: ScanReport = {
  ...REPORT,
  results: [
    { target: OS_TARGET, class: 'os-pkgs', type: 'debian', vulnerabilities: [] },
    { target: 'app/package-lock.json', class: 'lang-pkgs', type: 'npm' },
  ],
};
