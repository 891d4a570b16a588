/**
 * Signatures travel with copies: Debian's skopeo, with `use-sigstore-attachments: true` in its
 * registries.d, carries Cosign's `.sig` attachments between Portcullis repositories and to and
 * from Debian's docker-registry (which has no referrers API). It rewrites the `.sig` manifest with
 * its own config on the way; `portcullis verify` still accepts the copy, with the repository the
 * image was signed in allowed by `--allowed-reference`.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { startDockerRegistry } from '../helpers/docker-registry.js';
import { requireTools, tempDir } from '../helpers/env.js';
import { makeImage, pushImage, request } from '../helpers/push.js';
import { ADMIN_PASSWORD, createProject, startTestServer } from '../helpers/server.js';
import { creds, skopeoRunner } from './clients.js';

test('skopeo copies carry Cosign signatures between Portcullis repositories and docker-registry; verify accepts the copies', { timeout: 180_000 }, async (t) => {
  if (!requireTools(t, 'skopeo', 'docker-registry')) return;
  const home = tempDir(t, 'portcullis-cosign-copy-');
  const server = await startTestServer(t);
  await createProject(server, 'team');
  const reference = await startDockerRegistry(t);
  const admin = { url: server.url, auth: server.adminAuth };
  const digest = await pushImage(admin, 'team/app', '1.0', makeImage({ layers: 2 }));
  mkdirSync(join(home, '.docker'), { recursive: true });
  writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { [server.host]: { auth: Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64') } } }));
  assert.equal((await runCli(home, ['key', 'generate'], { COSIGN_PASSWORD: 'pw' })).code, 0);
  const signed = await runCli(home, ['sign', '--key', 'cosign.key', '-a', 'stage=build', '--insecure', `${server.host}/team/app:1.0`], { COSIGN_PASSWORD: 'pw' });
  assert.equal(signed.code, 0, signed.stderr);

  const registriesD = join(home, 'registries.d');
  mkdirSync(registriesD);
  writeFileSync(join(registriesD, 'default.yaml'), 'default-docker:\n  use-sigstore-attachments: true\n');
  const skopeo = skopeoRunner(t);
  const portcullisCreds = creds('admin', ADMIN_PASSWORD);
  const copy = (from: string, to: string, extra: string[]) => skopeo.ok('--registries.d', registriesD, 'copy', '--src-tls-verify=false', '--dest-tls-verify=false', ...extra, from, to);
  const signedIn = `${server.host}/team/app`;
  const verify = (image: string, ...extra: string[]) => runCli(home, ['verify', '--key', 'cosign.pub', '-a', 'stage=build', '--insecure', ...extra, image]);

  // Portcullis → Portcullis, another repository.
  await copy(`docker://${server.host}/team/app:1.0`, `docker://${server.host}/team/copy:1.0`, ['--src-creds', portcullisCreds, '--dest-creds', portcullisCreds]);
  const sig = await request(admin, 'GET', `/v2/team/copy/manifests/${digest.replace(':', '-')}.sig`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(sig.status, 200, 'skopeo wrote the .sig tag in the copy');
  await sig.body?.cancel();
  const strict = await verify(`${server.host}/team/copy:1.0`);
  assert.equal(strict.code, 1, 'the signature names team/app');
  assert.match(strict.stderr, /--allowed-reference/);
  const copied = await verify(`${server.host}/team/copy:1.0`, '--allowed-reference', signedIn);
  assert.equal(copied.code, 0, copied.stderr);
  assert.equal((JSON.parse(copied.stdout) as { critical: { image: { 'docker-manifest-digest': string } } }[])[0]?.critical.image['docker-manifest-digest'], digest);

  // Portcullis → docker-registry (no referrers API: the .sig tag alone) → Portcullis.
  await copy(`docker://${server.host}/team/app:1.0`, `docker://${reference.host}/mirror/app:1.0`, ['--src-creds', portcullisCreds]);
  const mirrored = await verify(`${reference.host}/mirror/app:1.0`, '--allowed-reference', signedIn);
  assert.equal(mirrored.code, 0, mirrored.stderr);
  await copy(`docker://${reference.host}/mirror/app:1.0`, `docker://${server.host}/team/back:1.0`, ['--dest-creds', portcullisCreds]);
  const back = await verify(`${server.host}/team/back:1.0`, '--allowed-reference', signedIn);
  assert.equal(back.code, 0, back.stderr);

  // A second signature added in the copy: skopeo appends on the next copy, and both keys verify there.
  assert.equal((await runCli(home, ['key', 'generate', '--prefix', 'release'], { COSIGN_PASSWORD: 'pw' })).code, 0);
  assert.equal((await runCli(home, ['sign', '--key', 'release.key', '--insecure', `${server.host}/team/app:1.0`], { COSIGN_PASSWORD: 'pw' })).code, 0);
  await copy(`docker://${server.host}/team/app:1.0`, `docker://${reference.host}/mirror/app:1.0`, ['--src-creds', portcullisCreds]);
  for (const key of ['cosign.pub', 'release.pub']) {
    const r = await runCli(home, ['verify', '--key', key, '--allowed-reference', signedIn, '--insecure', `${reference.host}/mirror/app:1.0`]);
    assert.equal(r.code, 0, `${key}: ${r.stderr}`);
  }
});
