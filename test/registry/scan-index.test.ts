/**
 * A multi-platform image in the registry: each platform's image is scanned and SBOM'd on its own;
 * the scan summary of the index rolls up its platforms (Harbor's rule), the report and the SBOM
 * of an index are asked for per platform, and the facts an admission controller reads judge the
 * index by all its platforms. BuildKit's attestation manifests in the index are no platform.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildDb, type Advisory } from '../helpers/advisory-db.js';
import { tempDir } from '../helpers/env.js';
import type { LayerEntry } from '../helpers/images.js';
import { digestOf, pushBlob, pushManifest, type Target } from '../helpers/push.js';
import { artifactPath, pushLayeredImage, settled } from '../helpers/registry-jobs.js';
import { createProject, startTestServer, type TestServer } from '../helpers/server.js';

const npm = (name: string, version: string): LayerEntry => ({ type: 'file', path: `app/node_modules/${name}/package.json`, data: JSON.stringify({ name, version, license: 'MIT' }) });

const ADVISORIES: readonly Advisory[] = [
  { id: 'CVE-2099-0001', ecosystem: 'npm', name: 'left-pad', fixed: '1.3.1', severity: 'CRITICAL' },
  { id: 'CVE-2099-0002', ecosystem: 'npm', name: 'is-even', severity: 'HIGH' },
];

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'unknown'] as const;
type Counts = Partial<Record<(typeof SEVERITIES)[number], number>>;
const full = (c: Counts): Record<string, number> => Object.fromEntries(SEVERITIES.map((k) => [k, c[k] ?? 0]));

interface Entry {
  platform: string;
  digest: string;
  status: string;
  summary: { byClass: { vulnerabilities: Record<string, number>; misconfigurations: Record<string, number> }; fixable: number; vulnerabilities: number; [k: string]: unknown };
  warnings: string[];
}

/** Pushes a BuildKit-style attestation manifest for `subject`, as `docker buildx --provenance` lists it in the index. */
async function pushAttestationManifest(target: Target, repo: string): Promise<{ digest: string; size: number }> {
  const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://slsa.dev/provenance/v0.2', subject: [], predicate: {} }));
  const config = Buffer.from(JSON.stringify({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [digestOf(statement)] } }));
  await pushBlob(target, repo, statement);
  await pushBlob(target, repo, config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.in-toto+json', digest: digestOf(statement), size: statement.length, annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } }],
  });
  return { digest: await pushManifest(target, repo, digestOf(manifest), manifest, 'application/vnd.oci.image.manifest.v1+json'), size: Buffer.byteLength(manifest) };
}

async function json<T>(s: TestServer, path: string, status = 200): Promise<T> {
  const res = await s.admin(path);
  const text = await res.text();
  assert.equal(res.status, status, `${path}: ${text}`);
  return JSON.parse(text) as T;
}

test('a multi-platform index: per-platform scans and SBOMs, a rolled-up summary, reports by platform, facts of all platforms', { timeout: 120_000 }, async (t) => {
  const db = join(tempDir(t, 'portcullis-vulndb-'), 'advisory.db');
  await buildDb(db, ADVISORIES, new Date(Date.now() - 1000));
  const s = await startTestServer(t, { config: { scan: { enabled: true, db }, sbom: { enabled: true } } });
  await createProject(s, 'team');
  const admin: Target = { url: s.url, auth: s.adminAuth };
  const cmd = { Cmd: ['/app/server'] };
  // The platforms' images go by digest, then the index under the tag, as buildx and skopeo push.
  const a = await pushLayeredImage(admin, 'team/app', undefined, [[npm('left-pad', '1.3.0')]], cmd, { os: 'linux', architecture: 'amd64' });
  const b = await pushLayeredImage(admin, 'team/app', undefined, [[npm('left-pad', '1.3.0'), npm('is-even', '1.0.0')]], cmd, { os: 'linux', architecture: 'arm64', variant: 'v8' });
  const attestation = await pushAttestationManifest(admin, 'team/app');
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: a.digest, size: a.size, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: b.digest, size: b.size, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: attestation.digest, size: attestation.size, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': a.digest } },
    ],
  });
  const indexDigest = await pushManifest(admin, 'team/app', '1.0', index, 'application/vnd.oci.image.index.v1+json');
  const path = artifactPath('team/app', '1.0');

  // The summary of the index: both platforms (not the attestation), and their sum.
  const res = await settled(s.url, `${path}/scan`, s.adminAuth);
  const rolled = (await res.json()) as { status: string; summary: Entry['summary']; platforms: Entry[]; warnings: string[]; vulnerabilitiesEvaluated: boolean; dbBuiltAt: string };
  assert.equal(res.status, 200);
  assert.equal(rolled.status, 'done');
  assert.deepEqual(
    rolled.platforms.map((p) => [p.platform, p.digest, p.status]),
    [
      ['linux/amd64', a.digest, 'done'],
      ['linux/arm64/v8', b.digest, 'done'],
    ],
  );
  assert.deepEqual(rolled.platforms.map((p) => full(p.summary.byClass.vulnerabilities)), [full({ critical: 1 }), full({ critical: 1, high: 1 })]);
  assert.deepEqual(rolled.summary.byClass.vulnerabilities, full({ critical: 2, high: 1 }));
  assert.equal(rolled.summary.fixable, 2);
  assert.equal(rolled.summary.vulnerabilities, 3);
  // Every platform's own misconfiguration findings (no user, no health check) add up too.
  const mis = rolled.platforms.map((p) => p.summary.byClass.misconfigurations);
  assert.deepEqual(rolled.summary.byClass.misconfigurations, Object.fromEntries(SEVERITIES.map((k) => [k, mis[0]![k]! + mis[1]![k]!])));
  assert.equal(rolled.vulnerabilitiesEvaluated, true);
  // Each platform's summary is the one its image answers by digest.
  for (const p of rolled.platforms) {
    const own = await json<{ summary: unknown }>(s, `${artifactPath('team/app', p.digest)}/scan`);
    assert.deepEqual(own.summary, p.summary);
  }

  // Reports and SBOMs of an index are per platform.
  const refused = await s.admin(`${path}/scan/report`);
  assert.equal(refused.status, 400);
  assert.match(((await refused.json()) as { errors: { message: string }[] }).errors[0]!.message, /multi-platform index.*\?platform=.*linux\/amd64, linux\/arm64\/v8/);
  const arm = await json<{ Results?: { Vulnerabilities?: { VulnerabilityID: string; PkgName: string }[] }[] }>(s, `${path}/scan/report?platform=linux/arm64`);
  assert.deepEqual(arm.Results?.flatMap((r) => (r.Vulnerabilities ?? []).map((v) => `${v.VulnerabilityID} ${v.PkgName}`)).sort(), ['CVE-2099-0001 left-pad', 'CVE-2099-0002 is-even']);
  const sarif = await s.admin(`${path}/scan/report?platform=linux/amd64&format=sarif`);
  assert.equal(sarif.status, 200);
  assert.deepEqual(((await sarif.json()) as { runs: { results: { ruleId: string }[] }[] }).runs[0]!.results.map((r) => r.ruleId).filter((id) => id.startsWith('CVE')), ['CVE-2099-0001']);
  assert.equal((await s.admin(`${path}/scan/report?platform=linux/s390x`)).status, 404);
  assert.equal((await s.admin(`${path}/scan/report?platform=linux`)).status, 400);
  assert.equal((await s.admin(`${artifactPath('team/app', a.digest)}/scan/report?platform=linux/amd64`)).status, 400, 'an image is no index');

  const sbom = await settled(s.url, `${path}/sbom?platform=linux/arm64/v8`, s.adminAuth);
  assert.equal(sbom.status, 200);
  const bom = (await sbom.json()) as { metadata: { component: { version: string } }; components: { purl?: string }[] };
  assert.equal(bom.metadata.component.version, b.digest);
  assert.deepEqual(bom.components.flatMap((c) => (c.purl !== undefined ? [c.purl] : [])).sort(), ['pkg:npm/is-even@1.0.0', 'pkg:npm/left-pad@1.3.0']);
  assert.equal((await s.admin(`${path}/sbom`)).status, 400);
  await settled(s.url, `${path}/sbom?platform=linux/amd64`, s.adminAuth);

  // The facts of the index: a finding open on any platform, each id once.
  const facts = await json<{ digest: string; scan: { findings: Record<string, number>; ids: string[] } | null; sbom: boolean }>(s, `${path}/facts`);
  assert.equal(facts.digest, indexDigest);
  assert.equal(facts.sbom, true);
  const one = await json<{ scan: { findings: Record<string, number>; ids: string[] } }>(s, `${artifactPath('team/app', b.digest)}/facts`);
  // arm64 holds everything amd64 does: the index's open findings are arm64's.
  assert.deepEqual(facts.scan?.findings, one.scan.findings);
  assert.ok(facts.scan!.ids.includes('CVE-2099-0001') && facts.scan!.ids.includes('CVE-2099-0002'));
  assert.equal(facts.scan!.ids.filter((id) => id === 'CVE-2099-0001').length, 1);

  // An index that lists no image of a platform (only the attestation) is not scanned.
  const bare = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [JSON.parse(index).manifests[2]] });
  await pushManifest(admin, 'team/app', 'attestations', bare, 'application/vnd.oci.image.index.v1+json');
  assert.equal((await s.admin(`${artifactPath('team/app', 'attestations')}/scan`)).status, 404);
  assert.equal((await s.admin(`${artifactPath('team/app', 'attestations')}/facts`)).status, 404);

});
