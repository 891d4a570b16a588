/**
 * Interop with Debian's skopeo 1.9 (and umoci 0.4.7 for one fixture): images go into a real
 * Portcullis and come back out byte for byte.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { requireTools, tempDir } from '../helpers/env.js';
import { layoutBlob, layoutBlobs, layoutEntry, reachableBlobs, sha256, writeOciLayout, type OciLayout } from '../helpers/images.js';
import { ADMIN_PASSWORD, createProject, createRobot, startTestServer, type TestServer } from '../helpers/server.js';
import { creds, isolatedEnv, run, runOk, skopeoRunner } from './clients.js';

const ADMIN = creds('admin', ADMIN_PASSWORD);

async function setup(t: TestContext, project = 'proj', isPublic = false): Promise<{ s: TestServer; layout: OciLayout; skopeo: ReturnType<typeof skopeoRunner> }> {
  const s = await startTestServer(t);
  await createProject(s, project, isPublic);
  const layout = await writeOciLayout(join(tempDir(t, 'portcullis-layout-'), 'src'));
  return { s, layout, skopeo: skopeoRunner(t) };
}

/** `skopeo inspect --raw` of a reference on the server, as bytes. */
async function rawManifest(skopeo: ReturnType<typeof skopeoRunner>, ref: string, credentials = ADMIN): Promise<Buffer> {
  const r = await skopeo.ok('inspect', '--raw', '--tls-verify=false', '--creds', credentials, ref);
  return Buffer.from(r.stdout, 'utf8');
}

/**
 * Asserts `dest` holds exactly the blobs `digest` reaches in `src`, each byte-identical (and
 * hashing to its name).
 */
function assertSameBlobs(src: string, dest: string, digest: string): void {
  const wanted = reachableBlobs(src, digest);
  const got = layoutBlobs(dest);
  assert.deepEqual([...got.keys()].sort(), [...wanted].sort(), 'the pulled layout holds exactly the blobs of the pushed image');
  for (const [name, hash] of got) {
    assert.equal(hash, name, `blob ${name} in the pulled layout hashes to its name`);
    assert.ok(layoutBlob(dest, name).equals(layoutBlob(src, name)), `blob ${name} is byte-identical`);
  }
}

test('skopeo copies a multi-layer OCI image into Portcullis and back, byte for byte', async (t) => {
  if (!requireTools(t, 'skopeo')) return;
  const { s, layout, skopeo } = await setup(t);
  const { image } = layout;
  assert.equal(layoutEntry(layout.dir, image.tag).digest, image.digest, 'fixture: index.json names the image');
  assert.ok(image.layers.length >= 3);

  const ref = `docker://${s.host}/proj/app:v1`;
  await skopeo.ok('copy', '--dest-creds', ADMIN, '--dest-tls-verify=false', `oci:${layout.dir}:${image.tag}`, ref);

  const raw = await rawManifest(skopeo, ref);
  assert.equal(sha256(raw), image.digest, 'skopeo inspect --raw hashes to the pushed manifest digest');
  assert.ok(raw.equals(image.bytes), 'the registry serves the manifest bytes it was given');
  const inspected = JSON.parse((await skopeo.ok('inspect', '--tls-verify=false', '--creds', ADMIN, ref)).stdout) as { Digest: string; Layers: string[] };
  assert.equal(inspected.Digest, image.digest);
  assert.deepEqual(inspected.Layers, image.layers.map((l) => l.digest));

  const dest = join(tempDir(t, 'portcullis-pulled-'), 'dest');
  await skopeo.ok('copy', '--src-creds', ADMIN, '--src-tls-verify=false', ref, `oci:${dest}:pulled`);
  assert.equal(layoutEntry(dest, 'pulled').digest, image.digest, "the pulled layout's index.json names the same manifest digest");
  assertSameBlobs(layout.dir, dest, image.digest);

  // The config is the one we built: its diff_ids still match the uncompressed layers.
  const config = JSON.parse(layoutBlob(dest, image.config.digest).toString('utf8')) as { rootfs: { diff_ids: string[] } };
  assert.deepEqual(config.rootfs.diff_ids, image.layers.map((l) => sha256(gunzipSync(layoutBlob(dest, l.digest)))));
});

test('skopeo copy --all round-trips a multi-platform index with both platform manifests', async (t) => {
  if (!requireTools(t, 'skopeo')) return;
  const { s, layout, skopeo } = await setup(t);
  const { index } = layout;
  const ref = `docker://${s.host}/proj/multi:v1`;
  await skopeo.ok('copy', '--all', '--dest-creds', ADMIN, '--dest-tls-verify=false', `oci:${layout.dir}:${index.tag}`, ref);

  const raw = await rawManifest(skopeo, ref);
  assert.equal(sha256(raw), index.digest, 'the index digest survives the push');
  assert.ok(raw.equals(index.bytes));
  assert.equal(index.manifests.length, 2);
  for (const child of index.manifests) {
    const childRaw = await rawManifest(skopeo, `docker://${s.host}/proj/multi@${child.digest}`);
    assert.equal(sha256(childRaw), child.digest, `${child.platform.architecture} manifest is identical`);
  }
  // A platform-specific read resolves through the index.
  const arm = JSON.parse((await skopeo.ok('--override-os', 'linux', '--override-arch', 'arm64', 'inspect', '--tls-verify=false', '--creds', ADMIN, ref)).stdout) as { Architecture: string; Layers: string[] };
  assert.equal(arm.Architecture, 'arm64');
  assert.deepEqual(arm.Layers, index.manifests[1]!.layers.map((l) => l.digest));

  const dest = join(tempDir(t, 'portcullis-pulled-'), 'dest');
  await skopeo.ok('copy', '--all', '--src-creds', ADMIN, '--src-tls-verify=false', ref, `oci:${dest}:pulled`);
  assert.equal(layoutEntry(dest, 'pulled').digest, index.digest);
  assertSameBlobs(layout.dir, dest, index.digest);
  // The two platforms share their base layer, stored once.
  const [amd, arm64] = index.manifests;
  assert.equal(amd!.layers[0]!.digest, arm64!.layers[0]!.digest);
  assert.notEqual(amd!.digest, arm64!.digest);
});

test('a robot account pushes into a private project with token auth; anonymous reads are refused', async (t) => {
  if (!requireTools(t, 'skopeo')) return;
  const { s, layout, skopeo } = await setup(t, 'private', false);
  const robot = await createRobot(s, 'ci', [{ project: 'private', actions: ['pull', 'push'] }]);
  assert.equal(robot.name, 'robot$ci');
  const robotCreds = creds(robot.name, robot.secret);

  // The distribution API answers anonymous requests with a Bearer challenge: skopeo must use the token endpoint.
  const challenge = await fetch(`${s.url}/v2/`);
  assert.equal(challenge.status, 401);
  assert.match(challenge.headers.get('www-authenticate') ?? '', /^Bearer realm="[^"]+\/service\/token"/);

  const ref = `docker://${s.host}/private/app:v1`;
  await skopeo.ok('copy', '--dest-creds', robotCreds, '--dest-tls-verify=false', `oci:${layout.dir}:${layout.image.tag}`, ref);

  const asRobot = JSON.parse((await skopeo.ok('inspect', '--tls-verify=false', '--creds', robotCreds, ref)).stdout) as { Digest: string };
  assert.equal(asRobot.Digest, layout.image.digest, 'the robot reads what it pushed');

  // A wrong secret fails too (and does not read the image).
  const wrong = await skopeo.run('inspect', '--tls-verify=false', '--creds', creds(robot.name, `${robot.secret}x`), ref);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.output, /unauthorized|invalid username or password|authentication/i);

  // What skopeo does without credentials, by hand: an anonymous token, then the manifest.
  const tokenRes = await fetch(`${s.url}/service/token?service=portcullis&scope=${encodeURIComponent('repository:private/app:pull')}`);
  assert.equal(tokenRes.status, 200, 'the token endpoint issues anonymous tokens');
  const { token } = (await tokenRes.json()) as { token: string };
  const byToken = await fetch(`${s.url}/v2/private/app/manifests/v1`, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  const byTokenBody = await byToken.text();

  const anonymous = await skopeo.run('inspect', '--tls-verify=false', '--no-creds', ref);
  assert.notEqual(anonymous.code, 0, 'anonymous inspect of a private image fails');
  assert.doesNotMatch(anonymous.output, new RegExp(layout.image.digest.slice(7)));
  // Not authenticated at all: the registry must say so (401 UNAUTHORIZED, "authentication
  // required"), which tells clients to log in, rather than 403 DENIED, which is for credentials
  // that were judged and fall short.
  assert.match(
    anonymous.output,
    /unauthorized|authentication required/i,
    `anonymous inspect should fail with an authentication error; skopeo said:\n${anonymous.output}\n(with an anonymous token the registry answered ${byToken.status} ${byTokenBody})`,
  );
  assert.equal(byToken.status, 401, `an anonymous token on a private repository: ${byTokenBody}`);
  assert.match(byToken.headers.get('www-authenticate') ?? '', /^Bearer /);
});

test('an image made by umoci (including a layer without tar end blocks) pushes and pulls byte-identical', async (t) => {
  if (!requireTools(t, 'skopeo', 'umoci', 'tar')) return;
  const { s, skopeo } = await setup(t);
  const work = tempDir(t, 'portcullis-umoci-');
  const env = isolatedEnv(t);
  const img = join(work, 'img');
  await runOk('umoci', ['init', '--layout', img], { env });
  await runOk('umoci', ['new', '--image', `${img}:v1`], { env });

  // A layer from GNU tar, added as is.
  const rootfs = join(work, 'rootfs');
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  mkdirSync(join(rootfs, 'usr', 'bin'), { recursive: true });
  writeFileSync(join(rootfs, 'etc', 'greeting'), 'hello from umoci\n');
  writeFileSync(join(rootfs, 'usr', 'bin', 'tool'), Buffer.alloc(200_000, 7));
  const layerTar = join(work, 'layer.tar');
  await runOk('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', rootfs, '-cf', layerTar, '.'], { env });
  await runOk('umoci', ['raw', 'add-layer', '--image', `${img}:v1`, layerTar], { env });
  // umoci insert writes its layer without padding and end-of-archive blocks.
  const inserted = join(work, 'inserted.txt');
  writeFileSync(inserted, 'inserted by umoci insert\n');
  await runOk('umoci', ['insert', '--image', `${img}:v1`, inserted, '/opt/inserted.txt'], { env });

  const entry = layoutEntry(img, 'v1');
  const manifestBytes = layoutBlob(img, entry.digest);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as { mediaType?: string; layers: { digest: string }[] };
  assert.equal(manifest.mediaType, undefined, 'fixture: umoci writes manifests without mediaType');
  assert.equal(manifest.layers.length, 2);
  const broken = await run('tar', ['-tzf', join(img, 'blobs', 'sha256', manifest.layers[1]!.digest.slice(7))]);
  assert.notEqual(broken.code, 0, 'fixture: the inserted layer is a truncated tar');
  assert.match(broken.output, /unexpected EOF/i);

  const ref = `docker://${s.host}/proj/umoci:v1`;
  await skopeo.ok('copy', '--dest-creds', ADMIN, '--dest-tls-verify=false', `oci:${img}:v1`, ref);
  const raw = await rawManifest(skopeo, ref);
  assert.equal(sha256(raw), entry.digest, 'the umoci manifest keeps its digest');
  assert.ok(raw.equals(manifestBytes), 'served byte for byte, still without mediaType');

  const dest = join(tempDir(t, 'portcullis-pulled-'), 'dest');
  await skopeo.ok('copy', '--src-creds', ADMIN, '--src-tls-verify=false', ref, `oci:${dest}:pulled`);
  assert.equal(layoutEntry(dest, 'pulled').digest, entry.digest);
  assertSameBlobs(img, dest, entry.digest);
});

test('skopeo delete removes a manifest; inspecting it then fails', async (t) => {
  if (!requireTools(t, 'skopeo')) return;
  const { s, layout, skopeo } = await setup(t);
  const src = `oci:${layout.dir}:${layout.image.tag}`;
  for (const tag of ['v1', 'keep']) await skopeo.ok('copy', '--dest-creds', ADMIN, '--dest-tls-verify=false', src, `docker://${s.host}/proj/app:${tag}`);
  // Another repository holds the same manifest: deleting in one must not touch the other.
  await skopeo.ok('copy', '--dest-creds', ADMIN, '--dest-tls-verify=false', src, `docker://${s.host}/proj/other:v1`);

  await skopeo.ok('delete', '--tls-verify=false', '--creds', ADMIN, `docker://${s.host}/proj/app:v1`);

  for (const ref of [`docker://${s.host}/proj/app:v1`, `docker://${s.host}/proj/app@${layout.image.digest}`, `docker://${s.host}/proj/app:keep`]) {
    const r = await skopeo.run('inspect', '--raw', '--tls-verify=false', '--creds', ADMIN, ref);
    assert.notEqual(r.code, 0, `${ref} is gone`);
    assert.match(r.output, /manifest unknown/i);
  }
  const tags = JSON.parse((await skopeo.ok('list-tags', '--tls-verify=false', '--creds', ADMIN, `docker://${s.host}/proj/app`)).stdout) as { Tags: string[] };
  assert.deepEqual(tags.Tags, [], 'deleting the manifest by digest took every tag pointing at it');

  const other = await rawManifest(skopeo, `docker://${s.host}/proj/other:v1`);
  assert.equal(sha256(other), layout.image.digest, 'the other repository still has it');

  // Deleting again: the manifest is unknown.
  const again = await skopeo.run('delete', '--tls-verify=false', '--creds', ADMIN, `docker://${s.host}/proj/app@${layout.image.digest}`);
  assert.notEqual(again.code, 0);
  assert.match(again.output, /manifest unknown|may not exist/i);
});

test('skopeo list-tags lists every tag of a repository', async (t) => {
  if (!requireTools(t, 'skopeo')) return;
  const { s, layout, skopeo } = await setup(t, 'pub', true);
  const repo = `docker://${s.host}/pub/app`;
  for (const tag of ['v2', 'v1', 'latest', '1.0.0-rc_1']) {
    await skopeo.ok('copy', '--dest-creds', ADMIN, '--dest-tls-verify=false', `oci:${layout.dir}:${layout.image.tag}`, `${repo}:${tag}`);
  }
  await skopeo.ok('copy', '--all', '--dest-creds', ADMIN, '--dest-tls-verify=false', `oci:${layout.dir}:${layout.index.tag}`, `${repo}:multi`);

  const listed = JSON.parse((await skopeo.ok('list-tags', '--tls-verify=false', '--creds', ADMIN, repo)).stdout) as { Repository: string; Tags: string[] };
  assert.equal(listed.Repository, `${s.host}/pub/app`);
  assert.deepEqual([...listed.Tags].sort(), ['1.0.0-rc_1', 'latest', 'multi', 'v1', 'v2']);

  // The project is public: anonymous listing works too.
  const anonymous = JSON.parse((await skopeo.ok('list-tags', '--tls-verify=false', '--no-creds', repo)).stdout) as { Tags: string[] };
  assert.deepEqual([...anonymous.Tags].sort(), ['1.0.0-rc_1', 'latest', 'multi', 'v1', 'v2']);

  const missing = await skopeo.run('list-tags', '--tls-verify=false', '--creds', ADMIN, `docker://${s.host}/pub/nothing-here`);
  assert.notEqual(missing.code, 0);
  assert.match(missing.output, /404|name unknown/i);
});
