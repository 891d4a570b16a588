/**
 * Mirroring from Debian's docker-registry (distribution 2.8, the reference implementation) into
 * Portcullis with `skopeo sync`: every tag arrives under the same manifest digest.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { startDockerRegistry } from '../helpers/docker-registry.js';
import { requireTools, tempDir } from '../helpers/env.js';
import { sha256, writeOciLayout } from '../helpers/images.js';
import { ADMIN_PASSWORD, createProject, startTestServer } from '../helpers/server.js';
import { creds, skopeoRunner } from './clients.js';

const ADMIN = creds('admin', ADMIN_PASSWORD);

test('skopeo sync mirrors every tag of a docker-registry repository into Portcullis with identical digests', async (t) => {
  if (!requireTools(t, 'skopeo', 'docker-registry')) return;
  const [s, reference, layout] = await Promise.all([startTestServer(t), startDockerRegistry(t), writeOciLayout(join(tempDir(t, 'portcullis-layout-'), 'src'))]);
  await createProject(s, 'mirror', false);
  const skopeo = skopeoRunner(t);

  // The source: the multi-layer image under two tags and the two-platform index, in docker-registry.
  const sourceTags: Record<string, string> = { v1: layout.image.digest, stable: layout.image.digest, multi: layout.index.digest };
  for (const [tag, digest] of Object.entries(sourceTags)) {
    const isIndex = digest === layout.index.digest;
    await skopeo.ok('copy', ...(isIndex ? ['--all'] : []), '--dest-tls-verify=false', `oci:${layout.dir}:${isIndex ? layout.index.tag : layout.image.tag}`, `docker://${reference.host}/library/app:${tag}`);
  }
  const inReference = new Map<string, string>();
  for (const tag of Object.keys(sourceTags)) {
    const raw = await skopeo.ok('inspect', '--raw', '--tls-verify=false', '--no-creds', `docker://${reference.host}/library/app:${tag}`);
    inReference.set(tag, sha256(Buffer.from(raw.stdout, 'utf8')));
  }
  assert.deepEqual(Object.fromEntries(inReference), sourceTags, 'fixture: docker-registry holds the images unchanged');

  // skopeo 1.9: `sync --src docker --dest docker SOURCE DESTINATION`; a source without a tag means
  // every tag, and the images land at DESTINATION/<last path component of the source>.
  const sync = await skopeo.ok(
    'sync',
    '--all',
    '--preserve-digests',
    '--src',
    'docker',
    '--dest',
    'docker',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    '--src-no-creds',
    '--dest-creds',
    ADMIN,
    `${reference.host}/library/app`,
    `${s.host}/mirror`,
  );
  assert.match(sync.output, /Synced 3 images/);

  const listed = JSON.parse((await skopeo.ok('list-tags', '--tls-verify=false', '--creds', ADMIN, `docker://${s.host}/mirror/app`)).stdout) as { Tags: string[] };
  assert.deepEqual([...listed.Tags].sort(), Object.keys(sourceTags).sort(), 'every tag arrived');
  for (const [tag, digest] of inReference) {
    const raw = await skopeo.ok('inspect', '--raw', '--tls-verify=false', '--creds', ADMIN, `docker://${s.host}/mirror/app:${tag}`);
    assert.equal(sha256(Buffer.from(raw.stdout, 'utf8')), digest, `mirror/app:${tag} has the digest it has in docker-registry`);
    // The registry's own header agrees with the bytes.
    const res = await s.admin(`/v2/mirror/app/manifests/${tag}`, { method: 'HEAD', headers: { Accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-content-digest'), digest);
  }
  // The platform manifests of the index came along.
  for (const child of layout.index.manifests) {
    const raw = await skopeo.ok('inspect', '--raw', '--tls-verify=false', '--creds', ADMIN, `docker://${s.host}/mirror/app@${child.digest}`);
    assert.equal(sha256(Buffer.from(raw.stdout, 'utf8')), child.digest);
  }

  // A second sync finds everything in place and changes nothing.
  await skopeo.ok('sync', '--all', '--preserve-digests', '--src', 'docker', '--dest', 'docker', '--src-tls-verify=false', '--dest-tls-verify=false', '--src-no-creds', '--dest-creds', ADMIN, `${reference.host}/library/app`, `${s.host}/mirror`);
  const again = JSON.parse((await skopeo.ok('list-tags', '--tls-verify=false', '--creds', ADMIN, `docker://${s.host}/mirror/app`)).stdout) as { Tags: string[] };
  assert.deepEqual([...again.Tags].sort(), Object.keys(sourceTags).sort());
});
