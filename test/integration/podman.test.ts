/**
 * Interop with Debian's podman 4.3: push into Portcullis and pull back, offline (the image comes
 * from an OCI layout built in code), with storage in temporary directories (vfs driver) so the
 * machine's own container storage is never touched.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { requireTools, tempDir } from '../helpers/env.js';
import { sha256, writeOciLayout } from '../helpers/images.js';
import { ADMIN_PASSWORD, addMember, createProject, createUser, startTestServer } from '../helpers/server.js';
import { creds, isolatedEnv, run, runOk, skopeoRunner, type RunResult } from './clients.js';

const ADMIN = creds('admin', ADMIN_PASSWORD);

interface Podman {
  ok(...args: string[]): Promise<RunResult>;
  run(...args: string[]): Promise<RunResult>;
}

/** podman with its own storage, run root and tmp dir, no events, no systemd. */
function podman(t: TestContext): Podman {
  const dir = tempDir(t, 'portcullis-podman-');
  const env = isolatedEnv(t);
  const global = ['--storage-driver', 'vfs', '--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--tmpdir', join(dir, 'tmp'), '--events-backend', 'none', '--cgroup-manager', 'cgroupfs'];
  return {
    ok: (...args) => runOk('podman', [...global, ...args], { env }),
    run: (...args) => run('podman', [...global, ...args], { env }),
  };
}

/**
 * A layout directory podman can name its image after: `podman pull oci:DIR` calls the image
 * localhost/DIR, and a reference must be lower-case (mkdtemp's suffixes are not).
 */
function lowerCaseDir(t: TestContext): string {
  const dir = join(tmpdir(), `portcullis-podman-layout-${randomBytes(6).toString('hex')}`);
  mkdirSync(dir);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The image ID podman prints last when a pull succeeds. */
function pulledId(r: RunResult): string {
  const id = r.stdout.trim().split('\n').at(-1)?.trim() ?? '';
  assert.match(id, /^[0-9a-f]{64}$/, `podman pull printed an image ID:\n${r.output}`);
  return id;
}

test('podman pushes an image into Portcullis and pulls it back with the same digest', async (t) => {
  if (!requireTools(t, 'podman', 'skopeo')) return;
  const s = await startTestServer(t);
  await createProject(s, 'proj');
  const layout = await writeOciLayout(join(lowerCaseDir(t), 'src'));
  const { image } = layout;

  // Load the image offline from the OCI layout.
  const local = podman(t);
  const id = pulledId(await local.ok('pull', `oci:${layout.dir}:${image.tag}`));
  assert.equal(`sha256:${id}`, image.config.digest, 'the image ID is the config digest');

  const digestFile = join(tempDir(t, 'portcullis-digest-'), 'digest');
  const ref = `${s.host}/proj/podman:v1`;
  await local.ok('push', '--tls-verify=false', '--creds', ADMIN, '--digestfile', digestFile, id, `docker://${ref}`);
  const pushed = readFileSync(digestFile, 'utf8').trim();
  assert.match(pushed, /^sha256:[0-9a-f]{64}$/);

  // The registry has exactly that manifest under the tag.
  const raw = await skopeoRunner(t).ok('inspect', '--raw', '--tls-verify=false', '--creds', ADMIN, `docker://${ref}`);
  assert.equal(sha256(Buffer.from(raw.stdout, 'utf8')), pushed, 'podman --digestfile names the manifest the registry serves');
  const head = await s.admin('/v2/proj/podman/manifests/v1', { method: 'HEAD', headers: { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('docker-content-digest'), pushed);

  // Pull into a second, empty storage.
  const other = podman(t);
  const pulled = pulledId(await other.ok('pull', '--tls-verify=false', '--creds', ADMIN, `docker://${ref}`));
  assert.equal(pulled, id, 'the same image (config digest) came back');
  const inspected = JSON.parse((await other.ok('image', 'inspect', pulled)).stdout) as { Digest: string; RepoDigests: string[]; RootFS: { Layers: string[] } }[];
  const info = inspected[0]!;
  assert.equal(info.Digest, pushed, 'the pulled image has the pushed manifest digest');
  assert.ok(info.RepoDigests.includes(`${s.host}/proj/podman@${pushed}`), `RepoDigests: ${info.RepoDigests.join(', ')}`);
  assert.deepEqual(info.RootFS.Layers, image.diffIds, 'the layers decompress to the content that was built');

  // Pull by digest too.
  const byDigest = pulledId(await other.ok('pull', '--tls-verify=false', '--creds', ADMIN, `docker://${s.host}/proj/podman@${pushed}`));
  assert.equal(byDigest, id);
});

test('a guest of the project cannot push with podman, but can pull', async (t) => {
  if (!requireTools(t, 'podman')) return;
  const s = await startTestServer(t);
  await createProject(s, 'proj');
  await createUser(s, 'gina', 'guest-password-123');
  await addMember(s, 'proj', 'gina', 'guest');
  const layout = await writeOciLayout(join(lowerCaseDir(t), 'src'));

  const local = podman(t);
  const id = pulledId(await local.ok('pull', `oci:${layout.dir}:${layout.image.tag}`));

  const denied = await local.run('push', '--tls-verify=false', '--creds', creds('gina', 'guest-password-123'), id, `docker://${s.host}/proj/app:guest`);
  assert.notEqual(denied.code, 0, `a guest's push must fail:\n${denied.output}`);
  assert.match(denied.output, /denied|unauthorized/i);
  const tags = await s.admin('/v2/proj/app/tags/list');
  if (tags.status === 200) assert.deepEqual(((await tags.json()) as { tags: string[] }).tags, [], 'nothing was tagged');
  else assert.equal(tags.status, 404);

  // The admin pushes; the guest may read.
  await local.ok('push', '--tls-verify=false', '--creds', ADMIN, id, `docker://${s.host}/proj/app:v1`);
  const reader = podman(t);
  const pulled = pulledId(await reader.ok('pull', '--tls-verify=false', '--creds', creds('gina', 'guest-password-123'), `docker://${s.host}/proj/app:v1`));
  assert.equal(pulled, id);
});
