/**
 * registry.ts: reference parsing with Docker's defaults, WWW-Authenticate parsing, and
 * RegistrySource end to end against Debian's docker-registry (plain HTTP, anonymous) and against
 * a Portcullis server (token auth: Basic credentials at the realm, private and public projects).
 * Images get there with skopeo, as users push them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import {
  formatRegistryReference,
  ImageError,
  indexLayer,
  openImageSource,
  parseChallenge,
  parsePlatform,
  parseRegistryReference,
  parseSource,
  FileTree,
  RegistrySource,
  type Credentials,
  type Image,
  type RegistryReference,
  type SourceSpec,
} from '../../src/image/index.js';
import { dockerRegistryBinary, startDockerRegistry } from '../helpers/docker-registry.js';
import { requireTools, tempDir, which } from '../helpers/env.js';
import { sharedServer } from '../helpers/push.js';
import { writeOciLayout, type OciLayout } from '../helpers/images.js';
import { ADMIN_PASSWORD, createProject } from '../helpers/server.js';
import { rejection, run, runOk } from './helpers.js';

const DIGEST = `sha256:${'c'.repeat(64)}`;

describe('parseRegistryReference', () => {
  const ok: [string, RegistryReference][] = [
    ['ubuntu', { registry: 'docker.io', repository: 'library/ubuntu', tag: 'latest' }],
    ['ubuntu:22.04', { registry: 'docker.io', repository: 'library/ubuntu', tag: '22.04' }],
    ['library/ubuntu:22.04', { registry: 'docker.io', repository: 'library/ubuntu', tag: '22.04' }],
    ['docker.io/ubuntu', { registry: 'docker.io', repository: 'library/ubuntu', tag: 'latest' }],
    ['docker.io/library/ubuntu', { registry: 'docker.io', repository: 'library/ubuntu', tag: 'latest' }],
    ['index.docker.io/ubuntu', { registry: 'docker.io', repository: 'library/ubuntu', tag: 'latest' }],
    ['bitnami/redis:7.2', { registry: 'docker.io', repository: 'bitnami/redis', tag: '7.2' }],
    ['a/b/c', { registry: 'docker.io', repository: 'a/b/c', tag: 'latest' }],
    ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest' }],
    ['localhost:5000/app', { registry: 'localhost:5000', repository: 'app', tag: 'latest' }],
    ['localhost:5000/a/b:tag', { registry: 'localhost:5000', repository: 'a/b', tag: 'tag' }],
    ['127.0.0.1:5000/team/app:v1.2.3', { registry: '127.0.0.1:5000', repository: 'team/app', tag: 'v1.2.3' }],
    ['ghcr.io/org/app', { registry: 'ghcr.io', repository: 'org/app', tag: 'latest' }],
    ['registry.example.com:443/x/y:1', { registry: 'registry.example.com:443', repository: 'x/y', tag: '1' }],
    [`ubuntu@${DIGEST}`, { registry: 'docker.io', repository: 'library/ubuntu', digest: DIGEST }],
    [`ghcr.io/org/app:1.0@${DIGEST}`, { registry: 'ghcr.io', repository: 'org/app', tag: '1.0', digest: DIGEST }],
    [`localhost:5000/app@${DIGEST}`, { registry: 'localhost:5000', repository: 'app', digest: DIGEST }],
    ['my_app/with-dash__and.dot:Tag_1.x-y', { registry: 'docker.io', repository: 'my_app/with-dash__and.dot', tag: 'Tag_1.x-y' }],
    ['localhost:5000', { registry: 'docker.io', repository: 'library/localhost', tag: '5000' }],
  ];
  for (const [text, expected] of ok) {
    test(`${text}`, () => {
      assert.deepEqual(parseRegistryReference(text), expected);
    });
  }

  const bad = ['', 'Ubuntu', 'docker.io/Library/ubuntu', 'ubuntu:', 'ubuntu:-bad', `ubuntu:${'t'.repeat(129)}`, 'ubuntu@sha256:abc', 'ubuntu@md5:' + 'a'.repeat(32), 'a//b', 'a/b/', '/a', 'a__-b', 'UPPER/app', 'ghcr.io/', 'app:tag:extra'];
  for (const text of bad) {
    test(`invalid: ${JSON.stringify(text)} is SOURCE_INVALID`, () => {
      assert.throws(() => parseRegistryReference(text), (err: unknown) => err instanceof ImageError && err.code === 'SOURCE_INVALID');
    });
  }

  test('formatRegistryReference writes what parse reads', () => {
    for (const text of ['docker.io/library/ubuntu:22.04', `ghcr.io/org/app:1.0@${DIGEST}`, `localhost:5000/app@${DIGEST}`]) {
      assert.equal(formatRegistryReference(parseRegistryReference(text)), text);
    }
  });
});

describe('parseChallenge', () => {
  test('Bearer with realm, service, scope (commas inside quotes), error', () => {
    assert.deepEqual(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull,push",error="insufficient_scope"'), {
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/ubuntu:pull,push', error: 'insufficient_scope' },
    });
  });

  test('Basic, spaces around =, unquoted values, escaped quotes, case', () => {
    assert.deepEqual(parseChallenge('Basic realm="portcullis", charset="UTF-8"'), { scheme: 'basic', params: { realm: 'portcullis', charset: 'UTF-8' } });
    assert.deepEqual(parseChallenge('BEARER Realm = "http://h/t" , Service=svc'), { scheme: 'bearer', params: { realm: 'http://h/t', service: 'svc' } });
    assert.deepEqual(parseChallenge('Bearer realm="a \\"quoted\\" realm"'), { scheme: 'bearer', params: { realm: 'a "quoted" realm' } });
    assert.deepEqual(parseChallenge('Basic'), { scheme: 'basic', params: {} });
    assert.equal(parseChallenge(''), undefined);
  });
});

// ------------------------------------------------------------------ end to end

/** skopeo with no stored credentials (an empty auth file of its own). */
function skopeoEnv(t: TestContext): NodeJS.ProcessEnv {
  const dir = tempDir(t, 'portcullis-auth-');
  const authFile = join(dir, 'auth.json');
  writeFileSync(authFile, '{"auths":{}}');
  return { ...process.env, REGISTRY_AUTH_FILE: authFile, DOCKER_CONFIG: dir, XDG_RUNTIME_DIR: dir };
}

function asSpec(text: string): Exclude<SourceSpec, { kind: 'dir' }> {
  const spec = parseSource(text);
  assert.notEqual(spec.kind, 'dir');
  return spec as Exclude<SourceSpec, { kind: 'dir' }>;
}

/** The squashed tree of an image (paths@layer), every layer streamed and verified. */
async function treeOf(image: Image, t: TestContext): Promise<string[]> {
  const tree = new FileTree();
  const tmp = tempDir(t);
  for (const [i, layer] of image.layers.entries()) {
    tree.apply(i, await indexLayer(await layer.open(), { want: () => undefined, visit: async () => {}, warn: () => {} }, tmp));
  }
  return [...tree.values()].map((n) => `${n.path}@${n.layer}`).sort();
}

async function localTree(layout: OciLayout, tag: string, t: TestContext, platform?: string): Promise<string[]> {
  const image = await openImageSource({ kind: 'oci-dir', text: 'x', path: layout.dir, tag }, platform !== undefined ? { platform: parsePlatform(platform) } : {});
  try {
    return await treeOf(image, t);
  } finally {
    await image.close();
  }
}

describe("RegistrySource against Debian's docker-registry", () => {
  test('an image and an index pushed by skopeo: by tag, by digest, by platform; missing tag and repository are NOT_FOUND', async (t) => {
    if (!requireTools(t, 'skopeo')) return;
    if (dockerRegistryBinary() === undefined && !requireTools(t, 'docker-registry')) return;
    const registry = await startDockerRegistry(t);
    const env = skopeoEnv(t);
    const layout = await writeOciLayout(join(tempDir(t), 'layout'), { scale: 0.05 });
    await runOk('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout.dir}:${layout.image.tag}`, `docker://${registry.host}/test/app:v1`], { env });
    await runOk('skopeo', ['copy', '-q', '--all', '--dest-tls-verify=false', `oci:${layout.dir}:${layout.index.tag}`, `docker://${registry.host}/test/multi:v1`], { env });

    const image = await openImageSource(asSpec(`${registry.host}/test/app:v1`), { insecure: true });
    t.after(() => image.close());
    assert.equal(image.digest, layout.image.digest, 'the manifest skopeo pushed, unchanged');
    assert.equal(image.name, `${registry.host}/test/app`);
    assert.equal(image.tag, 'v1');
    assert.equal(image.reference, `${registry.host}/test/app:v1`);
    assert.deepEqual(image.layers.map((l) => l.digest), layout.image.layers.map((l) => l.digest));
    assert.deepEqual(await treeOf(image, t), await localTree(layout, layout.image.tag, t));

    const byDigest = await openImageSource(asSpec(`registry:${registry.host}/test/app@${layout.image.digest}`), { insecure: true });
    assert.equal(byDigest.digest, layout.image.digest);
    assert.equal(byDigest.tag, undefined);
    await byDigest.close();

    const multi = await openImageSource(asSpec(`${registry.host}/test/multi:v1`), { insecure: true });
    assert.equal(multi.indexDigest, layout.index.digest);
    assert.equal(multi.digest, layout.index.manifests[0]!.digest);
    await multi.close();
    const arm = await openImageSource(asSpec(`${registry.host}/test/multi:v1`), { insecure: true, platform: parsePlatform('linux/arm64') });
    assert.equal(arm.digest, layout.index.manifests[1]!.digest);
    assert.deepEqual(await treeOf(arm, t), await localTree(layout, layout.index.tag, t, 'linux/arm64'));
    await arm.close();
    const none = await rejection(openImageSource(asSpec(`${registry.host}/test/multi:v1`), { insecure: true, platform: parsePlatform('linux/s390x') }));
    assert.equal(none.code, 'PLATFORM_NOT_FOUND');
    assert.match(none.message, /linux\/amd64, linux\/arm64\/v8/);

    for (const ref of [`${registry.host}/test/app:nope`, `${registry.host}/test/nope:v1`]) {
      const err = await rejection(openImageSource(asSpec(ref), { insecure: true }));
      assert.ok(err instanceof ImageError, String(err));
      assert.equal(err.code, 'NOT_FOUND', `${ref}: ${err.message}`);
    }
    const source = new RegistrySource(parseRegistryReference(`${registry.host}/test/app:v1`), { insecure: true });
    const missingBlob = await rejection(source.blob({ digest: DIGEST }));
    assert.equal(missingBlob.code, 'NOT_FOUND');

    // Without --insecure the client speaks TLS to a plain-HTTP port: NETWORK, with the hint.
    const tls = await rejection(openImageSource(asSpec(`${registry.host}/test/app:v1`)));
    assert.equal(tls.code, 'NETWORK');
    assert.match(tls.message, /--insecure/);
  });

  test('Docker v2s2 manifests and manifest lists (skopeo --format v2s2): config and layers read as the OCI original', async (t) => {
    if (!requireTools(t, 'skopeo')) return;
    if (dockerRegistryBinary() === undefined && !requireTools(t, 'docker-registry')) return;
    const registry = await startDockerRegistry(t);
    const env = skopeoEnv(t);
    const layout = await writeOciLayout(join(tempDir(t), 'layout'), { scale: 0.05 });
    await runOk('skopeo', ['copy', '-q', '--format', 'v2s2', '--dest-tls-verify=false', `oci:${layout.dir}:${layout.image.tag}`, `docker://${registry.host}/test/docker:v1`], { env });
    const image = await openImageSource(asSpec(`${registry.host}/test/docker:v1`), { insecure: true });
    t.after(() => image.close());
    assert.equal(image.manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(image.manifest.config.mediaType, 'application/vnd.docker.container.image.v1+json');
    assert.deepEqual(await treeOf(image, t), await localTree(layout, layout.image.tag, t));
    const list = await run('skopeo', ['copy', '-q', '--all', '--format', 'v2s2', '--dest-tls-verify=false', `oci:${layout.dir}:${layout.index.tag}`, `docker://${registry.host}/test/dlist:v1`], { env });
    if (list.code !== 0) return; // this skopeo cannot convert an index: the single image above covers v2s2
    const arm = await openImageSource(asSpec(`${registry.host}/test/dlist:v1`), { insecure: true, platform: parsePlatform('linux/arm64') });
    assert.equal(arm.platform.architecture, 'arm64');
    assert.deepEqual(await treeOf(arm, t), await localTree(layout, layout.index.tag, t, 'linux/arm64'));
    await arm.close();
  });

  test('nothing listening: NETWORK naming the host', async () => {
    const err = await rejection(openImageSource(asSpec('127.0.0.1:1/none/here:v1'), { insecure: true }));
    assert.equal(err.code, 'NETWORK');
    assert.match(err.message, /127\.0\.0\.1:1/);
  });
});

describe('RegistrySource against Portcullis (token auth)', () => {
  // One server for the suite: a private project and a public one, each holding the same image.
  const server = sharedServer();
  let layout: OciLayout | undefined;
  let work: string | undefined;
  const skip = which('skopeo') === undefined;
  before(async () => {
    if (skip) return;
    const s = server();
    await createProject(s, 'proj', false);
    await createProject(s, 'open', true);
    work = mkdtempSync(join(tmpdir(), 'portcullis-image-registry-'));
    writeFileSync(join(work, 'auth.json'), '{"auths":{}}');
    const env = { ...process.env, REGISTRY_AUTH_FILE: join(work, 'auth.json'), DOCKER_CONFIG: work, XDG_RUNTIME_DIR: work };
    layout = await writeOciLayout(join(work, 'layout'), { scale: 0.05 });
    for (const repo of ['proj/app', 'open/app']) {
      await runOk('skopeo', ['copy', '-q', '--dest-tls-verify=false', '--dest-creds', `admin:${ADMIN_PASSWORD}`, `oci:${layout.dir}:${layout.image.tag}`, `docker://${s.host}/${repo}:v1`], { env });
    }
  });
  after(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });
  const admin = (asked: string[] = []) => async (registry: string): Promise<Credentials | undefined> => {
    asked.push(registry);
    return { username: 'admin', password: ADMIN_PASSWORD };
  };

  test('a private project with Basic credentials for the token service: the image and every blob', async (t) => {
    if (!requireTools(t, 'skopeo')) return;
    const host = server().host;
    const asked: string[] = [];
    const image = await openImageSource(asSpec(`${host}/proj/app:v1`), { insecure: true, credentials: admin(asked) });
    t.after(() => image.close());
    assert.equal(image.digest, layout!.image.digest);
    assert.deepEqual(await treeOf(image, t), await localTree(layout!, layout!.image.tag, t), 'every blob streams with the token');
    assert.ok(asked.length >= 1 && asked.every((r) => r === host), `credentials asked for ${host}: ${asked.join(', ')}`);
  });

  test('a missing tag is NOT_FOUND', async (t) => {
    if (!requireTools(t, 'skopeo')) return;
    const missing = await rejection(openImageSource(asSpec(`${server().host}/proj/app:v2`), { insecure: true, credentials: admin() }));
    assert.ok(missing instanceof ImageError);
    assert.equal(missing.code, 'NOT_FOUND', missing.message);
  });

  test('anonymous access to a private project: UNAUTHORIZED, naming the repository and how to log in', async (t) => {
    if (!requireTools(t, 'skopeo')) return;
    const anonymous = await rejection(openImageSource(asSpec(`${server().host}/proj/app:v1`), { insecure: true }));
    assert.ok(anonymous instanceof ImageError, String(anonymous));
    assert.equal(anonymous.code, 'UNAUTHORIZED', anonymous.message);
    assert.match(anonymous.message, /proj\/app/, 'names the repository');
    assert.match(anonymous.message, /login/, `tells how to give credentials: "${anonymous.message}"`);
    assert.doesNotMatch(anonymous.message, /refused the credentials/, 'no credentials were given, so none were refused');
  });

  test('wrong credentials: UNAUTHORIZED', async (t) => {
    if (!requireTools(t, 'skopeo')) return;
    const nobody = await rejection(openImageSource(asSpec(`${server().host}/proj/app:v1`), { insecure: true, credentials: async () => ({ username: 'admin', password: 'wrong-password' }) }));
    assert.ok(nobody instanceof ImageError, String(nobody));
    assert.equal(nobody.code, 'UNAUTHORIZED', nobody.message);
  });

  test('a public project reads anonymously (an anonymous token)', async (t) => {
    if (!requireTools(t, 'skopeo')) return;
    const open = await openImageSource(asSpec(`${server().host}/open/app:v1`), { insecure: true });
    t.after(() => open.close());
    assert.equal(open.digest, layout!.image.digest);
    assert.deepEqual(await treeOf(open, t), await localTree(layout!, layout!.image.tag, t));
  });
});
