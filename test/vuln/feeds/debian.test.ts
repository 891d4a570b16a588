/** The Debian security tracker dump: an excerpt written in the real shape (see the fixtures' README). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isDebianTracker, parseDebianTracker, urgencySeverity } from '../../../src/vuln/feeds/debian.js';
import type { AffectedRecord } from '../../../src/vuln/model.js';

const TRACKER = JSON.parse(readFileSync(new URL('../../../../test/fixtures/vuln/feeds/debian/tracker.json', import.meta.url), 'utf8')) as Record<string, unknown>;

const rec = (vulnId: string, name: string, release: string, status: AffectedRecord['status'], severity: AffectedRecord['severity'], fixed?: string): AffectedRecord => ({
  vulnId,
  ecosystem: `debian:${release}`,
  name,
  versions: [],
  source: 'debian-tracker',
  ...(severity !== undefined ? { severity } : {}),
  ranges: status === 'not_affected' ? [] : [{ type: 'ECOSYSTEM', events: fixed !== undefined ? [{ introduced: '0' }, { fixed }] : [{ introduced: '0' }] }],
  status,
  ...(fixed !== undefined ? { fixedVersion: fixed } : {}),
});

test('every status of the tracker, per source package and release', () => {
  const r = parseDebianTracker(TRACKER, 'tracker.json');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.affected, [
    rec('CVE-2023-38545', 'curl', '12', 'fixed', 'HIGH', '7.88.1-10+deb12u4'),
    rec('CVE-2023-38545', 'curl', '11', 'not_affected', 'HIGH'),
    rec('CVE-2023-38545', 'curl', '10', 'end_of_life', undefined),
    rec('CVE-2024-2398', 'curl', '12', 'fixed', 'UNKNOWN', '7.88.1-10+deb12u6'),
    rec('CVE-2024-2398', 'curl', '11', 'will_not_fix', 'UNKNOWN'),
    rec('CVE-2023-5363', 'openssl', '12', 'fixed', 'UNKNOWN', '3.0.11-1~deb12u2'),
    rec('CVE-2023-5363', 'openssl', '11', 'not_affected', 'UNKNOWN'),
    rec('CVE-2023-5363', 'openssl', '13', 'fixed', 'UNKNOWN', '3.0.12-1'),
    rec('CVE-2024-2511', 'openssl', '12', 'fix_deferred', 'LOW'),
    rec('CVE-2024-2511', 'openssl', '11', 'affected', 'LOW'),
    rec('CVE-2024-2511', 'openssl', '13', 'under_investigation', 'UNKNOWN'),
    rec('CVE-2023-31437', 'systemd', '12', 'will_not_fix', 'LOW'),
  ]);
  assert.deepEqual(r.skipped, { 'release sid': 1, 'release experimental': 1, 'TEMP id': 1 });
});

test('one vulnerability record per CVE: the description, a tracker link, the highest urgency', () => {
  const r = parseDebianTracker(TRACKER, 'tracker.json');
  assert.deepEqual(
    r.vulnerabilities.map((v) => [v.id, v.severity?.severity]),
    [
      ['CVE-2022-0358', undefined],
      ['CVE-2023-38545', 'HIGH'],
      ['CVE-2024-2398', 'UNKNOWN'],
      ['CVE-2023-5363', 'UNKNOWN'],
      ['CVE-2024-2511', 'LOW'],
      ['CVE-2023-31437', 'LOW'],
    ],
  );
  assert.deepEqual(r.vulnerabilities[1], {
    id: 'CVE-2023-38545',
    aliases: [],
    summary: 'This flaw makes curl overflow a heap based buffer in the SOCKS5 proxy handshake.',
    references: ['https://security-tracker.debian.org/tracker/CVE-2023-38545'],
    cvss: [],
    severity: { source: 'debian', severity: 'HIGH' },
    source: 'debian-tracker',
  });
});

test('urgencies: the trailing * stripped, end-of-life states no severity', () => {
  const cases: ReadonlyArray<readonly [string, string | undefined]> = [
    ['unimportant', 'LOW'],
    ['low', 'LOW'],
    ['low**', 'LOW'],
    ['medium', 'MEDIUM'],
    ['medium*', 'MEDIUM'],
    ['high', 'HIGH'],
    ['high**', 'HIGH'],
    ['not yet assigned', 'UNKNOWN'],
    ['end-of-life', undefined],
    ['whatever', undefined],
  ];
  for (const [u, want] of cases) assert.equal(urgencySeverity(u), want, u);
});

test('a malformed release or issue is reported and skipped; the rest is kept', () => {
  const r = parseDebianTracker(
    {
      zlib: {
        'CVE-2022-37434': {
          releases: {
            bookworm: { status: 'resolved', fixed_version: '1:1.2.13.dfsg-1', urgency: 'not yet assigned' },
            bullseye: { status: 'resolved', fixed_version: 'undetermined', urgency: 'not yet assigned' },
            trixie: { status: 'weird', urgency: 'low' },
            forky: 'open',
          },
        },
        'CVE-2023-45853': { releases: 'none' },
      },
      broken: ['not', 'a', 'map'],
    },
    'tracker.json',
  );
  assert.deepEqual(r.affected.map((a) => [a.vulnId, a.ecosystem, a.status, a.fixedVersion]), [['CVE-2022-37434', 'debian:12', 'fixed', '1:1.2.13.dfsg-1']]);
  assert.deepEqual(r.errors, [
    'tracker.json: zlib CVE-2022-37434 bullseye: resolved without a valid fixed_version ("undetermined"): skipped',
    'tracker.json: zlib CVE-2022-37434 trixie: unknown status "weird": skipped',
    'tracker.json: zlib CVE-2022-37434 forky: not an object: skipped',
    'tracker.json: zlib CVE-2023-45853: no releases map: skipped',
    'tracker.json: broken: not a map of issues: skipped',
  ]);
});

test('isDebianTracker recognizes the dump and nothing else', () => {
  assert.equal(isDebianTracker(TRACKER), true);
  assert.equal(isDebianTracker({}), false);
  assert.equal(isDebianTracker({ id: 'GHSA-x', affected: [] }), false);
  assert.equal(isDebianTracker({ distroversion: 'v3.19', packages: [] }), false);
  assert.equal(isDebianTracker({ name: 'x', version: '1', dependencies: { a: '1' } }), false);
  assert.throws(() => parseDebianTracker([], 'x.json'), { name: 'VulnError', code: 'FEED_INVALID' });
});
