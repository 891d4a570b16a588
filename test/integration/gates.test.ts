/**
 * Issue 12, the incident, end to end with real clients (the CLI in child processes, skopeo,
 * podman) against one real Portcullis, on SQLite and on PostgreSQL:
 *
 * 1. Projects staging and prod; a developer, two members of the security team (made with the
 *    CLI), CI's Cosign key trusted by prod, prod's own signing key.
 * 2. Prod's policy from a YAML file: immutable release tags, promotion gates (fresh scan, nothing
 *    HIGH or worse, no PCL-IMG-001, no secret, CI's signature, an SBOM). Bad documents are refused,
 *    naming the bad key, and leave the policy as it was.
 * 3. The incident image (a CRITICAL CVE, an entrypoint that does not exist, a token, unsigned) is
 *    refused promotion with every failing gate named, and prod does not get it.
 * 4. The fix, signed by CI, is refused only for a HIGH CVE without a fix; a waiver asked for by the
 *    developer cannot be approved by him nor by its own requester (four eyes), is approved by the
 *    security team, and the promotion then passes: prod's key signs the promoted digest, CI's
 *    signature comes along.
 * 5. In prod, skopeo can neither overwrite nor delete the release tag, nor push a new tag (images
 *    come in by promotion only), while Cosign signatures can still be added.
 * 6. Pull gates: skopeo and podman cannot pull a CRITICAL image out of a project that prevents
 *    vulnerable images, and say why (the CVE); a project that requires CI's signature serves only
 *    the image CI signed, not an unsigned one nor one signed by another key; a multi-platform image
 *    is signed as Cosign signs it, by its index, and that signature covers its platform images.
 *
 * Every expectation comes from the clients' exit codes and output, or from what the registry
 * serves back; none reads the code under test.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { buildDb } from '../helpers/advisory-db.js';
import { requireTools, tempDir } from '../helpers/env.js';
import { sha256, writeOciLayout } from '../helpers/images.js';
import { artifactPath, scanStatus, settled } from '../helpers/registry-jobs.js';
import { ADMIN_PASSWORD, addMember, createProject, createRobot, createUser, startTestServer, type TestServer } from '../helpers/server.js';
import { creds, isolatedEnv, run, skopeoRunner, type RunResult } from './clients.js';
import { actor, ADVISORIES, failedGates, OPENSSL_CVE, writeImages, ZLIB_CVE, type Images } from './gates-fixtures.js';

const ADMIN = creds('admin', ADMIN_PASSWORD);
const CI_KEY_PASSWORD = 'ci-key-password';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const PROD_POLICY = `# prod: images come in by promotion only, and stay as they came
immutableTags:
  - repositories: "**"
    tags: "[0-9]*"
promotion:
  requireScan:
    maxAge: 24h
  maxSeverity: high
  denyMisconfigurations: [PCL-IMG-001]
  denySecrets: true
  requireSignature:
    keys: ["trusted:ci"]
  requireSbom: true
`;

type Skopeo = ReturnType<typeof skopeoRunner>;

interface Podman {
  run(...args: string[]): Promise<RunResult>;
}

/** podman with its own storage (vfs) in a temporary directory, as test/integration/podman.test.ts runs it. */
function podman(t: TestContext): Podman {
  const dir = tempDir(t, 'portcullis-gates-podman-');
  const env = isolatedEnv(t);
  const global = ['--storage-driver', 'vfs', '--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--tmpdir', join(dir, 'tmp'), '--events-backend', 'none', '--cgroup-manager', 'cgroupfs'];
  return { run: (...args) => run('podman', [...global, ...args], { env }) };
}

/** The digest of the manifest a tag names, as skopeo reads it (undefined when skopeo cannot read it), and skopeo's output. */
async function digestAt(skopeo: Skopeo, ref: string): Promise<{ digest: string | undefined; output: string }> {
  const r = await skopeo.run('inspect', '--raw', '--tls-verify=false', '--creds', ADMIN, `docker://${ref}`);
  return { digest: r.code === 0 ? sha256(Buffer.from(r.stdout, 'utf8')) : undefined, output: r.output };
}

/** Waits until the image's scan and SBOM are done (the promotion gates read both). */
async function scannedWithSbom(s: TestServer, repo: string, ref: string): Promise<Record<string, number>> {
  const scan = await scanStatus(s.url, repo, ref, s.adminAuth);
  assert.equal(scan.status, 'done', `scan of ${repo}:${ref}: ${scan.error ?? ''}`);
  const sbom = await settled(s.url, `${artifactPath(repo, ref)}/sbom`, s.adminAuth);
  const text = await sbom.text();
  assert.equal(sbom.status, 200, `SBOM of ${repo}:${ref}: ${text}`);
  return scan.summary ?? {};
}

function ok(r: { code: number | null; stdout: string; stderr: string }, what: string): void {
  assert.equal(r.code, 0, `${what} exited with ${r.code}:\n${r.stdout}${r.stderr}`);
}

for (const database of ['sqlite', 'postgres'] as const) {
  test(`the incident of issue 12 (${database}): promotion gates, waivers with four eyes, immutable tags, pull gates, with the CLI, skopeo and podman`, { timeout: 180_000 }, async (t) => {
    if (!requireTools(t, 'skopeo')) return;
    const dbDir = tempDir(t, 'portcullis-gates-db-');
    const db = join(dbDir, 'advisory.db');
    await buildDb(db, ADVISORIES, new Date(Date.now() - 60_000));
    const s = await startTestServer(t, { database, config: { scan: { enabled: true, db }, sbom: { enabled: true } } });
    const images: Images = await writeImages(join(tempDir(t, 'portcullis-gates-layout-'), 'layout'));
    const skopeo = skopeoRunner(t);
    const push = (tag: string, ref: string, credentials: string) => skopeo.run('copy', '--dest-tls-verify=false', '--dest-creds', credentials, `oci:${images.dir}:${tag}`, `docker://${s.host}/${ref}`);

    // ---------------------------------------------------------------- 1. accounts and keys
    for (const p of ['staging', 'prod', 'runtime', 'signed']) await createProject(s, p);
    await createUser(s, 'dev', 'dev-password-123');
    await addMember(s, 'staging', 'dev', 'developer');
    // Developer in prod: push there is what promotion into prod asks for (direct pushes are refused by the policy).
    await addMember(s, 'prod', 'dev', 'developer');
    const admin = actor(t, s, 'admin', ADMIN_PASSWORD);
    const dev = actor(t, s, 'dev', 'dev-password-123');
    const sec1 = actor(t, s, 'sec1', 'sec1-password-123');
    const sec2 = actor(t, s, 'sec2', 'sec2-password-123');
    for (const u of [sec1, sec2]) ok(await admin.apiWithInput(`${u.password}\n`, 'user', 'create', u.name, '--security-team', '--password-stdin'), `user create ${u.name}`);
    // sec1 may read prod (to ask for a waiver there); sec2 is in no project at all.
    await addMember(s, 'prod', 'sec1', 'guest');
    const robot = await createRobot(s, 'ci', [
      { project: 'staging', actions: ['pull', 'push'] },
      { project: 'signed', actions: ['pull', 'push'] },
    ]);
    const ci = actor(t, s, robot.name, robot.secret);
    ok(await ci.cli(['key', 'generate'], { COSIGN_PASSWORD: CI_KEY_PASSWORD }), 'key generate');
    ok(await ci.cli(['key', 'generate', '--prefix', 'rogue'], { COSIGN_PASSWORD: CI_KEY_PASSWORD }), 'key generate --prefix rogue');
    const ciPub = join(ci.home, 'cosign.pub');
    ok(await admin.api('project', 'trusted-key', 'add', 'prod', 'ci', '--key', ciPub), 'trusted-key add prod ci');
    const created = await admin.api('project', 'signing-key', 'create', 'prod');
    ok(created, 'signing-key create prod');
    ok(await dev.api('project', 'signing-key', 'show', 'prod', '-o', 'prod.pub'), 'signing-key show prod');
    const prodPub = readFileSync(join(dev.home, 'prod.pub'), 'utf8');
    assert.match(prodPub, /^-----BEGIN PUBLIC KEY-----\n/);
    assert.equal(prodPub.trim(), created.stdout.trim(), 'show prints the public key create made');
    assert.notEqual(prodPub.trim(), readFileSync(ciPub, 'utf8').trim());

    // ---------------------------------------------------------------- 2. prod's policy
    await t.test('2. the policy is set from YAML; invalid documents are refused, naming the bad key, and change nothing', async () => {
      writeFileSync(join(admin.home, 'policy.yaml'), PROD_POLICY);
      ok(await admin.api('project', 'policy', 'prod', '--file', 'policy.yaml'), 'project policy prod --file');

      writeFileSync(join(admin.home, 'bad-severity.yaml'), PROD_POLICY.replace('maxSeverity: high', 'maxSeverity: severe'));
      const badSeverity = await admin.api('project', 'policy', 'prod', '--file', 'bad-severity.yaml');
      assert.equal(badSeverity.code, 1, badSeverity.stderr);
      assert.match(badSeverity.stderr, /promotion\.maxSeverity/);
      writeFileSync(join(admin.home, 'unknown-key.yaml'), PROD_POLICY.replace('trusted:ci', 'trusted:nobody'));
      const unknownKey = await admin.api('project', 'policy', 'prod', '--file', 'unknown-key.yaml');
      assert.equal(unknownKey.code, 1, unknownKey.stderr);
      assert.match(unknownKey.stderr, /promotion\.requireSignature\.keys\.0: .*nobody/);
      // A developer may read the policy but not replace it.
      writeFileSync(join(dev.home, 'open.yaml'), 'promotion:\n  allowDirectPush: true\n');
      const byDev = await dev.api('project', 'policy', 'prod', '--file', 'open.yaml');
      assert.equal(byDev.code, 1, byDev.stderr);

      const shown = await dev.api('project', 'policy', 'prod', '-f', 'json');
      ok(shown, 'project policy prod');
      const policy = JSON.parse(shown.stdout) as { promotion?: { maxSeverity?: string; requireSignature?: { keys?: string[] }; allowDirectPush?: boolean } };
      assert.equal(policy.promotion?.maxSeverity, 'high', 'the refused documents left the policy as it was');
      assert.deepEqual(policy.promotion?.requireSignature?.keys, ['trusted:ci']);
      assert.equal(policy.promotion?.allowDirectPush, undefined);
    });

    // ---------------------------------------------------------------- 3. the incident
    await t.test('3. the incident image is refused promotion, every failing gate named, and prod does not get it', async () => {
      const pushed = await push('1.4.2', 'staging/app:1.4.2', creds('dev', dev.password));
      assert.equal(pushed.code, 0, pushed.output);
      const summary = await scannedWithSbom(s, 'staging/app', '1.4.2');
      assert.ok((summary['critical'] ?? 0) >= 1 && (summary['secrets'] ?? 0) >= 1, `fixture: the incident image has a critical finding and a secret: ${JSON.stringify(summary)}`);

      const refused = await dev.api('promote', `${s.host}/staging/app:1.4.2`, `${s.host}/prod/app:1.4.2`);
      assert.equal(refused.code, 1, `${refused.stdout}${refused.stderr}`);
      assert.equal(refused.stdout, '');
      const gates = failedGates(refused.stderr);
      assert.match(gates.get('severity') ?? '', new RegExp(OPENSSL_CVE), refused.stderr);
      assert.match(gates.get('misconfigurations') ?? '', /PCL-IMG-001/, refused.stderr);
      assert.match(gates.get('secrets') ?? '', /github-pat/, refused.stderr);
      assert.match(gates.get('signature') ?? '', /trusted:ci/, refused.stderr);
      // What passed is not listed: the scan is fresh, the SBOM is there, prod has a key.
      assert.deepEqual([...gates.keys()].sort(), ['misconfigurations', 'secrets', 'severity', 'signature'], refused.stderr);
      assert.match(refused.stderr, /^portcullis: promotion of .*refused/m);

      const inProd = await digestAt(skopeo, `${s.host}/prod/app:1.4.2`);
      assert.equal(inProd.digest, undefined, 'prod/app:1.4.2 does not exist after a refused promotion');
      assert.match(inProd.output, /manifest unknown|not found|name unknown/i);
      assert.equal((await digestAt(skopeo, `${s.host}/prod/app@${images.incident.digest}`)).digest, undefined, 'nor the image by digest');
    });

    // ---------------------------------------------------------------- 4. the fix, a waiver, the promotion
    await t.test('4. the fix, signed by CI, is refused for one CVE; a waiver (four eyes) lets it through, signed by prod', async () => {
      const pushed = await push('1.4.3', 'staging/app:1.4.3', creds('dev', dev.password));
      assert.equal(pushed.code, 0, pushed.output);
      await scannedWithSbom(s, 'staging/app', '1.4.3');
      ok(await ci.cli(['sign', '--key', 'cosign.key', '--insecure', `${s.host}/staging/app:1.4.3`], { COSIGN_PASSWORD: CI_KEY_PASSWORD }), 'CI signs staging/app:1.4.3');

      const promote = () => dev.api('promote', 'staging/app:1.4.3', 'prod/app:1.4.3');
      const first = await promote();
      assert.equal(first.code, 1, `${first.stdout}${first.stderr}`);
      const gates = failedGates(first.stderr);
      assert.deepEqual([...gates.keys()], ['severity'], `only the CVE without a fix stops it:\n${first.stderr}`);
      assert.match(gates.get('severity')!, new RegExp(ZLIB_CVE));
      assert.doesNotMatch(first.stderr, new RegExp(OPENSSL_CVE), 'the OpenSSL flaw is fixed in 1.4.3');

      const asked = await dev.api('waiver', 'request', '--project', 'prod', '--repository', 'app', '--id', ZLIB_CVE, '--reason', 'no fix upstream; the service never inflates untrusted input', '--expires', '30d', '-f', 'json');
      ok(asked, 'waiver request by dev');
      const waiver = JSON.parse(asked.stdout) as { id: number; state: string };
      assert.equal(waiver.state, 'pending');

      const selfApproved = await dev.api('waiver', 'approve', String(waiver.id));
      assert.equal(selfApproved.code, 1, selfApproved.stderr);
      assert.match(selfApproved.stderr, /security team/);
      const stillRefused = await promote();
      assert.equal(stillRefused.code, 1, 'a pending waiver waives nothing');
      assert.match(failedGates(stillRefused.stderr).get('severity') ?? '', new RegExp(ZLIB_CVE));

      // The security team's own request needs another member of the team.
      const bySec1 = await sec1.api('waiver', 'request', '--project', 'prod', '--id', ZLIB_CVE, '--reason', 'the whole project, please', '--expires', '7d', '-f', 'json');
      ok(bySec1, 'waiver request by sec1');
      const sec1Waiver = JSON.parse(bySec1.stdout) as { id: number };
      const fourEyes = await sec1.api('waiver', 'approve', String(sec1Waiver.id));
      assert.equal(fourEyes.code, 1, fourEyes.stderr);
      assert.match(fourEyes.stderr, /four eyes/);
      ok(await sec2.api('waiver', 'reject', String(sec1Waiver.id), '--comment', 'too broad'), 'sec2 rejects sec1’s waiver');

      const approved = await sec1.api('waiver', 'approve', String(waiver.id));
      ok(approved, 'sec1 approves dev’s waiver');
      assert.match(approved.stdout, new RegExp(`waiver ${waiver.id} approved`));
      const twice = await sec2.api('waiver', 'approve', String(waiver.id));
      assert.equal(twice.code, 1, 'a decided waiver is not decided again');

      const listed = await dev.api('waiver', 'list', '--project', 'prod', '-f', 'json');
      ok(listed, 'waiver list');
      const states = (JSON.parse(listed.stdout) as { id: number; state: string; requestedBy: string; decidedBy: string | null }[]).map((w) => `${w.id} ${w.state} ${w.requestedBy} ${w.decidedBy ?? '-'}`).sort();
      assert.deepEqual(states, [`${waiver.id} approved dev sec1`, `${sec1Waiver.id} rejected sec1 sec2`].sort());

      const promoted = await promote();
      ok(promoted, 'promotion with the waiver');
      assert.match(promoted.stdout, new RegExp(`^promoted staging/app@${images.fixed.digest} to prod/app:1\\.4\\.3, signed \\(sha256:[0-9a-f]{64}\\)$`, 'm'));

      const inProd = await digestAt(skopeo, `${s.host}/prod/app:1.4.3`);
      assert.equal(inProd.digest, images.fixed.digest, `prod/app:1.4.3 is the very manifest of staging/app:1.4.3:\n${inProd.output}`);
      const verified = await dev.cli(['verify', '--key', 'prod.pub', '--insecure', `${s.host}/prod/app:1.4.3`]);
      ok(verified, 'verify prod/app:1.4.3 with prod.pub');
      assert.equal((JSON.parse(verified.stdout) as { critical: { image: { 'docker-manifest-digest': string } } }[])[0]?.critical.image['docker-manifest-digest'], images.fixed.digest);
      // CI's signature came along; prod's key signed the copy in prod, not the source.
      writeFileSync(join(dev.home, 'ci.pub'), readFileSync(ciPub));
      ok(await dev.cli(['verify', '--key', 'ci.pub', '--allowed-reference', `${s.host}/staging/app`, '--insecure', `${s.host}/prod/app:1.4.3`]), 'verify prod/app:1.4.3 with CI’s key');
      const prodInStaging = await dev.cli(['verify', '--key', 'prod.pub', '--allowed-reference', `${s.host}/prod/app`, '--insecure', `${s.host}/staging/app:1.4.3`]);
      assert.equal(prodInStaging.code, 1, 'the promotion signs in prod only');
    });

    // ---------------------------------------------------------------- 5. prod's tags
    await t.test('5. in prod, skopeo cannot move, delete or add a release tag; Cosign signatures can still be added', async () => {
      const before = await digestAt(skopeo, `${s.host}/prod/app:1.4.3`);
      assert.equal(before.digest, images.fixed.digest, before.output);

      const overwrite = await push('1.4.2', 'prod/app:1.4.3', ADMIN);
      assert.notEqual(overwrite.code, 0, 'skopeo cannot overwrite prod/app:1.4.3');
      assert.match(overwrite.output, /denied/i);
      assert.match(overwrite.output, /promotion/);
      // Through a promotion, the tag's immutability is what refuses it.
      const overPromotion = await dev.api('promote', 'staging/app:1.4.2', 'prod/app:1.4.3');
      assert.equal(overPromotion.code, 1);
      assert.match(failedGates(overPromotion.stderr).get('immutable-tag') ?? '', /prod\/app:1\.4\.3 is immutable/, overPromotion.stderr);

      const deleted = await skopeo.run('delete', '--tls-verify=false', '--creds', ADMIN, `docker://${s.host}/prod/app:1.4.3`);
      assert.notEqual(deleted.code, 0, 'skopeo cannot delete prod/app:1.4.3');
      assert.match(deleted.output, /denied/i);
      assert.match(deleted.output, /immutable/);
      assert.equal((await digestAt(skopeo, `${s.host}/prod/app:1.4.3`)).digest, images.fixed.digest, 'the tag still names the promoted image');

      const newTag = await push('1.4.3', 'prod/app:hotfix', ADMIN);
      assert.notEqual(newTag.code, 0, 'a direct push into prod is refused');
      assert.match(newTag.output, /only by promotion/);
      assert.equal((await digestAt(skopeo, `${s.host}/prod/app:hotfix`)).digest, undefined);
      // Cosign's tags are for signatures: an image does not get in under one.
      const disguised = `sha256-${images.incident.digest.slice('sha256:'.length)}.sig`;
      const underCosignTag = await push('1.4.2', `prod/app:${disguised}`, ADMIN);
      assert.notEqual(underCosignTag.code, 0, 'an image under a Cosign tag is refused too');
      assert.match(underCosignTag.output, /only by promotion/);

      // A Cosign signature (the .sig tag and a referrer) is no new image: QA countersigns in prod.
      ok(await dev.cli(['key', 'generate', '--prefix', 'qa'], { COSIGN_PASSWORD: 'qa-password' }), 'key generate --prefix qa');
      ok(await dev.cli(['sign', '--key', 'qa.key', '--insecure', `${s.host}/prod/app:1.4.3`], { COSIGN_PASSWORD: 'qa-password' }), 'QA signs prod/app:1.4.3');
      ok(await dev.cli(['verify', '--key', 'qa.pub', '--insecure', `${s.host}/prod/app:1.4.3`]), 'verify with qa.pub');
      ok(await dev.cli(['verify', '--key', 'prod.pub', '--insecure', `${s.host}/prod/app:1.4.3`]), 'prod’s signature is still there');

      // Nor does the repository go whole while it holds an immutable tag (Harbor: an immutable tagged artifact cannot be deleted).
      const repoDeleted = await s.admin('/api/v1/projects/prod/repositories/app', { method: 'DELETE' });
      const repoDeletedBody = await repoDeleted.text();
      assert.notEqual(repoDeleted.status, 204, 'deleting prod/app would delete the immutable prod/app:1.4.3');
      assert.match(repoDeletedBody, /immutable/, `${repoDeleted.status} ${repoDeletedBody}`);
      assert.equal((await digestAt(skopeo, `${s.host}/prod/app:1.4.3`)).digest, images.fixed.digest, 'prod/app:1.4.3 is still there');
    });

    // ---------------------------------------------------------------- 6. pull gates
    await t.test('6a. skopeo and podman cannot pull a CRITICAL image out of a project that prevents vulnerable images, and print why', async (st) => {
      writeFileSync(join(admin.home, 'runtime.yaml'), 'preventVulnerable:\n  severity: critical\nimmutableTags:\n  - repositories: app\n    tags: "1.*"\n');
      ok(await admin.api('project', 'policy', 'runtime', '--file', 'runtime.yaml'), 'project policy runtime');
      for (const tag of ['1.4.2', '1.4.3']) {
        const r = await push(tag, `runtime/app:${tag}`, ADMIN);
        assert.equal(r.code, 0, r.output);
        assert.equal((await scanStatus(s.url, 'runtime/app', tag, s.adminAuth)).status, 'done');
      }

      const out = tempDir(st, 'portcullis-gates-pulled-');
      const refused = await skopeo.run('copy', '--src-tls-verify=false', '--src-creds', ADMIN, `docker://${s.host}/runtime/app:1.4.2`, `oci:${join(out, 'a')}:x`);
      assert.notEqual(refused.code, 0, 'skopeo cannot pull runtime/app:1.4.2');
      assert.match(refused.output, new RegExp(OPENSSL_CVE), `skopeo prints the registry's reason:\n${refused.output}`);
      assert.match(refused.output, /refused by the policy of project runtime/);
      // The image below the bar (HIGH only) pulls.
      await skopeo.ok('copy', '--src-tls-verify=false', '--src-creds', ADMIN, `docker://${s.host}/runtime/app:1.4.3`, `oci:${join(out, 'b')}:x`);

      // The fixed image cannot be pushed over the vulnerable one: its tag is immutable.
      const overwrite = await push('1.4.3', 'runtime/app:1.4.2', ADMIN);
      assert.notEqual(overwrite.code, 0, 'runtime/app:1.4.2 cannot be overwritten');
      assert.match(overwrite.output, /denied/i);
      assert.match(overwrite.output, /immutable \(immutable tags: repositories app, tags 1\.\*\)/);

      if (!requireTools(st, 'podman')) return;
      const pulled = await podman(st).run('pull', '--tls-verify=false', '--creds', ADMIN, `docker://${s.host}/runtime/app:1.4.2`);
      assert.notEqual(pulled.code, 0, 'podman cannot pull runtime/app:1.4.2');
      assert.match(pulled.output, new RegExp(OPENSSL_CVE), `podman prints the registry's reason:\n${pulled.output}`);
    });

    await t.test('6b. a project that requires CI’s signature serves the image CI signed, not an unsigned one nor one signed by another key', async (st) => {
      ok(await admin.api('project', 'trusted-key', 'add', 'signed', 'ci', '--key', ciPub), 'trusted-key add signed ci');
      writeFileSync(join(admin.home, 'signed.yaml'), 'requireSignature:\n  keys: ["trusted:ci"]\n');
      ok(await admin.api('project', 'policy', 'signed', '--file', 'signed.yaml'), 'project policy signed');
      for (const tag of ['unsigned', 'ci', 'rogue'] as const) {
        const r = await push(tag, `signed/app:${tag}`, creds(robot.name, robot.secret));
        assert.equal(r.code, 0, r.output);
      }
      // CI signs in the gated project itself: the gate refuses the content, not the name.
      ok(await ci.cli(['sign', '--key', 'cosign.key', '--insecure', `${s.host}/signed/app:ci`], { COSIGN_PASSWORD: CI_KEY_PASSWORD }), 'CI signs signed/app:ci');
      ok(await ci.cli(['sign', '--key', 'rogue.key', '--insecure', `${s.host}/signed/app:rogue`], { COSIGN_PASSWORD: CI_KEY_PASSWORD }), 'another key signs signed/app:rogue');

      const raw = await s.admin('/v2/signed/app/manifests/unsigned', { headers: { Accept: OCI_MANIFEST } });
      const body = await raw.text();
      assert.equal(raw.status, 412, body);
      const errors = (JSON.parse(body) as { errors: { code: string; message: string }[] }).errors;
      assert.equal(errors[0]?.code, 'DENIED');
      assert.match(errors[0]?.message ?? '', /trusted:ci/);

      const out = tempDir(st, 'portcullis-gates-signed-');
      const pull = (tag: string) => skopeo.run('copy', '--src-tls-verify=false', '--src-creds', ADMIN, `docker://${s.host}/signed/app:${tag}`, `oci:${join(out, tag)}:x`);
      const unsigned = await pull('unsigned');
      assert.notEqual(unsigned.code, 0, 'an unsigned image is refused');
      assert.match(unsigned.output, /trusted:ci/);
      const signed = await pull('ci');
      assert.equal(signed.code, 0, `the image CI signed pulls:\n${signed.output}`);
      const rogue = await pull('rogue');
      assert.notEqual(rogue.code, 0, 'an image signed by an untrusted key is refused');
      assert.match(rogue.output, /trusted:ci/);
    });

    await t.test('6c. a multi-platform image CI signed as Cosign signs one (the index its tag names) pulls from the project that requires CI’s signature', async (st) => {
      const layout = await writeOciLayout(join(tempDir(st, 'portcullis-gates-multi-'), 'layout'), { seed: `gates-${database}`, scale: 0.05 });
      const pushed = await skopeo.run('copy', '--all', '--dest-tls-verify=false', '--dest-creds', creds(robot.name, robot.secret), `oci:${layout.dir}:${layout.index.tag}`, `docker://${s.host}/signed/multi:1.0`);
      assert.equal(pushed.code, 0, pushed.output);
      const out = tempDir(st, 'portcullis-gates-multi-pulled-');
      const before = await skopeo.run('copy', '--src-tls-verify=false', '--src-creds', ADMIN, `docker://${s.host}/signed/multi:1.0`, `oci:${join(out, 'before')}:x`);
      assert.notEqual(before.code, 0, 'unsigned, its platform image is refused');
      assert.match(before.output, /trusted:ci/);

      ok(await ci.cli(['sign', '--key', 'cosign.key', '--insecure', `${s.host}/signed/multi:1.0`], { COSIGN_PASSWORD: CI_KEY_PASSWORD }), 'CI signs signed/multi:1.0');
      const after = await skopeo.run('copy', '--src-tls-verify=false', '--src-creds', ADMIN, `docker://${s.host}/signed/multi:1.0`, `oci:${join(out, 'after')}:x`);
      assert.equal(after.code, 0, `the signature of the index covers the images it lists:\n${after.output}`);
    });
  });
}
