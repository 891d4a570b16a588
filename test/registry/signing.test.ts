/**
 * Server-side signing: a project's key, kept encrypted at rest in Cosign's format under the
 * server's signing secret; one API call signs an image as `cosign sign` would store it, and the
 * real CLI and OpenSSL verify the result; the management API lists signatures and attestations
 * with the keys that verify them. On SQLite and the real PostgreSQL.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadPrivateKey, publicKeyPem } from '../../src/sign/index.js';
import { runCli } from '../helpers/cli.js';
import { requireTools, tempDir } from '../helpers/env.js';
import { makeImage, pushImage, request } from '../helpers/push.js';
import { ADMIN_PASSWORD, createProject, startTestServer } from '../helpers/server.js';

const json = { 'Content-Type': 'application/json' };
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

for (const database of ['sqlite', 'postgres'] as const) {
  describe(`server-side signing (${database})`, () => {
    test('a project key signs in one call; the CLI and OpenSSL verify; the key is encrypted at rest; the API lists what verifies', { timeout: 90_000 }, async (t) => {
      if (!requireTools(t, 'openssl')) return;
      const s = await startTestServer(t, { database });
      await createProject(s, 'team');
      const admin = { url: s.url, auth: s.adminAuth };
      const digest = await pushImage(admin, 'team/app', '1.0', makeImage({ layers: 1 }));
      const base = `/api/v1/projects/team/repositories/app/artifacts`;

      // No key yet.
      assert.equal((await s.admin('/api/v1/projects/team/signing-key')).status, 404);
      const early = await s.admin(`${base}/1.0/sign`, { method: 'POST', headers: json, body: '{}' });
      assert.equal(early.status, 409);
      assert.match(((await early.json()) as { errors: { message: string }[] }).errors[0]!.message, /has no signing key: a project administrator creates one/);

      const created = await s.admin('/api/v1/projects/team/signing-key', { method: 'POST', headers: json, body: '{}' });
      assert.equal(created.status, 201);
      const { publicKey } = (await created.json()) as { publicKey: string };
      assert.match(publicKey, /^-----BEGIN PUBLIC KEY-----\n/);
      assert.equal(((await (await s.admin('/api/v1/projects/team/signing-key')).json()) as { publicKey: string }).publicKey, publicKey);

      const signed = await s.admin(`${base}/1.0/sign`, { method: 'POST', headers: json, body: JSON.stringify({ annotations: { pipeline: '42' } }) });
      assert.equal(signed.status, 201, await signed.clone().text());
      const answer = (await signed.json()) as { digest: string; dockerReference: string; tag: string };
      assert.deepEqual([answer.digest, answer.dockerReference, answer.tag], [digest, `${s.host}/team/app`, `${digest.replace(':', '-')}.sig`]);

      // The real CLI verifies with the project's public key, claims included.
      const home = tempDir(t, 'portcullis-server-sign-');
      mkdirSync(join(home, '.docker'));
      writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { [s.host]: { auth: Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64') } } }));
      writeFileSync(join(home, 'team.pub'), publicKey);
      const verified = await runCli(home, ['verify', '--key', 'team.pub', '-a', 'pipeline=42', '--insecure', `${s.host}/team/app:1.0`]);
      assert.equal(verified.code, 0, verified.stderr);
      // And OpenSSL, from the bytes in the registry.
      const sig = (await (await request(admin, 'GET', `/v2/team/app/manifests/${answer.tag}`, { headers: { Accept: OCI_MANIFEST } })).json()) as { layers: { digest: string; annotations: Record<string, string> }[] };
      writeFileSync(join(home, 'payload'), Buffer.from(await (await request(admin, 'GET', `/v2/team/app/blobs/${sig.layers[0]!.digest}`)).arrayBuffer()));
      writeFileSync(join(home, 'sig'), Buffer.from(sig.layers[0]!.annotations['dev.cosignproject.cosign/signature']!, 'base64'));
      assert.match(execFileSync('openssl', ['dgst', '-sha256', '-verify', join(home, 'team.pub'), '-signature', join(home, 'sig'), join(home, 'payload')], { encoding: 'utf8' }), /Verified OK/);

      // At rest: Cosign's encrypted key, under the secret the server made (mode 0600).
      const secretFile = join(s.dataDir, 'signing.secret');
      assert.equal(statSync(secretFile).mode & 0o777, 0o600);
      const secret = readFileSync(secretFile, 'utf8').trim();
      if (database === 'sqlite') {
        const stored = await storedKey(s.dataDir);
        assert.match(stored, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
        assert.equal(publicKeyPem(await loadPrivateKey(stored, () => secret)), publicKey);
        await assert.rejects(loadPrivateKey(stored, () => 'another secret'), { code: 'KEY_PASSWORD' });
      }

      // A signature and an attestation by a key the server does not know.
      assert.equal((await runCli(home, ['key', 'generate', '--prefix', 'dev'], { COSIGN_PASSWORD: 'pw' })).code, 0);
      assert.equal((await runCli(home, ['sign', '--key', 'dev.key', '--insecure', `${s.host}/team/app:1.0`], { COSIGN_PASSWORD: 'pw' })).code, 0);
      writeFileSync(join(home, 'provenance.json'), JSON.stringify({ builder: { id: 'ci' } }));
      assert.equal((await runCli(home, ['attest', '--key', 'dev.key', '--type', 'slsaprovenance', '--predicate', 'provenance.json', '--insecure', `${s.host}/team/app:1.0`], { COSIGN_PASSWORD: 'pw' })).code, 0);
      const listed = (await (await s.admin(`${base}/1.0/signatures`)).json()) as { digest: string; signatures: { dockerReference: string; annotations: unknown; verifiedBy: string[] }[]; attestations: { predicateType: string; verifiedBy: string[] }[] };
      assert.equal(listed.digest, digest);
      assert.deepEqual(listed.signatures.map((x) => [x.dockerReference, x.annotations, x.verifiedBy]).sort((a, b) => String(a[2]).localeCompare(String(b[2]))), [
        [`${s.host}/team/app`, null, []],
        [`${s.host}/team/app`, { pipeline: '42' }, ['project']],
      ]);
      assert.deepEqual(listed.attestations.map((x) => [x.predicateType, x.verifiedBy]), [['https://slsa.dev/provenance/v0.2', []]]);

      // The .sig manifest is no image: no scan or SBOM job, and it cannot be signed.
      const sigDigest = (await request(admin, 'GET', `/v2/team/app/manifests/${answer.tag}`, { headers: { Accept: OCI_MANIFEST } })).headers.get('docker-content-digest')!;
      assert.equal((await s.admin(`${base}/${sigDigest}/sign`, { method: 'POST', headers: json, body: '{}' })).status, 400);
      assert.equal((await s.admin(`${base}/sha256:${'0'.repeat(64)}/sign`, { method: 'POST', headers: json, body: '{}' })).status, 404);
      assert.equal((await s.admin(`${base}/1.0/sign`, { method: 'POST', headers: json, body: JSON.stringify({ annotations: { x: 1 } }) })).status, 400);

      // A new key: the old signature no longer verifies with the project's key.
      assert.equal((await s.admin('/api/v1/projects/team/signing-key', { method: 'POST', headers: json, body: '{}' })).status, 201);
      const after = (await (await s.admin(`${base}/1.0/signatures`)).json()) as { signatures: { verifiedBy: string[] }[] };
      assert.ok(after.signatures.every((x) => x.verifiedBy.length === 0));
      assert.equal((await s.admin('/api/v1/projects/team/signing-key', { method: 'DELETE' })).status, 204);
      assert.equal((await s.admin('/api/v1/projects/team/signing-key')).status, 404);
    });
  });
}

test('with externalUrl set, signatures name its host, whatever Host a request carries', { timeout: 60_000 }, async (t) => {
  const s = await startTestServer(t, { config: { externalUrl: 'https://registry.example.com' } });
  await createProject(s, 'team');
  await pushImage({ url: s.url, auth: s.adminAuth }, 'team/app', '1.0', makeImage({ layers: 1 }));
  assert.equal((await s.admin('/api/v1/projects/team/signing-key', { method: 'POST', headers: json, body: '{}' })).status, 201);
  const signed = await s.admin('/api/v1/projects/team/repositories/app/artifacts/1.0/sign', { method: 'POST', headers: { ...json, 'X-Forwarded-Host': 'evil.example.net' }, body: '{}' });
  assert.equal(signed.status, 201);
  assert.equal(((await signed.json()) as { dockerReference: string }).dockerReference, 'registry.example.com/team/app');
});

test('a signing secret file without a usable secret is refused every time, and no key is stored under it', { timeout: 60_000 }, async (t) => {
  const s = await startTestServer(t);
  await createProject(s, 'team');
  writeFileSync(join(s.dataDir, 'signing.secret'), '\n', { mode: 0o600 });
  for (let i = 0; i < 2; i++) assert.equal((await s.admin('/api/v1/projects/team/signing-key', { method: 'POST', headers: json, body: '{}' })).status, 500);
  assert.equal((await s.admin('/api/v1/projects/team/signing-key')).status, 404);
});

/** The stored encrypted key, read from the SQLite file itself. */
async function storedKey(dataDir: string): Promise<string> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(join(dataDir, 'portcullis.db'), { readonly: true });
  try {
    return (db.prepare('SELECT encrypted_key FROM project_signing_keys').get() as { encrypted_key: string }).encrypted_key;
  } finally {
    db.close();
  }
}
