/**
 * SBOMs in the registry: a pushed image gets its SBOM built in the background, stored as OCI
 * artifacts whose subject is the image (found through the referrers API), and served by the
 * management API with the same authorization as the image. The queue survives a restart.
 */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { makeTar } from '../helpers/images.js';
import { digestOf, pushBlob, pushManifest, request, type Target } from '../helpers/push.js';
import { addMember, basicAuth, createProject, createUser, startTestServer, type TestServer } from '../helpers/server.js';

const OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n';
const STATUS = [
  'Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\n',
  'Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\nVersion: 2.36-9+deb12u4\n',
].join('\n');

/** A two-layer image: a Debian base (os-release, dpkg status) and an app with one npm package. */
async function pushDebianImage(target: Target, repo: string, tag: string): Promise<{ digest: string; manifest: Buffer }> {
  const base = await makeTar([
    { type: 'file', path: 'etc/os-release', data: OS_RELEASE },
    { type: 'file', path: 'var/lib/dpkg/status', data: STATUS },
  ]);
  const app = await makeTar([{ type: 'file', path: 'app/node_modules/left-pad/package.json', data: JSON.stringify({ name: 'left-pad', version: '1.3.0', license: 'WTFPL' }) }]);
  const layers = [base, app].map((tar) => ({ tar, gz: gzipSync(tar) }));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => digestOf(l.tar)) }, config: { Cmd: ['/bin/bash'] } }));
  for (const l of layers) await pushBlob(target, repo, l.gz);
  await pushBlob(target, repo, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(l.gz), size: l.gz.length })),
    }),
  );
  const digest = await pushManifest(target, repo, tag, manifest, 'application/vnd.oci.image.manifest.v1+json');
  return { digest, manifest };
}

async function waitForSbom(s: TestServer, path: string, auth: string, timeoutMs = 20_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${s.url}${path}`, { headers: { Authorization: auth } });
    if (res.status !== 202) return res;
    await res.arrayBuffer();
    if (Date.now() > deadline) throw new Error(`the SBOM of ${path} was not built within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface CycloneDx {
  metadata: { component: { version?: string; type: string } };
  components: { type: string; name: string; version: string; purl: string; licenses?: unknown[] }[];
}

for (const database of ['sqlite', 'postgres'] as const) {
  describe(`SBOMs in the registry (${database})`, () => {
    test('a pushed image gets CycloneDX and SPDX SBOMs as referrers; the API serves them', async (t) => {
      const s = await startTestServer(t, { database, config: { sbom: { enabled: true } } });
      await createProject(s, 'team');
      const admin: Target = { url: s.url, auth: s.adminAuth };
      const { digest } = await pushDebianImage(admin, 'team/app', '1.0');
      const path = `/api/v1/projects/team/repositories/app/artifacts/${digest}/sbom`;

      const res = await waitForSbom(s, path, s.adminAuth);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/vnd.cyclonedx+json');
      const bom = (await res.json()) as CycloneDx;
      assert.equal(bom.metadata.component.type, 'container');
      assert.equal(bom.metadata.component.version, digest);
      const purls = bom.components.filter((c) => c.type === 'library').map((c) => c.purl).sort();
      assert.ok(bom.components.some((c) => c.type === 'operating-system' && c.name === 'debian' && c.version === '12'));
      assert.deepEqual(purls, [
        'pkg:deb/debian/bash@5.2.15-2+b2?arch=amd64&distro=debian-12',
        'pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64&distro=debian-12&upstream=glibc',
        'pkg:npm/left-pad@1.3.0',
      ]);

      // The two documents are stored one after the other: wait for the second too.
      const spdx = await waitForSbom(s, `${path}?format=spdx-json`, s.adminAuth);
      assert.equal(spdx.status, 200);
      const doc = (await spdx.json()) as { spdxVersion: string; packages: { name: string }[] };
      assert.equal(doc.spdxVersion, 'SPDX-2.3');
      assert.ok(doc.packages.some((p) => p.name === 'libc6'));

      // The referrers API lists both, filterable by artifact type; each points at the image.
      const referrers = await request(admin, 'GET', `/v2/team/app/referrers/${digest}`);
      const index = (await referrers.json()) as { manifests: { artifactType: string; digest: string }[] };
      assert.deepEqual(index.manifests.map((m) => m.artifactType).sort(), ['application/spdx+json', 'application/vnd.cyclonedx+json']);
      const filtered = await request(admin, 'GET', `/v2/team/app/referrers/${digest}?artifactType=${encodeURIComponent('application/vnd.cyclonedx+json')}`);
      const only = (await filtered.json()) as { manifests: { digest: string }[] };
      assert.equal(only.manifests.length, 1);
      const artifact = await request(admin, 'GET', `/v2/team/app/manifests/${only.manifests[0]!.digest}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
      const m = (await artifact.json()) as { subject: { digest: string }; artifactType: string; layers: { digest: string }[] };
      assert.equal(m.subject.digest, digest);
      assert.equal(m.artifactType, 'application/vnd.cyclonedx+json');
      const blob = await request(admin, 'GET', `/v2/team/app/blobs/${m.layers[0]!.digest}`);
      assert.deepEqual(((await blob.json()) as CycloneDx).components.length, bom.components.length, 'the blob is the SBOM the API served');

      // SBOM artifacts are not images: they get no SBOM of their own.
      const none = await fetch(`${s.url}/api/v1/projects/team/repositories/app/artifacts/${only.manifests[0]!.digest}/sbom`, { headers: { Authorization: s.adminAuth } });
      assert.equal(none.status, 404);
    });

    test('the SBOM has the authorization of the image: a guest reads it, a stranger and anonymous do not', async (t) => {
      const s = await startTestServer(t, { database, config: { sbom: { enabled: true } } });
      await createProject(s, 'private');
      await createUser(s, 'guest', 'guest-password-1');
      await createUser(s, 'stranger', 'stranger-password-1');
      await addMember(s, 'private', 'guest', 'guest');
      const { digest } = await pushDebianImage({ url: s.url, auth: s.adminAuth }, 'private/app', 'v1');
      const path = `/api/v1/projects/private/repositories/app/artifacts/${digest}/sbom`;
      assert.equal((await waitForSbom(s, path, basicAuth('guest', 'guest-password-1'))).status, 200);
      const stranger = await fetch(`${s.url}${path}`, { headers: { Authorization: basicAuth('stranger', 'stranger-password-1') } });
      assert.ok(stranger.status === 403 || stranger.status === 404, `a non-member gets 403/404, not ${stranger.status}`);
      const anonymous = await fetch(`${s.url}${path}`);
      assert.ok(anonymous.status === 401 || anonymous.status === 404, `anonymous gets 401/404, not ${anonymous.status}`);
      const bad = await fetch(`${s.url}${path}?format=xml`, { headers: { Authorization: s.adminAuth } });
      assert.equal(bad.status, 400);
    });
  });
}

test('a job queued before a restart is done after it; an image pushed while SBOMs were off gets one on request', async (t) => {
  // Pushed with the worker off: the job waits in the database.
  const first = await startTestServer(t, { config: { sbom: { enabled: false } } });
  await createProject(first, 'team');
  const admin: Target = { url: first.url, auth: first.adminAuth };
  const { digest } = await pushDebianImage(admin, 'team/app', '1.0');
  const path = `/api/v1/projects/team/repositories/app/artifacts/${digest}/sbom`;
  const pending = await fetch(`${first.url}${path}`, { headers: { Authorization: first.adminAuth } });
  assert.equal(pending.status, 202, 'no SBOM yet: the request queues one and says so');
  assert.equal(((await pending.json()) as { status: string }).status, 'queued');
  const dataDir = first.dataDir;
  await first.server.close();

  // The same data directory, the worker on: the queued job is taken up.
  const { loadConfig } = await import('../../src/config/index.js');
  const { startServer } = await import('../../src/server/index.js');
  const { silentLogger } = await import('../../src/shared/index.js');
  const config = loadConfig({ file: { path: 'c.yml', text: JSON.stringify({ addr: '127.0.0.1:0', data: dataDir, sbom: { enabled: true }, scan: { update: { interval: 0 } } }) }, env: {}, flags: {}, cwd: dataDir });
  const second = await startServer({ config, log: silentLogger, adminPassword: 'unused-admin-password' });
  t.after(() => second.close());
  const deadline = Date.now() + 20_000;
  let res: Response;
  for (;;) {
    res = await fetch(`${second.url}${path}`, { headers: { Authorization: first.adminAuth } });
    if (res.status !== 202 || Date.now() > deadline) break;
    await res.arrayBuffer();
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as CycloneDx).components.filter((c) => c.type === 'library').length, 3);
});
