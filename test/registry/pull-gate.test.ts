/**
 * The pull gate and the waivers that open it, through the Distribution API: a vulnerable image
 * answers 412 by tag and by digest (to administrators too) with a distribution error naming its
 * worst findings and how to ask for a waiver, while HEAD, its SBOM and its report stay readable;
 * unsigned images, and images signed with a key the policy does not name, are refused where
 * signatures are required. Waivers count only once approved by another member of the security
 * team, only in their scope, only until they expire (the clock is the server's, injected here).
 * Decisions are remembered, yet a signature, a waiver or a policy change takes effect at once.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cosignSign, newKeyPair } from '../helpers/cosign.js';
import { errorsOf, request, type Target } from '../helpers/push.js';
import { artifactPath } from '../helpers/registry-jobs.js';
import { addMember, createProject } from '../helpers/server.js';
import { analysed, api, CRITICAL, gatedServer, HIGH_UNFIXED, MEDIUM, ok, policyPath, pushSpec, user } from './gates-fixtures.js';

const DAY = 86_400_000;
const ACCEPT = { Accept: 'application/vnd.oci.image.manifest.v1+json' };

async function pullStatus(target: Target, repo: string, ref: string): Promise<number> {
  const res = await request(target, 'GET', `/v2/${repo}/manifests/${ref}`, { headers: ACCEPT });
  await res.arrayBuffer();
  return res.status;
}

for (const database of ['sqlite', 'postgres'] as const) {
  describe(`the pull gate (${database})`, () => {
    test('a vulnerable image is refused with 412 naming its findings; its signatures, SBOM and report stay readable; an approved waiver opens it until it expires', { timeout: 90_000 }, async (t) => {
      let clock = Date.now();
      const s = await gatedServer(t, { database, clock: () => clock });
      const admin: Target = { url: s.url, auth: s.adminAuth };
      await createProject(s, 'runtime');
      await ok(api(s, 'PUT', policyPath('runtime'), { preventVulnerable: { severity: 'high' } }));
      const bad = await pushSpec(admin, 'runtime/app', '1.0', { packages: ['left-pad@1.3.0', 'is-even@1.0.0'] });
      const clean = await pushSpec(admin, 'runtime/app', '1.1', { packages: ['is-even@2.0.0'] });
      for (const d of [bad, clean]) await analysed(s, 'runtime/app', d);

      for (const ref of ['1.0', bad]) {
        const res = await request(admin, 'GET', `/v2/runtime/app/manifests/${ref}`, { headers: ACCEPT });
        assert.equal(res.status, 412, ref);
        const [e] = await errorsOf(res);
        assert.equal(e?.code, 'DENIED');
        assert.match(e!.message, new RegExp(`refused by the policy of project runtime: 1 critical findings at or above high: ${CRITICAL}`));
        assert.doesNotMatch(e!.message, new RegExp(MEDIUM), 'below the bar: not named');
        assert.match(e!.message, new RegExp(`portcullis waiver request --project runtime --repository runtime/app --digest ${bad} --id ${CRITICAL}`));
        assert.deepEqual((e!.detail as { gates: { gate: string; ids: string[] }[] }).gates.map((g) => [g.gate, g.ids]), [['severity', [CRITICAL]]]);
      }
      assert.equal(await pullStatus(admin, 'runtime/app', '1.1'), 200, 'a clean image pulls');
      const head = await request(admin, 'HEAD', '/v2/runtime/app/manifests/1.0', { headers: ACCEPT });
      assert.equal(head.status, 200, 'HEAD names the image (what signing needs)');
      assert.equal(head.headers.get('docker-content-digest'), bad);
      const referrers = (await (await request(admin, 'GET', `/v2/runtime/app/referrers/${bad}`)).json()) as { manifests: { digest: string; artifactType: string }[] };
      assert.ok(referrers.manifests.length >= 2, 'SBOMs and the report are referrers');
      for (const r of referrers.manifests) assert.equal(await pullStatus(admin, 'runtime/app', r.digest), 200, `${r.artifactType} pulls`);
      assert.equal((await api(s, 'GET', `${artifactPath('runtime/app', bad)}/scan/report`)).status, 200, 'the management API keeps reading reports');
      // Every refused pull is in the audit log, with the gates; allowed pulls are not.
      const deadline = Date.now() + 10_000;
      let pulls: { outcome: string; resource: string; detail: { gates: { gate: string; ids: string[] }[] } }[] = [];
      while (pulls.length < 2 && Date.now() < deadline) {
        pulls = (await ok(api(s, 'GET', '/api/v1/audit?action=artifact.pull&project=runtime'))).entries;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(pulls.map((p) => [p.outcome, p.resource, p.detail.gates.map((g) => `${g.gate} ${g.ids.join()}`)]), [
        ['refused', `runtime/app@${bad}`, [`severity ${CRITICAL}`]],
        ['refused', `runtime/app@${bad}`, [`severity ${CRITICAL}`]],
      ]);

      // Four eyes: the security team decides, never on their own request, administrators included.
      const dev = await user(s, 'dev');
      await addMember(s, 'runtime', 'dev', 'developer');
      const secAdmin = await user(s, 'secadmin', { securityTeam: true, admin: true });
      const sec2 = await user(s, 'sec2', { securityTeam: true });
      const own = await ok(api(s, 'POST', '/api/v1/waivers', { project: 'runtime', repository: 'app', digest: bad, ids: [CRITICAL], reason: 'patched in our fork', expires: '7d' }, secAdmin), 201);
      const self = await api(s, 'POST', `/api/v1/waivers/${own.id}/approve`, {}, secAdmin);
      assert.equal(self.status, 403);
      assert.match(self.body.errors[0].message, /four eyes/);
      assert.equal(await pullStatus(admin, 'runtime/app', '1.0'), 412, 'pending: waives nothing');
      assert.equal((await api(s, 'POST', `/api/v1/waivers/${own.id}/approve`, {}, dev)).status, 403, 'not in the security team');
      const approved = await ok(api(s, 'POST', `/api/v1/waivers/${own.id}/approve`, {}, sec2));
      assert.equal(approved.decidedBy, 'sec2');
      assert.equal((await api(s, 'POST', `/api/v1/waivers/${own.id}/reject`, {}, sec2)).status, 409, 'decided once');
      assert.equal(await pullStatus(admin, 'runtime/app', '1.0'), 200, 'approved: the pull goes on at once');

      // Expired: the image is refused again, and the waiver reads expired.
      clock += 8 * DAY;
      assert.equal(await pullStatus(admin, 'runtime/app', '1.0'), 412, 'expired: refused again');
      assert.equal((await ok(api(s, 'GET', `/api/v1/waivers/${own.id}`, undefined, dev))).state, 'expired');
      // A rejected waiver waives nothing.
      const rejected = await ok(api(s, 'POST', '/api/v1/waivers', { project: 'runtime', ids: [CRITICAL], reason: 'please', expires: '7d' }, dev), 201);
      await ok(api(s, 'POST', `/api/v1/waivers/${rejected.id}/reject`, { comment: 'upgrade left-pad' }, sec2));
      assert.equal(await pullStatus(admin, 'runtime/app', '1.0'), 412);
    });
  });
}

test('waivers apply in their scope only: one image, a repository, or the whole project', { timeout: 90_000 }, async (t) => {
  const s = await gatedServer(t);
  const admin: Target = { url: s.url, auth: s.adminAuth };
  await createProject(s, 'runtime');
  await ok(api(s, 'PUT', policyPath('runtime'), { preventVulnerable: { severity: 'high' } }));
  const a1 = await pushSpec(admin, 'runtime/a', '1', { packages: ['left-pad@1.3.0'], nonce: 'a1' });
  const a2 = await pushSpec(admin, 'runtime/a', '2', { packages: ['left-pad@1.3.0'], nonce: 'a2' });
  const b1 = await pushSpec(admin, 'runtime/b', '1', { packages: ['left-pad@1.3.0'], nonce: 'b1' });
  for (const [repo, d] of [['runtime/a', a1], ['runtime/a', a2], ['runtime/b', b1]] as const) await analysed(s, repo, d);
  const sec = await user(s, 'sec', { securityTeam: true });
  const grant = async (scope: Record<string, string>, ids = [CRITICAL]): Promise<number> => {
    const w = await ok(api(s, 'POST', '/api/v1/waivers', { project: 'runtime', ...scope, ids, reason: 'scoped', expires: '1d' }), 201);
    await ok(api(s, 'POST', `/api/v1/waivers/${w.id}/approve`, {}, sec));
    return w.id as number;
  };
  const statuses = async () => [await pullStatus(admin, 'runtime/a', a1), await pullStatus(admin, 'runtime/a', a2), await pullStatus(admin, 'runtime/b', b1)];
  assert.deepEqual(await statuses(), [412, 412, 412]);
  await grant({ repository: 'app' }, [CRITICAL]);
  assert.deepEqual(await statuses(), [412, 412, 412], 'another repository');
  await grant({ repository: 'a', digest: a1 }, [HIGH_UNFIXED]);
  assert.deepEqual(await statuses(), [412, 412, 412], 'other ids');
  await grant({ repository: 'runtime/a', digest: a1 });
  assert.deepEqual(await statuses(), [200, 412, 412], 'one image');
  await grant({ repository: 'a' });
  assert.deepEqual(await statuses(), [200, 200, 412], 'its repository');
  await grant({});
  assert.deepEqual(await statuses(), [200, 200, 200], 'the project');

  // The report shows what a waiver took, with the waiver.
  const report = await ok(api(s, 'GET', `${artifactPath('runtime/b', b1)}/scan/report?format=json`));
  const modified = (report.Results as { ModifiedFindings?: { Status: string; Source: string; Finding: { VulnerabilityID?: string } }[] }[]).flatMap((r) => r.ModifiedFindings ?? []);
  assert.deepEqual(
    modified.map((m) => [m.Status, m.Source.replace(/\d+/, 'N'), m.Finding.VulnerabilityID]),
    [['ignored', 'portcullis waiver N', CRITICAL]],
  );
  assert.equal((report.Results as { Vulnerabilities?: { VulnerabilityID: string }[] }[]).flatMap((r) => r.Vulnerabilities ?? []).some((v) => v.VulnerabilityID === CRITICAL), false);
});

test('waiver requests are checked: a reason, an expiry of at most 90 days, a digest with its repository; only members see them', { timeout: 60_000 }, async (t) => {
  const s = await gatedServer(t);
  await createProject(s, 'runtime');
  const dev = await user(s, 'dev');
  await addMember(s, 'runtime', 'dev', 'developer');
  const outsider = await user(s, 'outsider');
  const sec = await user(s, 'sec', { securityTeam: true });
  const base = { project: 'runtime', ids: [CRITICAL], reason: 'why', expires: '30d' };
  for (const [body, pattern] of [
    [{ ...base, reason: '  ' }, /reason/],
    [{ ...base, expires: '91d' }, /90 days/],
    [{ ...base, expires: '2000-01-01T00:00:00Z' }, /over before it starts/],
    [{ ...base, expires: 'someday' }, /neither a duration/],
    [{ ...base, digest: `sha256:${'a'.repeat(64)}` }, /names its repository/],
    [{ ...base, ids: [] }, /ids/],
    [{ ...base, ids: ['bad id with spaces'] }, /ids/],
  ] as const) {
    const r = await api(s, 'POST', '/api/v1/waivers', body, dev);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.match(r.body.errors[0].message, pattern);
  }
  assert.equal((await api(s, 'POST', '/api/v1/waivers', base, outsider)).status, 404, 'a private project is hidden');
  const w = await ok(api(s, 'POST', '/api/v1/waivers', base, dev), 201);
  assert.equal(w.requestedBy, 'dev');
  assert.ok(Math.abs(Date.parse(w.expiresAt) - (Date.now() + 30 * DAY)) < 60_000);
  assert.equal((await api(s, 'GET', `/api/v1/waivers/${w.id}`, undefined, outsider)).status, 404);
  assert.equal((await api(s, 'GET', '/api/v1/waivers', undefined, dev)).status, 400, 'name the project');
  assert.deepEqual((await ok(api(s, 'GET', '/api/v1/waivers?project=runtime&state=pending', undefined, dev))).map((x: { id: number }) => x.id), [w.id]);
  assert.deepEqual((await ok(api(s, 'GET', '/api/v1/waivers', undefined, sec))).map((x: { id: number }) => x.id), [w.id], 'the security team lists all');
  assert.deepEqual(await ok(api(s, 'GET', '/api/v1/waivers?project=runtime&state=approved', undefined, dev)), []);
  // Administrators set the security team; nobody else, not even for themselves.
  assert.equal((await api(s, 'PATCH', '/api/v1/users/dev', { securityTeam: true }, dev)).status, 403);
  assert.equal((await ok(api(s, 'PATCH', '/api/v1/users/dev', { securityTeam: true }))).securityTeam, true);
});

test('requireSignature: unsigned and untrusted-key images are refused; a signature by a named key opens the pull at once', { timeout: 60_000 }, async (t) => {
  const s = await gatedServer(t);
  const admin: Target = { url: s.url, auth: s.adminAuth };
  await createProject(s, 'signed');
  const ci = newKeyPair();
  const stranger = newKeyPair();
  await ok(api(s, 'POST', '/api/v1/projects/signed/trusted-keys', { name: 'ci', publicKey: ci.publicKeyPem }), 201);
  // A policy may not name a key the project does not have.
  const unknown = await api(s, 'PUT', policyPath('signed'), { requireSignature: { keys: ['trusted:nope'] } });
  assert.equal(unknown.status, 400);
  assert.match(unknown.body.errors[0].message, /nope/);
  await ok(api(s, 'PUT', policyPath('signed'), { requireSignature: { keys: ['trusted:ci'] } }));
  const digest = await pushSpec(admin, 'signed/app', '1.0', {});
  const refused = await request(admin, 'GET', '/v2/signed/app/manifests/1.0', { headers: ACCEPT });
  assert.equal(refused.status, 412);
  assert.match((await errorsOf(refused))[0]!.message, /needs 1 signature that verify with trusted:ci; none verifies/);
  await cosignSign(admin, 'signed/app', digest, stranger.privateKey);
  assert.equal(await pullStatus(admin, 'signed/app', '1.0'), 412, 'a key the policy does not name counts for nothing');
  await cosignSign(admin, 'signed/app', digest, ci.privateKey);
  assert.equal(await pullStatus(admin, 'signed/app', '1.0'), 200, 'signed by CI: pulls at once');
  // Two keys wanted: CI's is not enough.
  await ok(api(s, 'POST', '/api/v1/projects/signed/signing-key', {}), 201);
  await ok(api(s, 'PUT', policyPath('signed'), { requireSignature: { keys: ['trusted:ci', 'project'], minSignatures: 2 } }));
  assert.equal(await pullStatus(admin, 'signed/app', '1.0'), 412, 'the policy change takes effect at once');
  await ok(api(s, 'POST', `${artifactPath('signed/app', '1.0')}/sign`, {}), 201);
  assert.equal(await pullStatus(admin, 'signed/app', '1.0'), 200);
  // The key trusted goes: its signatures stop counting.
  await ok(api(s, 'DELETE', '/api/v1/projects/signed/trusted-keys/ci'), 204);
  assert.equal(await pullStatus(admin, 'signed/app', '1.0'), 412);
});

test('unscanned images: allowed by default, refused when the policy says deny', { timeout: 60_000 }, async (t) => {
  // No scanner: nothing is ever scanned.
  const s = await (await import('../helpers/server.js')).startTestServer(t);
  const admin: Target = { url: s.url, auth: s.adminAuth };
  await createProject(s, 'runtime');
  await pushSpec(admin, 'runtime/app', '1.0', {});
  await ok(api(s, 'PUT', policyPath('runtime'), { preventVulnerable: { severity: 'critical' } }));
  assert.equal(await pullStatus(admin, 'runtime/app', '1.0'), 200);
  await ok(api(s, 'PUT', policyPath('runtime'), { preventVulnerable: { severity: 'critical', unscanned: 'deny' } }));
  const res = await request(admin, 'GET', '/v2/runtime/app/manifests/1.0', { headers: ACCEPT });
  assert.equal(res.status, 412);
  assert.match((await errorsOf(res))[0]!.message, /no scan result yet/);
});
