/**
 * Promotion through the API, on both databases: the incident's image (a critical CVE, a leaked
 * token, an entrypoint that is not in the image, no CI signature) is refused with every failed
 * gate and nothing changes in the target; a fixed image is refused for what is left until the
 * security team approves a waiver; then it is copied by digest (blobs linked, not moved) with
 * its SBOMs, signatures and scan, signed by the target project's key, and its tag is immutable.
 * A project with gates takes no image but by promotion, Cosign's tags aside. Indexes go whole.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cosignSign, newKeyPair } from '../helpers/cosign.js';
import { errorsOf, makeImage, makeIndex, pushImage, pushManifest, putManifest, request, type Target } from '../helpers/push.js';
import { artifactPath } from '../helpers/registry-jobs.js';
import { addMember, basicAuth, createProject, type TestServer } from '../helpers/server.js';
import { analysed, api, CRITICAL, failedGates, gatedServer, HIGH_UNFIXED, ok, policyPath, pushSpec, user } from './gates-fixtures.js';

interface AuditEntry {
  action: string;
  outcome: string;
  actor: string | null;
  resource: string;
  detail: Record<string, unknown> | null;
}

/** The audit log once it holds every `action outcome actor` wanted (entries are appended just after the answer). */
async function auditEntries(s: TestServer, wanted: readonly string[]): Promise<AuditEntry[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const entries = (await ok(api(s, 'GET', '/api/v1/audit?limit=1000'))).entries as AuditEntry[];
    const have = new Set(entries.map((e) => `${e.action} ${e.outcome} ${e.actor ?? ''}`));
    const missing = wanted.filter((w) => !have.has(w));
    if (missing.length === 0) return entries;
    if (Date.now() > deadline) assert.fail(`the audit log lacks ${missing.join('; ')}; it has ${[...have].join('; ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const PROD_POLICY = {
  immutableTags: [{ repositories: '**', tags: '[0-9]*' }],
  promotion: {
    requireScan: { maxAge: '24h' },
    maxSeverity: 'high',
    denyMisconfigurations: ['PCL-IMG-001'],
    denySecrets: true,
    requireSignature: { keys: ['trusted:ci'] },
    requireSbom: true,
  },
};

for (const database of ['sqlite', 'postgres'] as const) {
  describe(`promotion (${database})`, () => {
    test('the incident: refused with every failed gate; a waiver and the CI signature let the fixed image through, signed by prod; prod tags hold', { timeout: 120_000 }, async (t) => {
      const s = await gatedServer(t, { database });
      const admin: Target = { url: s.url, auth: s.adminAuth };
      for (const p of ['staging', 'prod']) await createProject(s, p);
      const dev = await user(s, 'dev');
      const sec1 = await user(s, 'sec1', { securityTeam: true });
      for (const p of ['staging', 'prod']) await addMember(s, p, 'dev', 'developer');
      const ci = newKeyPair();
      await ok(api(s, 'POST', '/api/v1/projects/prod/signing-key', {}), 201);
      await ok(api(s, 'POST', '/api/v1/projects/prod/trusted-keys', { name: 'ci', publicKey: ci.publicKeyPem }), 201);
      await ok(api(s, 'PUT', policyPath('prod'), PROD_POLICY));

      // The incident's image: left-pad with a critical CVE, a token, /app/processr that is not there.
      const incident = await pushSpec(admin, 'staging/app', '1.4.2', { packages: ['left-pad@1.3.0'], entrypoint: '/app/processr', secret: true });
      await analysed(s, 'staging/app', '1.4.2');
      const refused = await api(s, 'POST', '/api/v1/promotions', { source: 'staging/app:1.4.2', target: 'prod/app:1.4.2' }, dev);
      assert.equal(refused.status, 422, JSON.stringify(refused.body));
      assert.equal(refused.body.errors[0].code, 'POLICY_REFUSED');
      assert.deepEqual(failedGates(refused.body), ['misconfigurations: PCL-IMG-001', 'secrets: github-pat', `severity: ${[CRITICAL, 'PCL-IMG-001', 'github-pat'].sort().join(' ')}`, 'signature: trusted:ci']);
      assert.match(refused.body.errors[0].message, new RegExp(`${CRITICAL}.*`));
      assert.match(refused.body.errors[0].message, /PCL-IMG-001/);
      // Nothing changed in prod.
      assert.equal((await request(admin, 'GET', '/v2/prod/app/manifests/1.4.2')).status, 404);
      assert.equal((await request(admin, 'GET', `/v2/prod/app/manifests/${incident}`)).status, 404);
      const listed = await ok(api(s, 'GET', '/api/v1/promotions?project=prod', undefined, dev));
      assert.deepEqual(listed.map((p: { outcome: string; digest: string }) => [p.outcome, p.digest]), [['refused', incident]]);

      // The fix: the entrypoint is right and the token gone, CI signs it; is-odd has a high CVE without a fix.
      const fixed = await pushSpec(admin, 'staging/app', '1.4.3', { packages: ['is-odd@3.0.0'] });
      await analysed(s, 'staging/app', '1.4.3');
      await cosignSign(admin, 'staging/app', fixed, ci.privateKey);
      const promote = () => api(s, 'POST', '/api/v1/promotions', { source: 'staging/app:1.4.3', target: 'prod/app:1.4.3' }, dev);
      assert.deepEqual(failedGates((await promote()).body), [`severity: ${HIGH_UNFIXED}`]);

      // The developer asks for a waiver; pending, it waives nothing; their own approval is refused.
      const waiver = await ok(api(s, 'POST', '/api/v1/waivers', { project: 'prod', repository: 'app', ids: [HIGH_UNFIXED], reason: 'no fix upstream; not reachable from our code', expires: '30d' }, dev), 201);
      assert.equal(waiver.state, 'pending');
      assert.equal((await promote()).status, 422);
      const own = await api(s, 'POST', `/api/v1/waivers/${waiver.id}/approve`, {}, dev);
      assert.equal(own.status, 403);
      assert.match(own.body.errors[0].message, /security team/);
      assert.equal((await api(s, 'POST', `/api/v1/waivers/${waiver.id}/approve`, {})).status, 403, 'an administrator outside the security team');
      assert.equal((await ok(api(s, 'POST', `/api/v1/waivers/${waiver.id}/approve`, { comment: 'ok until 2.0' }, sec1))).state, 'approved');

      const promoted = await promote();
      assert.equal(promoted.status, 201, JSON.stringify(promoted.body));
      assert.equal(promoted.body.digest, fixed);
      assert.equal(promoted.body.outcome, 'promoted');
      assert.match(promoted.body.signature, /^sha256:[a-f0-9]{64}$/);
      const head = await request(admin, 'HEAD', '/v2/prod/app/manifests/1.4.3');
      assert.equal(head.headers.get('docker-content-digest'), fixed);
      // Blobs are linked into prod: every layer reads from there.
      const manifest = (await (await request(admin, 'GET', `/v2/prod/app/manifests/${fixed}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })).json()) as { config: { digest: string }; layers: { digest: string }[] };
      for (const d of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) assert.equal((await request(admin, 'HEAD', `/v2/prod/app/blobs/${d}`)).status, 200, d);
      // Both signatures are there and verify: CI's (carried) and prod's own.
      const sigs = await ok(api(s, 'GET', `${artifactPath('prod/app', '1.4.3')}/signatures`));
      assert.equal(sigs.signatures.length, 2);
      assert.deepEqual(sigs.signatures.map((x: { verifiedBy: string[] }) => x.verifiedBy.join()).sort(), ['', 'project']);
      const prodSig = sigs.signatures.find((x: { verifiedBy: string[] }) => x.verifiedBy.includes('project'));
      assert.equal(prodSig.annotations['dev.portcullis.promoted-from'], `staging/app@${fixed}`);
      // Its SBOM and scan came along: no waiting in prod.
      assert.equal((await api(s, 'GET', `${artifactPath('prod/app', fixed)}/sbom`)).status, 200);
      const scan = await api(s, 'GET', `${artifactPath('prod/app', fixed)}/scan`);
      assert.equal(scan.status, 200);
      assert.equal(scan.body.summary.high, 1);

      // The same promotion again changes nothing; another image cannot take the immutable tag.
      assert.equal((await promote()).status, 201);
      assert.equal((await ok(api(s, 'GET', `${artifactPath('prod/app', '1.4.3')}/signatures`))).signatures.length, 2, 'no signature lost or added twice');
      const other = await pushSpec(admin, 'staging/app', '1.4.4', { packages: ['is-odd@3.0.0'], nonce: 'another build' });
      await analysed(s, 'staging/app', '1.4.4');
      await cosignSign(admin, 'staging/app', other, ci.privateKey);
      const moved = await api(s, 'POST', '/api/v1/promotions', { source: 'staging/app:1.4.4', target: 'prod/app:1.4.3' }, dev);
      assert.equal(moved.status, 422);
      assert.deepEqual(failedGates(moved.body), ['immutable-tag']);
      assert.match(moved.body.errors[0].message, /prod\/app:1\.4\.3 is immutable/);

      // Clients cannot push images into prod, not even the administrator, nor move or delete its tags.
      const stray = makeImage();
      const direct = await putManifest(admin, 'prod/app', '9.9', stray.manifest, stray.mediaType);
      assert.equal(direct.status, 403);
      const [denied] = await errorsOf(direct);
      assert.equal(denied?.code, 'DENIED');
      assert.match(denied!.message, /only by promotion/);
      const overwrite = await request(admin, 'PUT', '/v2/prod/app/manifests/1.4.3', { headers: { 'Content-Type': stray.mediaType }, body: stray.manifest });
      assert.equal(overwrite.status, 403);
      for (const ref of ['1.4.3', fixed]) {
        const del = await request(admin, 'DELETE', `/v2/prod/app/manifests/${ref}`);
        assert.equal(del.status, 403, `DELETE ${ref}`);
        assert.match((await errorsOf(del))[0]!.message, /immutable/);
      }
      // An image under a Cosign tag is no signature.
      const disguised = await putManifest(admin, 'prod/app', `sha256-${'c'.repeat(64)}.sig`, stray.manifest, stray.mediaType);
      assert.equal(disguised.status, 403);
      // A signature is: a promoted image can be signed again.
      await cosignSign(admin, 'prod/app', fixed, newKeyPair().privateKey);
      assert.equal((await ok(api(s, 'GET', `${artifactPath('prod/app', '1.4.3')}/signatures`))).signatures.length, 3);
      assert.equal((await request(admin, 'HEAD', '/v2/prod/app/manifests/1.4.3')).headers.get('docker-content-digest'), fixed);
      // A repository holding an immutable tag cannot be deleted either.
      assert.equal((await api(s, 'DELETE', '/api/v1/projects/prod/repositories/app')).status, 403);
      assert.equal((await request(admin, 'HEAD', '/v2/prod/app/manifests/1.4.3')).status, 200);

      // The audit log holds every step, who took it, and the chain verifies.
      assert.equal((await api(s, 'GET', '/api/v1/users/current', undefined, basicAuth('dev', 'wrong-password'))).status, 401);
      await ok(api(s, 'POST', '/api/v1/system/gc', {}));
      const entries = await auditEntries(s, [
        'login failed dev',
        'login succeeded dev',
        'user.create succeeded admin',
        'member.set succeeded admin',
        'signing-key.create succeeded admin',
        'trusted-key.add succeeded admin',
        'policy.update succeeded admin',
        'artifact.push succeeded admin',
        'promotion refused dev',
        'waiver.request succeeded dev',
        'waiver.decide succeeded sec1',
        'promotion succeeded dev',
        'gc succeeded admin',
      ]);
      const refusedEntry = entries.find((e) => e.action === 'promotion' && e.outcome === 'refused' && e.detail?.digest === incident);
      assert.deepEqual(
        (refusedEntry?.detail?.gates as { gate: string }[] | undefined)?.map((g) => g.gate).sort(),
        ['misconfigurations', 'secrets', 'severity', 'signature'],
        'a refused promotion is recorded with its gates',
      );
      assert.ok(entries.every((e) => e.action !== 'artifact.pull' || e.outcome === 'refused'), 'allowed pulls are not audited');
      const verified = await ok(api(s, 'GET', '/api/v1/audit/verify'));
      assert.equal(verified.ok, true, JSON.stringify(verified));
      assert.ok(verified.entries >= entries.length);
    });
  });
}

test('a promotion needs pull on the source and push on the target; bad references are 400; an unknown source is 404', { timeout: 60_000 }, async (t) => {
  const s = await gatedServer(t);
  const admin: Target = { url: s.url, auth: s.adminAuth };
  for (const p of ['staging', 'prod']) await createProject(s, p);
  await pushSpec(admin, 'staging/app', '1.0', {});
  const guest = await user(s, 'guest');
  await addMember(s, 'staging', 'guest', 'guest');
  await addMember(s, 'prod', 'guest', 'guest');
  const body = { source: 'staging/app:1.0', target: 'prod/app:1.0' };
  assert.equal((await api(s, 'POST', '/api/v1/promotions', body, guest)).status, 403, 'a guest of prod may not push there');
  const outsider = await user(s, 'outsider');
  assert.equal((await api(s, 'POST', '/api/v1/promotions', body, outsider)).status, 404, 'a private project is hidden');
  for (const [source, target] of [
    ['staging/app', 'prod/app:1.0'],
    ['staging/app:1.0', 'prod/app'],
    ['staging/app:1.0', `prod/app@sha256:${'a'.repeat(64)}`],
    ['staging/app@sha256:xyz', 'prod/app:1.0'],
    ['Staging/App:1.0', 'prod/app:1.0'],
  ]) {
    const r = await api(s, 'POST', '/api/v1/promotions', { source, target });
    assert.equal(r.status, 400, `${source} -> ${target}: ${JSON.stringify(r.body)}`);
  }
  assert.equal((await api(s, 'POST', '/api/v1/promotions', { source: 'staging/app:2.0', target: 'prod/app:2.0' })).status, 404);
  assert.equal((await api(s, 'POST', '/api/v1/promotions', { source: 'staging/app:1.0', target: 'nothing/app:1.0' })).status, 404);
  // A project without gates takes the image as it is; with no key it is not signed.
  const plain = await ok(api(s, 'POST', '/api/v1/promotions', body), 201);
  assert.equal(plain.signature, null);
  // A gated project without a key refuses: what it takes in, it signs.
  await ok(api(s, 'PUT', policyPath('prod'), { promotion: { requireSbom: false } }));
  const keyless = await api(s, 'POST', '/api/v1/promotions', { source: 'staging/app:1.0', target: 'prod/app:1.1' });
  assert.deepEqual(failedGates(keyless.body), ['signing-key']);
  assert.equal((await api(s, 'GET', '/api/v1/promotions', undefined, guest)).status, 400, 'only administrators list every project');
  assert.equal((await ok(api(s, 'GET', '/api/v1/promotions'))).length, 2);
});

test('a multi-platform index is promoted whole, with its images, and signed as one', { timeout: 60_000 }, async (t) => {
  const s = await gatedServer(t);
  const admin: Target = { url: s.url, auth: s.adminAuth };
  for (const p of ['staging', 'prod']) await createProject(s, p);
  await ok(api(s, 'POST', '/api/v1/projects/prod/signing-key', {}), 201);
  const images = [makeImage(), makeImage()];
  for (const i of images) await pushImage(admin, 'staging/multi', i.digest, i);
  const index = makeIndex(images.map((i) => ({ digest: i.digest, mediaType: i.mediaType, manifest: i.manifest })));
  await pushManifest(admin, 'staging/multi', '2.0', index.manifest, index.mediaType);
  const promoted = await ok(api(s, 'POST', '/api/v1/promotions', { source: `staging/multi@${index.digest}`, target: 'prod/multi:2.0' }), 201);
  assert.equal(promoted.digest, index.digest);
  assert.equal((await request(admin, 'HEAD', '/v2/prod/multi/manifests/2.0')).headers.get('docker-content-digest'), index.digest);
  for (const i of images) {
    assert.equal((await request(admin, 'HEAD', `/v2/prod/multi/manifests/${i.digest}`)).status, 200);
    for (const l of i.layers) assert.equal((await request(admin, 'HEAD', `/v2/prod/multi/blobs/${l.digest}`)).status, 200);
  }
  const sigs = await ok(api(s, 'GET', `${artifactPath('prod/multi', '2.0')}/signatures`));
  assert.deepEqual(sigs.signatures.map((x: { verifiedBy: string[] }) => x.verifiedBy), [['project']]);
});

test('signing with the project key in a project with promotion gates applies the gates', { timeout: 60_000 }, async (t) => {
  const s = await gatedServer(t);
  const admin: Target = { url: s.url, auth: s.adminAuth };
  await createProject(s, 'release');
  await ok(api(s, 'POST', '/api/v1/projects/release/signing-key', {}), 201);
  await ok(api(s, 'PUT', policyPath('release'), { promotion: { maxSeverity: 'high', denyMisconfigurations: ['*'], denySecrets: true, allowDirectPush: true } }));
  await pushSpec(admin, 'release/app', 'bad', { packages: ['left-pad@1.3.0'], entrypoint: '/app/processr', secret: true });
  await pushSpec(admin, 'release/app', 'good', { packages: ['is-even@2.0.0'] });
  for (const tag of ['bad', 'good']) await analysed(s, 'release/app', tag);
  const bad = await api(s, 'POST', `${artifactPath('release/app', 'bad')}/sign`, {});
  assert.equal(bad.status, 422);
  assert.deepEqual(failedGates(bad.body).map((g) => g.split(':')[0]), ['misconfigurations', 'secrets', 'severity']);
  assert.equal((await ok(api(s, 'GET', `${artifactPath('release/app', 'bad')}/signatures`))).signatures.length, 0, 'nothing signed');
  await ok(api(s, 'POST', `${artifactPath('release/app', 'good')}/sign`, {}), 201);
  // Elsewhere, signing signs as before.
  await createProject(s, 'plain');
  await ok(api(s, 'POST', '/api/v1/projects/plain/signing-key', {}), 201);
  await pushSpec(admin, 'plain/app', 'bad', { packages: ['left-pad@1.3.0'], secret: true });
  await ok(api(s, 'POST', `${artifactPath('plain/app', 'bad')}/sign`, {}), 201);
});
