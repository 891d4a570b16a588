/**
 * Red-team finding (critical): a manifest may list a layer with `urls` (a non-distributable,
 * "foreign" layer) whose digest its repository does not hold, and the SBOM endpoint and the
 * scanner then read that digest from the global blob store. Reproduced as written: eve, who only
 * knows the digest D of a layer of the private secret/app, pushes evep/leak:1 naming D as a
 * foreign layer, then an SBOM artifact whose layer is D. Nothing of D may reach her: not through
 * the SBOM endpoint, not in her image's SBOM or scan report, not from a cache filled by the scan
 * of secret/app; her scan says the layer was not read. And D is not kept alive by her manifest.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { digestOf, blobPath, pushBlob, pushManifest, request, type Target } from '../helpers/push.js';
import { artifactPath, pushLayeredImage, scanStatus, settled } from '../helpers/registry-jobs.js';
import { addMember, basicAuth, createProject, createUser, startTestServer } from '../helpers/server.js';

const OS_RELEASE = 'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n';
const STATUS = 'Package: secret-tool\nStatus: install ok installed\nArchitecture: amd64\nVersion: 4.2-1\n';
// Key material in the format only (an access key id never issued and a made-up secret).
const AWS_KEY = 'AKIAQWERTYUIOPASDFGH';
const ENV_FILE = `AWS_ACCESS_KEY_ID=${AWS_KEY}\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCYzq3v9hQ2rT8x\n`;
const FOREIGN = ['https://example.invalid/layers/leak.tar.gz'];

describe('blobs are read only through the links of the repository they are read for', () => {
  test("eve's foreign layer and SBOM artifact naming a private layer's digest give her nothing of it", { timeout: 120_000 }, async (t) => {
    const s = await startTestServer(t, { config: { sbom: { enabled: true }, scan: { enabled: true }, gc: { grace: '0s' } } });
    const admin: Target = { url: s.url, auth: s.adminAuth };
    await createProject(s, 'secret');
    await createProject(s, 'evep');
    await createUser(s, 'eve', 'eve-password-1');
    await addMember(s, 'evep', 'eve', 'developer');
    const eveAuth = basicAuth('eve', 'eve-password-1');
    const eve: Target = { url: s.url, auth: eveAuth };

    // The private image, scanned and catalogued first: its layer's results are in the caches.
    const secret = await pushLayeredImage(admin, 'secret/app', '1', [
      [
        { type: 'file', path: 'etc/os-release', data: OS_RELEASE },
        { type: 'file', path: 'var/lib/dpkg/status', data: STATUS },
        { type: 'file', path: 'app/.env', data: ENV_FILE },
      ],
    ]);
    const D = secret.layers[0]!;
    const own = await scanStatus(s.url, 'secret/app', '1', s.adminAuth);
    assert.equal(own.status, 'done');
    assert.ok((own.summary?.['secrets'] ?? 0) > 0, 'the private layer holds a secret the scan finds');
    assert.equal((await settled(s.url, `${artifactPath('secret/app', '1')}/sbom`, s.adminAuth)).status, 200);

    // eve cannot read D by digest (the old guarantee)...
    assert.equal((await request(eve, 'GET', `/v2/evep/leak/blobs/${D.digest}`)).status, 404);
    // ...so she names it as a foreign layer of an image of her own, which a registry must accept.
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf('unknown')] }, config: { Entrypoint: ['/bin/sh'] } }));
    await pushBlob(eve, 'evep/leak', config);
    const leakManifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D.digest, size: 1, urls: FOREIGN }],
    });
    const leak = await pushManifest(eve, 'evep/leak', '1', leakManifest, 'application/vnd.oci.image.manifest.v1+json');
    // And an SBOM artifact of that image whose document is D, dated in the future to be the newest.
    const empty = Buffer.from('{}');
    await pushBlob(eve, 'evep/leak', empty);
    const sbomArtifact = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.cyclonedx+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(empty), size: 2 },
      layers: [{ mediaType: 'application/vnd.cyclonedx+json', digest: D.digest, size: 1, urls: FOREIGN }],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: leak, size: Buffer.byteLength(leakManifest) },
      annotations: { 'org.opencontainers.image.created': '2999-01-01T00:00:00Z' },
    });
    await pushManifest(eve, 'evep/leak', 'sbom', sbomArtifact, 'application/vnd.oci.image.manifest.v1+json');

    // The SBOM endpoint serves the SBOM Portcullis made of her image, never her artifact (and
    // would not read D for evep/leak if it did: see RepositoryContent).
    const sbom = await settled(s.url, `${artifactPath('evep/leak', '1')}/sbom`, eveAuth);
    assert.equal(sbom.status, 200);
    assert.notEqual(sbom.headers.get('docker-content-digest'), D.digest);
    const sbomText = await sbom.text();
    assert.doesNotMatch(sbomText, new RegExp(`${AWS_KEY}|secret-tool`));
    assert.match(sbomText, /"name": "portcullis"/, "the SBOM Portcullis made");

    // Her image's own scan and SPDX SBOM: the layer is absent, nothing of it is listed.
    const status = await scanStatus(s.url, 'evep/leak', '1', eveAuth);
    assert.equal(status.status, 'done');
    assert.equal(status.summary?.['secrets'], 0);
    assert.ok(status.warnings?.some((w) => /foreign layer \(urls\) that evep\/leak does not hold; not read/.test(w)), JSON.stringify(status.warnings));
    const report = await (await request(eve, 'GET', `${artifactPath('evep/leak', '1')}/scan/report?format=json`)).text();
    assert.doesNotMatch(report, /secret-tool|AKIA|app\/\.env/);
    const spdx = await settled(s.url, `${artifactPath('evep/leak', '1')}/sbom?format=spdx-json`, eveAuth);
    assert.equal(spdx.status, 200);
    assert.doesNotMatch(await spdx.text(), /secret-tool/);
    // Her artifact itself is hers to read through the Distribution API; it names a layer she does not hold.
    assert.equal((await request(eve, 'GET', `/v2/evep/leak/blobs/${D.digest}`)).status, 404);

    // Garbage collection: her manifest does not keep D alive once secret/app lets it go.
    assert.equal((await request(admin, 'DELETE', `/v2/secret/app/manifests/${secret.digest}`)).status, 202);
    assert.equal((await request(admin, 'DELETE', `/v2/secret/app/blobs/${D.digest}`)).status, 202);
    const gc = await s.admin('/api/v1/system/gc', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ dryRun: false }) });
    assert.equal(gc.status, 200, await gc.clone().text());
    assert.ok(((await gc.json()) as { blobs: { digest: string }[] }).blobs.some((b) => b.digest === D.digest), 'D is collected');
    assert.equal(existsSync(blobPath(s.dataDir, D.digest)), false);
  });
});
