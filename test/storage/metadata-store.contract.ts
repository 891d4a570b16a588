/**
 * Behaviour every MetadataStore backend must show, run identically against each adapter (see
 * sqlite.test.ts and postgres.test.ts). Every test opens its own fresh store, so tests are
 * independent and may run in any order.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test, type TestContext } from 'node:test';
import { digestOf, MediaType, type Digest } from '../../src/oci/index.js';
import { StorageError, type MetadataStore, type PutManifestInput, type PutManifestResult, type StorageErrorCode } from '../../src/storage/index.js';

export type OpenStore = () => Promise<{ store: MetadataStore; close: () => Promise<void> }>;

// ---------------------------------------------------------------- helpers

async function rejectsWithCode(p: Promise<unknown>, code: StorageErrorCode): Promise<StorageError> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof StorageError, `expected a StorageError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, `expected code ${code}, got ${caught.code}: ${caught.message}`);
  return caught;
}

/** A digest nobody else uses (random content). */
function freshDigest(): Digest {
  return digestOf(randomBytes(32));
}

interface TestManifest {
  readonly content: Buffer;
  readonly digest: Digest;
}

function manifest(label: string): TestManifest {
  const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, label, nonce: randomBytes(8).toString('hex') }));
  return { content, digest: digestOf(content) };
}

function putInput(repository: string, m: TestManifest, extra: Partial<PutManifestInput> = {}): PutManifestInput {
  return {
    repository,
    digest: m.digest,
    mediaType: MediaType.OciManifest,
    content: m.content,
    artifactType: null,
    subject: null,
    annotations: null,
    blobs: [],
    blobBytes: 0,
    children: [],
    tag: null,
    now: 1_000,
    ...extra,
  };
}

async function putStored(store: MetadataStore, repository: string, m: TestManifest, extra: Partial<PutManifestInput> = {}): Promise<PutManifestResult> {
  const r = await store.artifacts.putManifest(putInput(repository, m, extra));
  assert.equal(r.kind, 'stored', `putManifest of ${m.digest} into ${repository}: ${JSON.stringify(r)}`);
  return r;
}

/** Creates the project (when absent) and the repository `project/rest`. */
async function repo(store: MetadataStore, name: string, options: { public?: boolean; now?: number } = {}): Promise<string> {
  const project = name.split('/')[0]!;
  if ((await store.projects.get(project)) === undefined) await store.projects.create({ name: project, public: options.public ?? false, now: 1 });
  const id = await store.artifacts.ensureRepository(name, project, options.now ?? 1);
  assert.notEqual(id, undefined);
  return name;
}

/** Reserves a blob at `now` and links it into `repository`. */
async function blob(store: MetadataStore, repository: string, options: { digest?: Digest; size?: number; now?: number } = {}): Promise<Digest> {
  const digest = options.digest ?? freshDigest();
  assert.equal(await store.blobs.reserve(digest, options.now ?? 1_000), 'reserved');
  assert.equal(await store.blobs.link(repository, digest, options.size ?? 100, options.now ?? 1_000), true);
  return digest;
}

async function createUser(store: MetadataStore, username: string, now = 1_000): Promise<void> {
  await store.users.create({ username, email: `${username}@example.test`, admin: false, passwordHash: `hash-of-${username}`, now });
}

const sorted = <T>(xs: readonly T[]): T[] => [...xs].sort();

// ---------------------------------------------------------------- the contract

export function metadataStoreContract(name: string, open: OpenStore): void {
  async function fresh(t: TestContext): Promise<MetadataStore> {
    const { store, close } = await open();
    t.after(close);
    return store;
  }

  describe(`MetadataStore contract: ${name}`, () => {
    test('ping answers on an open store', async (t) => {
      const s = await fresh(t);
      await s.ping();
    });

    // ------------------------------------------------------------ users
    describe('users', () => {
      test('create, get, list (by name), count and credentials', async (t) => {
        const s = await fresh(t);
        assert.equal(await s.users.count(), 0);
        const zed = await s.users.create({ username: 'zed', email: null, admin: true, passwordHash: 'h-zed', now: 1_000 });
        await s.users.create({ username: 'amy', email: 'amy@example.test', admin: false, passwordHash: 'h-amy', now: 2_000 });
        assert.deepEqual(zed, { id: zed.id, username: 'zed', email: null, admin: true, securityTeam: false, createdAt: 1_000, updatedAt: 1_000 });
        assert.equal(await s.users.count(), 2);
        assert.deepEqual(
          (await s.users.list()).map((u) => u.username),
          ['amy', 'zed'],
        );
        assert.deepEqual(await s.users.get('zed'), zed);
        assert.equal(await s.users.get('nobody'), undefined);
        const creds = await s.users.credentials('amy');
        assert.equal(creds?.passwordHash, 'h-amy');
        assert.equal(creds?.user.email, 'amy@example.test');
        assert.equal(creds?.user.admin, false);
        assert.equal(await s.users.credentials('nobody'), undefined);
        // The password hash never leaks through the plain record.
        assert.ok(!('passwordHash' in (await s.users.get('amy'))!));
      });

      test('a taken username is CONFLICT and leaves the first user unchanged', async (t) => {
        const s = await fresh(t);
        await s.users.create({ username: 'amy', email: null, admin: false, passwordHash: 'first', now: 1 });
        await rejectsWithCode(s.users.create({ username: 'amy', email: 'x@y', admin: true, passwordHash: 'second', now: 2 }), 'CONFLICT');
        assert.equal((await s.users.credentials('amy'))?.passwordHash, 'first');
        assert.equal(await s.users.count(), 1);
      });

      test('update patches only the given fields and bumps updatedAt', async (t) => {
        const s = await fresh(t);
        const before = await s.users.create({ username: 'amy', email: 'a@x', admin: false, passwordHash: 'old', now: 1_000 });
        const after = await s.users.update('amy', { admin: true, now: 5_000 });
        assert.deepEqual(after, { ...before, admin: true, updatedAt: 5_000 });
        const cleared = await s.users.update('amy', { email: null, passwordHash: 'new', now: 6_000 });
        assert.equal(cleared.email, null);
        assert.equal(cleared.admin, true);
        assert.equal(cleared.createdAt, 1_000);
        assert.equal((await s.users.credentials('amy'))?.passwordHash, 'new');
      });

      test('update of an unknown user is NOT_FOUND', async (t) => {
        const s = await fresh(t);
        await rejectsWithCode(s.users.update('ghost', { admin: true, now: 1 }), 'NOT_FOUND');
        assert.equal(await s.users.count(), 0);
      });

      test('delete removes the user and their memberships', async (t) => {
        const s = await fresh(t);
        await createUser(s, 'amy');
        await createUser(s, 'bob');
        await s.projects.create({ name: 'team', public: false, now: 1 });
        await s.projects.setMember('team', 'amy', 'developer');
        await s.projects.setMember('team', 'bob', 'guest');
        assert.equal(await s.users.delete('amy'), true);
        assert.equal(await s.users.delete('amy'), false);
        assert.equal(await s.users.get('amy'), undefined);
        assert.equal(await s.users.count(), 1);
        assert.deepEqual(await s.projects.members('team'), [{ username: 'bob', role: 'guest' }]);
        assert.deepEqual(await s.users.list().then((l) => l.map((u) => u.username)), ['bob']);
      });
    });

    // ------------------------------------------------------------ projects
    describe('the last administrator', () => {
      const user = (s: MetadataStore, username: string, admin: boolean) => s.users.create({ username, email: null, admin, passwordHash: 'h', now: 1 });

      test('cannot be demoted or deleted; others can', async (t) => {
        const s = await fresh(t);
        await user(s, 'root', true);
        await user(s, 'bob', false);
        await rejectsWithCode(s.users.update('root', { admin: false, now: 2 }), 'CONFLICT');
        await rejectsWithCode(s.users.delete('root'), 'CONFLICT');
        assert.equal((await s.users.get('root'))?.admin, true);
        assert.equal(await s.users.delete('bob'), true);
        await user(s, 'second', true);
        assert.equal((await s.users.update('root', { admin: false, now: 3 })).admin, false);
      });

      test('two administrators demoting each other at once leave one', async (t) => {
        const s = await fresh(t);
        for (let round = 0; round < 10; round++) {
          await user(s, `a${round}`, true);
          await user(s, `b${round}`, true);
          const others = (await s.users.list()).filter((u) => u.admin && u.username !== `a${round}` && u.username !== `b${round}`);
          for (const o of others) await s.users.update(o.username, { admin: false, now: 2 });
          const results = await Promise.allSettled([s.users.update(`a${round}`, { admin: false, now: 2 }), s.users.delete(`b${round}`)]);
          const admins = (await s.users.list()).filter((u) => u.admin);
          assert.equal(admins.length, 1, `round ${round}: ${JSON.stringify(results.map((r) => r.status))}`);
          assert.equal(results.filter((r) => r.status === 'rejected').length, 1);
          // Hand admin over to a fresh pair next round.
          await user(s, `keep${round}`, true);
          for (const a of admins) await s.users.update(a.username, { admin: false, now: 3 }).catch(() => undefined);
        }
      });
    });

    describe('projects', () => {
      test('create, get and duplicate name is CONFLICT', async (t) => {
        const s = await fresh(t);
        const p = await s.projects.create({ name: 'team', public: true, now: 42 });
        assert.deepEqual(p, { id: p.id, name: 'team', public: true, createdAt: 42, repositoryCount: 0 });
        assert.deepEqual(await s.projects.get('team'), p);
        assert.equal(await s.projects.get('other'), undefined);
        await rejectsWithCode(s.projects.create({ name: 'team', public: false, now: 43 }), 'CONFLICT');
        assert.equal((await s.projects.get('team'))?.public, true, 'the failed create must not change the project');
      });

      test('list honours visibility: private projects of others stay hidden', async (t) => {
        const s = await fresh(t);
        await s.projects.create({ name: 'pub', public: true, now: 1 });
        await s.projects.create({ name: 'mine', public: false, now: 1 });
        await s.projects.create({ name: 'theirs', public: false, now: 1 });
        const names = async (v: Parameters<MetadataStore['projects']['list']>[0]): Promise<string[]> => (await s.projects.list(v)).map((p) => p.name);
        assert.deepEqual(await names({ kind: 'all' }), ['mine', 'pub', 'theirs']);
        assert.deepEqual(await names({ kind: 'projects', projects: ['mine'], includePublic: true }), ['mine', 'pub']);
        assert.deepEqual(await names({ kind: 'projects', projects: ['mine'], includePublic: false }), ['mine']);
        assert.deepEqual(await names({ kind: 'projects', projects: [], includePublic: true }), ['pub']);
        assert.deepEqual(await names({ kind: 'projects', projects: [], includePublic: false }), []);
        assert.deepEqual(await names({ kind: 'projects', projects: ['mine', 'theirs', 'unknown'], includePublic: false }), ['mine', 'theirs']);
      });

      test('update flips the public flag (and listing follows); unknown is NOT_FOUND', async (t) => {
        const s = await fresh(t);
        await s.projects.create({ name: 'team', public: false, now: 1 });
        const anon = { kind: 'projects', projects: [], includePublic: true } as const;
        assert.deepEqual(await s.projects.list(anon), []);
        assert.equal((await s.projects.update('team', { public: true })).public, true);
        assert.deepEqual(
          (await s.projects.list(anon)).map((p) => p.name),
          ['team'],
        );
        assert.equal((await s.projects.update('team', {})).public, true, 'an empty patch changes nothing');
        assert.equal((await s.projects.update('team', { public: false })).public, false);
        await rejectsWithCode(s.projects.update('ghost', { public: true }), 'NOT_FOUND');
        await rejectsWithCode(s.projects.update('ghost', {}), 'NOT_FOUND');
      });

      test('members: setMember adds then changes the role; unknown user or project is NOT_FOUND; removeMember', async (t) => {
        const s = await fresh(t);
        await createUser(s, 'amy');
        await createUser(s, 'bob');
        await s.projects.create({ name: 'team', public: false, now: 1 });
        await s.projects.setMember('team', 'bob', 'guest');
        await s.projects.setMember('team', 'amy', 'developer');
        assert.deepEqual(await s.projects.members('team'), [
          { username: 'amy', role: 'developer' },
          { username: 'bob', role: 'guest' },
        ]);
        await s.projects.setMember('team', 'amy', 'project-admin');
        assert.deepEqual(await s.projects.members('team'), [
          { username: 'amy', role: 'project-admin' },
          { username: 'bob', role: 'guest' },
        ]);
        await rejectsWithCode(s.projects.setMember('team', 'ghost', 'guest'), 'NOT_FOUND');
        await rejectsWithCode(s.projects.setMember('nowhere', 'amy', 'guest'), 'NOT_FOUND');
        assert.equal(await s.projects.removeMember('team', 'bob'), true);
        assert.equal(await s.projects.removeMember('team', 'bob'), false);
        assert.equal(await s.projects.removeMember('nowhere', 'amy'), false);
        assert.deepEqual(await s.projects.members('team'), [{ username: 'amy', role: 'project-admin' }]);
        assert.deepEqual(await s.projects.members('nowhere'), []);
      });

      test('the last project-admin can be neither demoted nor removed; with a second one either can', async (t) => {
        const s = await fresh(t);
        await createUser(s, 'amy');
        await createUser(s, 'bob');
        await s.projects.create({ name: 'team', public: false, now: 1 });
        await s.projects.setMember('team', 'amy', 'project-admin');
        await s.projects.setMember('team', 'bob', 'developer');
        for (const role of ['maintainer', 'developer', 'guest'] as const) {
          const e = await rejectsWithCode(s.projects.setMember('team', 'amy', role), 'CONFLICT');
          assert.match(e.message, /"amy" is the last project-admin of "team"/);
        }
        await rejectsWithCode(s.projects.removeMember('team', 'amy'), 'CONFLICT');
        // Setting the role amy already has changes nothing and is allowed.
        await s.projects.setMember('team', 'amy', 'project-admin');
        assert.deepEqual(await s.projects.members('team'), [
          { username: 'amy', role: 'project-admin' },
          { username: 'bob', role: 'developer' },
        ]);
        // Other members come and go freely.
        assert.equal(await s.projects.removeMember('team', 'bob'), true);
        await s.projects.setMember('team', 'bob', 'project-admin');
        await s.projects.setMember('team', 'amy', 'guest');
        await rejectsWithCode(s.projects.setMember('team', 'bob', 'maintainer'), 'CONFLICT');
        await s.projects.setMember('team', 'amy', 'project-admin');
        assert.equal(await s.projects.removeMember('team', 'bob'), true);
        await rejectsWithCode(s.projects.removeMember('team', 'amy'), 'CONFLICT');
        assert.deepEqual(await s.projects.members('team'), [{ username: 'amy', role: 'project-admin' }]);
        // Unknown members and projects are still false / NOT_FOUND, not CONFLICT.
        assert.equal(await s.projects.removeMember('team', 'ghost'), false);
        assert.equal(await s.projects.removeMember('nowhere', 'amy'), false);
        await rejectsWithCode(s.projects.setMember('nowhere', 'amy', 'guest'), 'NOT_FOUND');
        await rejectsWithCode(s.projects.setMember('team', 'ghost', 'guest'), 'NOT_FOUND');
      });

      test('a project without a project-admin (an administrator’s) takes any member change', async (t) => {
        const s = await fresh(t);
        await createUser(s, 'amy');
        await s.projects.create({ name: 'adminsown', public: false, now: 1 });
        await s.projects.setMember('adminsown', 'amy', 'developer');
        await s.projects.setMember('adminsown', 'amy', 'guest');
        assert.equal(await s.projects.removeMember('adminsown', 'amy'), true);
        assert.deepEqual(await s.projects.members('adminsown'), []);
      });

      test('two project-admins demoting or removing each other at once leave one', async (t) => {
        const s = await fresh(t);
        for (let round = 0; round < 10; round++) {
          const project = `p${round}`;
          const [a, b] = [`a${round}`, `b${round}`];
          await s.projects.create({ name: project, public: false, now: 1 });
          await createUser(s, a);
          await createUser(s, b);
          await s.projects.setMember(project, a, 'project-admin');
          await s.projects.setMember(project, b, 'project-admin');
          const results = await Promise.allSettled([round % 2 === 0 ? s.projects.setMember(project, a, 'developer') : s.projects.removeMember(project, a), s.projects.setMember(project, b, 'guest')]);
          const admins = (await s.projects.members(project)).filter((m) => m.role === 'project-admin');
          assert.equal(admins.length, 1, `round ${round}: ${JSON.stringify(results.map((r) => r.status))}`);
          const refused = results.filter((r) => r.status === 'rejected');
          assert.equal(refused.length, 1, `round ${round}`);
          const reason = (refused[0] as PromiseRejectedResult).reason as unknown;
          assert.ok(reason instanceof StorageError && reason.code === 'CONFLICT', `round ${round}: ${String(reason)}`);
        }
      });

      test('deleting the user who is the last project-admin is allowed (a deliberate act of an administrator)', async (t) => {
        const s = await fresh(t);
        await createUser(s, 'amy');
        await createUser(s, 'bob');
        await s.projects.create({ name: 'team', public: false, now: 1 });
        await s.projects.setMember('team', 'amy', 'project-admin');
        await s.projects.setMember('team', 'bob', 'developer');
        assert.equal(await s.users.delete('amy'), true);
        assert.deepEqual(await s.projects.members('team'), [{ username: 'bob', role: 'developer' }]);
        // The project has no project-admin now: any member change goes through again.
        await s.projects.setMember('team', 'bob', 'guest');
      });

      test('membershipsOf lists a user’s projects by name', async (t) => {
        const s = await fresh(t);
        await createUser(s, 'amy');
        await createUser(s, 'bob');
        for (const p of ['zeta', 'alpha', 'mid']) await s.projects.create({ name: p, public: false, now: 1 });
        await s.projects.setMember('zeta', 'amy', 'guest');
        await s.projects.setMember('alpha', 'amy', 'maintainer');
        await s.projects.setMember('mid', 'bob', 'developer');
        assert.deepEqual(await s.projects.membershipsOf('amy'), [
          { project: 'alpha', role: 'maintainer' },
          { project: 'zeta', role: 'guest' },
        ]);
        assert.deepEqual(await s.projects.membershipsOf('bob'), [{ project: 'mid', role: 'developer' }]);
        assert.deepEqual(await s.projects.membershipsOf('ghost'), []);
      });

      test('repositoryCount counts only repositories holding a manifest', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/empty');
        await repo(s, 'team/app');
        await repo(s, 'team/web');
        await putStored(s, 'team/app', manifest('a'));
        await putStored(s, 'team/web', manifest('w'));
        assert.equal((await s.projects.get('team'))?.repositoryCount, 2);
        assert.equal((await s.projects.list({ kind: 'all' }))[0]?.repositoryCount, 2);
      });

      test('delete cascades to members and repositories (with their manifests)', async (t) => {
        const s = await fresh(t);
        await createUser(s, 'amy');
        await repo(s, 'team/app');
        await repo(s, 'other/app');
        await s.projects.setMember('team', 'amy', 'developer');
        await s.projects.setMember('other', 'amy', 'guest');
        const b = await blob(s, 'team/app');
        const m = manifest('m');
        await putStored(s, 'team/app', m, { blobs: [b], tag: 'latest' });
        await putStored(s, 'team/app', manifest('idx'), { mediaType: MediaType.OciIndex, children: [m.digest], tag: 'multi' });
        await putStored(s, 'other/app', manifest('o'));

        assert.equal(await s.projects.delete('team'), true);
        assert.equal(await s.projects.delete('team'), false);
        assert.equal(await s.projects.get('team'), undefined);
        assert.deepEqual(await s.projects.membershipsOf('amy'), [{ project: 'other', role: 'guest' }]);
        assert.equal(await s.artifacts.getRepository('team/app'), undefined);
        assert.equal(await s.artifacts.getManifest('team/app', 'latest', false), undefined);
        assert.deepEqual(
          (await s.artifacts.listRepositories(null, { kind: 'all' }, { limit: 10 })).map((r) => r.name),
          ['other/app'],
        );
        // The blob the deleted manifest referenced is unreferenced now.
        assert.deepEqual(
          (await s.gc.unreferencedBlobs(10_000)).map((x) => x.digest),
          [b],
        );
        // A new project of the same name starts empty.
        await s.projects.create({ name: 'team', public: false, now: 2 });
        await s.artifacts.ensureRepository('team/app', 'team', 2);
        assert.deepEqual(await s.artifacts.listTags('team/app', { limit: 10 }), []);
        assert.equal(await s.blobs.linked('team/app', b), undefined);
        assert.deepEqual(await s.projects.members('team'), []);
      });
    });

    // ------------------------------------------------------------ robots
    describe('robots', () => {
      const robot = (name: string, permissions: { project: string; actions: ('pull' | 'push' | 'delete')[] }[]) => ({
        name,
        description: `robot ${name}`,
        secretHash: `secret-${name}`,
        permissions,
        createdBy: 'admin',
        expiresAt: 99_000,
        now: 1_000,
      });

      test('create with permissions on two projects; get, list and credentials', async (t) => {
        const s = await fresh(t);
        await s.projects.create({ name: 'zeta', public: false, now: 1 });
        await s.projects.create({ name: 'alpha', public: false, now: 1 });
        const r = await s.robots.create(
          robot('ci', [
            { project: 'zeta', actions: ['pull'] },
            { project: 'alpha', actions: ['pull', 'push', 'delete'] },
          ]),
        );
        assert.equal(r.name, 'ci');
        assert.equal(r.description, 'robot ci');
        assert.equal(r.disabled, false);
        assert.equal(r.createdBy, 'admin');
        assert.equal(r.createdAt, 1_000);
        assert.equal(r.expiresAt, 99_000);
        assert.deepEqual(r.permissions, [
          { project: 'alpha', actions: ['pull', 'push', 'delete'] },
          { project: 'zeta', actions: ['pull'] },
        ]);
        assert.deepEqual(await s.robots.get('ci'), r);
        assert.equal(await s.robots.get('nope'), undefined);
        const creds = await s.robots.credentials('ci');
        assert.equal(creds?.secretHash, 'secret-ci');
        assert.deepEqual(creds?.robot, r);
        assert.equal(await s.robots.credentials('nope'), undefined);
        await s.robots.create({ ...robot('bot', []), createdBy: null, expiresAt: null });
        assert.deepEqual(
          (await s.robots.list()).map((x) => [x.name, x.permissions.length, x.createdBy, x.expiresAt]),
          [
            ['bot', 0, null, null],
            ['ci', 2, 'admin', 99_000],
          ],
        );
      });

      test('a taken robot name is CONFLICT', async (t) => {
        const s = await fresh(t);
        await s.robots.create(robot('ci', []));
        await rejectsWithCode(s.robots.create({ ...robot('ci', []), secretHash: 'other' }), 'CONFLICT');
        assert.equal((await s.robots.credentials('ci'))?.secretHash, 'secret-ci');
      });

      test('a permission on a missing project is NOT_FOUND and leaves no robot behind', async (t) => {
        const s = await fresh(t);
        await s.projects.create({ name: 'team', public: false, now: 1 });
        await rejectsWithCode(
          s.robots.create(
            robot('ci', [
              { project: 'team', actions: ['pull'] },
              { project: 'ghost', actions: ['pull'] },
            ]),
          ),
          'NOT_FOUND',
        );
        assert.equal(await s.robots.get('ci'), undefined);
        assert.deepEqual(await s.robots.list(), []);
        // The name is free: the failed create was rolled back entirely, permissions included.
        const r = await s.robots.create(robot('ci', [{ project: 'team', actions: ['push'] }]));
        assert.deepEqual(r.permissions, [{ project: 'team', actions: ['push'] }]);
      });

      test('update sets disabled, secret and description; unknown is NOT_FOUND', async (t) => {
        const s = await fresh(t);
        await s.projects.create({ name: 'team', public: false, now: 1 });
        const before = await s.robots.create(robot('ci', [{ project: 'team', actions: ['pull'] }]));
        const disabled = await s.robots.update('ci', { disabled: true });
        assert.deepEqual(disabled, { ...before, disabled: true });
        assert.equal((await s.robots.credentials('ci'))?.secretHash, 'secret-ci');
        const rotated = await s.robots.update('ci', { secretHash: 'rotated', description: 'new words' });
        assert.equal(rotated.disabled, true);
        assert.equal(rotated.description, 'new words');
        assert.equal((await s.robots.credentials('ci'))?.secretHash, 'rotated');
        assert.deepEqual((await s.robots.update('ci', {})).permissions, before.permissions);
        assert.equal((await s.robots.update('ci', { disabled: false })).disabled, false);
        await rejectsWithCode(s.robots.update('ghost', { disabled: true }), 'NOT_FOUND');
        await rejectsWithCode(s.robots.update('ghost', {}), 'NOT_FOUND');
      });

      test('delete removes the robot', async (t) => {
        const s = await fresh(t);
        await s.projects.create({ name: 'team', public: false, now: 1 });
        await s.robots.create(robot('ci', [{ project: 'team', actions: ['pull'] }]));
        assert.equal(await s.robots.delete('ci'), true);
        assert.equal(await s.robots.delete('ci'), false);
        assert.equal(await s.robots.get('ci'), undefined);
        assert.equal(await s.robots.credentials('ci'), undefined);
        // Its permissions went with it: a new robot of that name starts with what it is given.
        assert.deepEqual((await s.robots.create(robot('ci', []))).permissions, []);
      });

      test('deleting a project removes that permission only', async (t) => {
        const s = await fresh(t);
        await s.projects.create({ name: 'a', public: false, now: 1 });
        await s.projects.create({ name: 'b', public: false, now: 1 });
        await s.robots.create(
          robot('ci', [
            { project: 'a', actions: ['pull'] },
            { project: 'b', actions: ['push'] },
          ]),
        );
        await s.projects.delete('a');
        assert.deepEqual((await s.robots.get('ci'))?.permissions, [{ project: 'b', actions: ['push'] }]);
        // Recreating the project does not resurrect the permission.
        await s.projects.create({ name: 'a', public: false, now: 2 });
        assert.deepEqual((await s.robots.get('ci'))?.permissions, [{ project: 'b', actions: ['push'] }]);
      });
    });

    // ------------------------------------------------------------ artifacts
    describe('artifacts', () => {
      test('ensureRepository: undefined without the project, idempotent otherwise', async (t) => {
        const s = await fresh(t);
        assert.equal(await s.artifacts.ensureRepository('team/app', 'team', 1), undefined);
        assert.equal(await s.artifacts.getRepository('team/app'), undefined);
        await s.projects.create({ name: 'team', public: false, now: 1 });
        const id = await s.artifacts.ensureRepository('team/app', 'team', 10);
        assert.equal(typeof id, 'number');
        assert.equal(await s.artifacts.ensureRepository('team/app', 'team', 20), id);
        const other = await s.artifacts.ensureRepository('team/web', 'team', 30);
        assert.notEqual(other, id);
        const r = await s.artifacts.getRepository('team/app');
        assert.deepEqual(r, { name: 'team/app', project: 'team', createdAt: 10, updatedAt: 10, artifactCount: 0 });
      });

      test('putManifest into an unknown repository is NOT_FOUND', async (t) => {
        const s = await fresh(t);
        await rejectsWithCode(s.artifacts.putManifest(putInput('team/app', manifest('m'))), 'NOT_FOUND');
      });

      test('putManifest reports blobs not linked to this repository as missing (isolation) and stores nothing', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        await repo(s, 'team/other');
        const mine = await blob(s, 'team/app');
        const elsewhere = await blob(s, 'team/other'); // live and linked, but in another repository
        const reservedOnly = freshDigest();
        assert.equal(await s.blobs.reserve(reservedOnly, 1_000), 'reserved'); // live, linked nowhere
        const unknown = freshDigest();
        const m = manifest('m');
        const r = await s.artifacts.putManifest(putInput('team/app', m, { blobs: [mine, elsewhere, reservedOnly, unknown], tag: 'latest' }));
        assert.deepEqual(r, { kind: 'missing', blobs: [elsewhere, reservedOnly, unknown], manifests: [] });
        assert.equal(await s.artifacts.getManifest('team/app', m.digest, false), undefined);
        assert.equal(await s.artifacts.getManifest('team/app', 'latest', false), undefined);
        assert.deepEqual(await s.artifacts.listTags('team/app', { limit: 10 }), []);
        assert.equal((await s.artifacts.getRepository('team/app'))?.artifactCount, 0);
      });

      test('putManifest of an index reports children not in this repository as missing', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        await repo(s, 'team/other');
        const here = manifest('here');
        const there = manifest('there');
        await putStored(s, 'team/app', here);
        await putStored(s, 'team/other', there);
        const absent = manifest('absent');
        const idx = manifest('idx');
        const r = await s.artifacts.putManifest(putInput('team/app', idx, { mediaType: MediaType.OciIndex, children: [here.digest, there.digest, absent.digest] }));
        assert.deepEqual(r, { kind: 'missing', blobs: [], manifests: [there.digest, absent.digest] });
        assert.equal(await s.artifacts.getManifest('team/app', idx.digest, false), undefined);
      });

      test('a stored manifest reads back byte-identical by tag and by digest; HEAD omits content', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app', { now: 1 });
        const b = await blob(s, 'team/app');
        const m = manifest('m');
        // Hand over a view into a larger buffer: the store must keep exactly the view's bytes.
        const backing = Buffer.concat([Buffer.from('garbage-before'), m.content, Buffer.from('garbage-after')]);
        const view = new Uint8Array(backing.buffer, backing.byteOffset + 'garbage-before'.length, m.content.byteLength);
        assert.deepEqual(await s.artifacts.putManifest(putInput('team/app', m, { content: view, blobs: [b], tag: 'v1', now: 5_000 })), { kind: 'stored', created: true });

        const byTag = await s.artifacts.getManifest('team/app', 'v1', true);
        const byDigest = await s.artifacts.getManifest('team/app', m.digest, true);
        assert.ok(byTag?.content !== undefined && byDigest?.content !== undefined);
        assert.ok(Buffer.isBuffer(byTag.content));
        assert.ok(byTag.content.equals(m.content), 'content by tag differs from what was put');
        assert.ok(byDigest.content.equals(m.content), 'content by digest differs from what was put');
        assert.equal(byTag.digest, m.digest);
        assert.equal(byTag.mediaType, MediaType.OciManifest);
        assert.equal(byTag.size, m.content.byteLength);
        assert.deepEqual({ ...byTag, content: undefined }, { ...byDigest, content: undefined });

        const head = await s.artifacts.getManifest('team/app', 'v1', false);
        assert.deepEqual(head, { digest: m.digest, mediaType: MediaType.OciManifest, size: m.content.byteLength });
        assert.ok(!('content' in head!));

        assert.equal(await s.artifacts.getManifest('team/app', 'v2', true), undefined);
        assert.equal(await s.artifacts.getManifest('team/other', m.digest, true), undefined);
        assert.equal((await s.artifacts.getRepository('team/app'))?.updatedAt, 5_000);
        assert.equal((await s.artifacts.getRepository('team/app'))?.artifactCount, 1);
      });

      test('re-putting the same digest is created:false and keeps the first push time', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        const m = manifest('m');
        await putStored(s, 'team/app', m, { now: 1_000 });
        assert.deepEqual(await s.artifacts.putManifest(putInput('team/app', m, { now: 2_000, tag: 'again' })), { kind: 'stored', created: false });
        const a = await s.artifacts.getArtifact('team/app', m.digest);
        assert.equal(a?.pushedAt, 1_000);
        assert.deepEqual(a?.tags, ['again'], 'the re-put still applies its tag');
        assert.equal((await s.artifacts.getRepository('team/app'))?.artifactCount, 1);
      });

      test('a tag moves to another digest; the old manifest stays reachable by digest', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        const m1 = manifest('one');
        const m2 = manifest('two');
        await putStored(s, 'team/app', m1, { tag: 'latest', now: 1_000 });
        await putStored(s, 'team/app', m2, { tag: 'latest', now: 2_000 });
        assert.equal((await s.artifacts.getManifest('team/app', 'latest', false))?.digest, m2.digest);
        assert.equal((await s.artifacts.getManifest('team/app', m1.digest, false))?.digest, m1.digest);
        assert.deepEqual(await s.artifacts.listTags('team/app', { limit: 10 }), ['latest']);
        const arts = await s.artifacts.listArtifacts('team/app');
        assert.deepEqual(
          arts.map((a) => [a.digest, a.tags]),
          [
            [m2.digest, ['latest']],
            [m1.digest, []],
          ],
        );
      });

      test('manifests and tags are per repository', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/a');
        await repo(s, 'team/b');
        const m = manifest('shared');
        await putStored(s, 'team/a', m, { tag: 'x' });
        await putStored(s, 'team/b', m, { tag: 'y' });
        assert.deepEqual(await s.artifacts.listTags('team/a', { limit: 10 }), ['x']);
        assert.deepEqual(await s.artifacts.deleteManifest('team/a', m.digest), { kind: 'deleted' });
        assert.equal(await s.artifacts.getManifest('team/a', m.digest, false), undefined);
        assert.equal((await s.artifacts.getManifest('team/b', 'y', true))?.content?.equals(m.content), true);
        assert.equal(await s.artifacts.deleteTag('team/a', 'y'), false);
        assert.deepEqual(await s.artifacts.listTags('team/b', { limit: 10 }), ['y']);
      });

      test('listTags sorts byte-wise and paginates with limit/after', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        const m = manifest('m');
        for (const tag of ['b', 'a-1', 'B', '1.0', 'a', 'a_1', 'A']) await putStored(s, 'team/app', m, { tag });
        const all = ['1.0', 'A', 'B', 'a', 'a-1', 'a_1', 'b'];
        assert.deepEqual(await s.artifacts.listTags('team/app', { limit: 100 }), all);
        assert.deepEqual(await s.artifacts.listTags('team/app', { limit: 3 }), ['1.0', 'A', 'B']);
        assert.deepEqual(await s.artifacts.listTags('team/app', { limit: 3, after: 'B' }), ['a', 'a-1', 'a_1']);
        assert.deepEqual(await s.artifacts.listTags('team/app', { limit: 3, after: 'a_1' }), ['b']);
        assert.deepEqual(await s.artifacts.listTags('team/app', { limit: 3, after: 'b' }), []);
        // `after` need not be an existing tag.
        assert.deepEqual(await s.artifacts.listTags('team/app', { limit: 2, after: 'Z' }), ['a', 'a-1']);
        assert.deepEqual(await s.artifacts.listTags('team/app', { limit: 100, after: undefined }), all);
      });

      test('listTags of an unknown repository is undefined, of an empty one []', async (t) => {
        const s = await fresh(t);
        assert.equal(await s.artifacts.listTags('team/app', { limit: 10 }), undefined);
        await repo(s, 'team/app');
        assert.deepEqual(await s.artifacts.listTags('team/app', { limit: 10 }), []);
      });

      test('an index’s child cannot be deleted before the index', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        const c1 = manifest('c1');
        const c2 = manifest('c2');
        await putStored(s, 'team/app', c1);
        await putStored(s, 'team/app', c2);
        const i1 = manifest('i1');
        const i2 = manifest('i2');
        await putStored(s, 'team/app', i1, { mediaType: MediaType.OciIndex, children: [c1.digest, c2.digest] });
        await putStored(s, 'team/app', i2, { mediaType: MediaType.OciIndex, children: [c1.digest] });

        assert.deepEqual(await s.artifacts.parents('team/app', c1.digest), sorted([i1.digest, i2.digest]), 'parents: the indexes listing it');
        assert.deepEqual(await s.artifacts.parents('team/app', c2.digest), [i1.digest]);
        assert.deepEqual(await s.artifacts.parents('team/app', i1.digest), []);
        assert.deepEqual(await s.artifacts.parents('team/other', c1.digest), [], 'in its own repository only');

        const r = await s.artifacts.deleteManifest('team/app', c1.digest);
        assert.equal(r.kind, 'referenced');
        assert.deepEqual(sorted((r as { by: readonly Digest[] }).by), sorted([i1.digest, i2.digest]));
        assert.ok(await s.artifacts.getManifest('team/app', c1.digest, false), 'a referenced child survives');

        assert.deepEqual(await s.artifacts.deleteManifest('team/app', i1.digest), { kind: 'deleted' });
        assert.deepEqual(await s.artifacts.deleteManifest('team/app', c1.digest), { kind: 'referenced', by: [i2.digest] });
        assert.deepEqual(await s.artifacts.deleteManifest('team/app', c2.digest), { kind: 'deleted' });
        assert.deepEqual(await s.artifacts.deleteManifest('team/app', i2.digest), { kind: 'deleted' });
        assert.deepEqual(await s.artifacts.deleteManifest('team/app', c1.digest), { kind: 'deleted' });
        assert.deepEqual(await s.artifacts.deleteManifest('team/app', c1.digest), { kind: 'unknown' });
        assert.deepEqual(await s.artifacts.deleteManifest('team/nope', c1.digest), { kind: 'unknown' });
      });

      test('deleting a manifest removes its tags; deleteTag removes only the tag', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        const m1 = manifest('one');
        const m2 = manifest('two');
        await putStored(s, 'team/app', m1, { tag: 'v1' });
        await putStored(s, 'team/app', m1, { tag: 'stable' });
        await putStored(s, 'team/app', m2, { tag: 'v2' });
        assert.deepEqual(await s.artifacts.deleteManifest('team/app', m1.digest), { kind: 'deleted' });
        assert.deepEqual(await s.artifacts.listTags('team/app', { limit: 10 }), ['v2']);
        assert.equal(await s.artifacts.getManifest('team/app', 'v1', false), undefined);

        assert.equal(await s.artifacts.deleteTag('team/app', 'v2'), true);
        assert.equal(await s.artifacts.deleteTag('team/app', 'v2'), false);
        assert.equal(await s.artifacts.deleteTag('team/nope', 'v2'), false);
        assert.deepEqual(await s.artifacts.listTags('team/app', { limit: 10 }), []);
        assert.equal(await s.artifacts.getManifest('team/app', 'v2', false), undefined);
        assert.equal((await s.artifacts.getManifest('team/app', m2.digest, false))?.digest, m2.digest);
      });

      test('referrers: by subject, ordered by push time, filtered by artifactType', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        await repo(s, 'team/other');
        const subject = manifest('subject');
        await putStored(s, 'team/app', subject);
        const sig = manifest('sig');
        const sbom = manifest('sbom');
        const sig2 = manifest('sig2');
        const unrelated = manifest('unrelated');
        // Pushed out of order: the later push goes first.
        await putStored(s, 'team/app', sig, { subject: subject.digest, artifactType: 'application/sig', now: 3_000, annotations: { 'org.example.k': 'v' } });
        await putStored(s, 'team/app', sbom, { subject: subject.digest, artifactType: 'application/sbom', now: 1_000 });
        await putStored(s, 'team/app', sig2, { subject: subject.digest, artifactType: 'application/sig', now: 2_000 });
        await putStored(s, 'team/app', unrelated, { subject: sig.digest, artifactType: 'application/sig', now: 500 });
        // The same subject digest in another repository does not leak in.
        await putStored(s, 'team/other', manifest('x'), { subject: subject.digest, artifactType: 'application/sig' });

        const all = await s.artifacts.referrers('team/app', subject.digest, null);
        assert.deepEqual(
          all.map((r) => r.digest),
          [sbom.digest, sig2.digest, sig.digest],
        );
        assert.deepEqual(all[2], {
          digest: sig.digest,
          mediaType: MediaType.OciManifest,
          size: sig.content.byteLength,
          artifactType: 'application/sig',
          annotations: { 'org.example.k': 'v' },
        });
        assert.equal(all[0]?.annotations, null);
        assert.deepEqual(
          (await s.artifacts.referrers('team/app', subject.digest, 'application/sig')).map((r) => r.digest),
          [sig2.digest, sig.digest],
        );
        assert.deepEqual(await s.artifacts.referrers('team/app', subject.digest, 'application/none'), []);
        assert.deepEqual(await s.artifacts.referrers('team/nope', subject.digest, null), []);
      });

      test('listArtifacts: tags and total sizes (blobs for images, children for an index), newest first', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        const b1 = await blob(s, 'team/app', { size: 1_000 });
        const b2 = await blob(s, 'team/app', { size: 2_345 });
        const amd = manifest('amd64');
        const arm = manifest('arm64');
        const idx = manifest('index');
        await putStored(s, 'team/app', amd, { blobs: [b1, b2], blobBytes: 3_345, now: 1_000, tag: 'amd' });
        await putStored(s, 'team/app', arm, { blobs: [b1], blobBytes: 1_000, now: 2_000 });
        await putStored(s, 'team/app', idx, {
          mediaType: MediaType.OciIndex,
          children: [amd.digest, arm.digest],
          now: 3_000,
          tag: 'latest',
          annotations: { 'org.opencontainers.image.version': '1' },
        });
        await putStored(s, 'team/app', idx, { tag: 'v1', now: 4_000 });

        const arts = await s.artifacts.listArtifacts('team/app');
        const amdSize = amd.content.byteLength + 3_345;
        const armSize = arm.content.byteLength + 1_000;
        assert.deepEqual(arts, [
          {
            digest: idx.digest,
            mediaType: MediaType.OciIndex,
            artifactType: null,
            subject: null,
            size: idx.content.byteLength + amdSize + armSize,
            tags: ['latest', 'v1'],
            pushedAt: 3_000,
            annotations: { 'org.opencontainers.image.version': '1' },
          },
          { digest: arm.digest, mediaType: MediaType.OciManifest, artifactType: null, subject: null, size: armSize, tags: [], pushedAt: 2_000, annotations: null },
          { digest: amd.digest, mediaType: MediaType.OciManifest, artifactType: null, subject: null, size: amdSize, tags: ['amd'], pushedAt: 1_000, annotations: null },
        ]);
        assert.deepEqual(await s.artifacts.getArtifact('team/app', 'v1'), arts[0]);
        assert.deepEqual(await s.artifacts.getArtifact('team/app', arm.digest), arts[1]);
        assert.equal(await s.artifacts.getArtifact('team/app', 'nope'), undefined);
        assert.deepEqual(await s.artifacts.listArtifacts('team/nope'), []);
      });

      test('listRepositories: only repositories with a manifest, by visibility, project and page', async (t) => {
        const s = await fresh(t);
        await repo(s, 'pub/b', { public: true });
        await repo(s, 'pub/a');
        await repo(s, 'pub/empty');
        await repo(s, 'priv/x');
        await repo(s, 'mine/y');
        for (const r of ['pub/a', 'pub/b', 'priv/x', 'mine/y']) await putStored(s, r, manifest(r));
        await putStored(s, 'pub/a', manifest('second'));
        const names = async (project: string | null, v: Parameters<MetadataStore['artifacts']['listRepositories']>[1], page: { limit: number; after?: string }) =>
          (await s.artifacts.listRepositories(project, v, page)).map((r) => r.name);
        const all = { kind: 'all' } as const;

        assert.deepEqual(await names(null, all, { limit: 10 }), ['mine/y', 'priv/x', 'pub/a', 'pub/b']);
        assert.deepEqual(await names(null, { kind: 'projects', projects: ['mine'], includePublic: true }, { limit: 10 }), ['mine/y', 'pub/a', 'pub/b']);
        assert.deepEqual(await names(null, { kind: 'projects', projects: ['mine'], includePublic: false }, { limit: 10 }), ['mine/y']);
        assert.deepEqual(await names(null, { kind: 'projects', projects: [], includePublic: false }, { limit: 10 }), []);
        assert.deepEqual(await names('pub', all, { limit: 10 }), ['pub/a', 'pub/b']);
        assert.deepEqual(await names('priv', { kind: 'projects', projects: ['mine'], includePublic: true }, { limit: 10 }), []);
        assert.deepEqual(await names(null, all, { limit: 2 }), ['mine/y', 'priv/x']);
        assert.deepEqual(await names(null, all, { limit: 2, after: 'priv/x' }), ['pub/a', 'pub/b']);
        assert.deepEqual(await names(null, all, { limit: 2, after: 'pub/b' }), []);

        const [a] = await s.artifacts.listRepositories('pub', all, { limit: 1 });
        assert.equal(a?.project, 'pub');
        assert.equal(a?.artifactCount, 2);
      });

      test('deleteRepository cascades to manifests, tags, blob links and uploads', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        await repo(s, 'team/keep');
        const b = await blob(s, 'team/app', { size: 7 });
        await s.blobs.link('team/keep', b, 7, 1_000);
        const m = manifest('m');
        await putStored(s, 'team/app', m, { blobs: [b], blobBytes: 7, tag: 'latest' });
        await putStored(s, 'team/app', manifest('idx'), { mediaType: MediaType.OciIndex, children: [m.digest], tag: 'multi' });
        await s.uploads.create('upload-1', 'team/app', 1_000);
        await s.uploads.create('upload-2', 'team/keep', 1_000);

        assert.equal(await s.artifacts.deleteRepository('team/app'), true);
        assert.equal(await s.artifacts.deleteRepository('team/app'), false);
        assert.equal(await s.artifacts.getRepository('team/app'), undefined);
        assert.equal(await s.artifacts.listTags('team/app', { limit: 10 }), undefined);
        assert.equal(await s.artifacts.getManifest('team/app', m.digest, false), undefined);
        assert.equal(await s.blobs.linked('team/app', b), undefined);
        assert.equal(await s.uploads.get('upload-1'), undefined);
        assert.deepEqual(await s.uploads.stale(Number.MAX_SAFE_INTEGER), ['upload-2']);
        assert.equal(await s.blobs.linked('team/keep', b), 7, 'other repositories keep their links');
        assert.deepEqual(
          (await s.gc.unreferencedBlobs(10_000)).map((x) => x.digest),
          [b],
          'the blob is no longer referenced by any manifest',
        );
        assert.deepEqual(
          (await s.gc.manifestGraph()).map((n) => n.repository),
          [],
        );

        // Recreated, the repository starts empty: nothing comes back.
        await s.artifacts.ensureRepository('team/app', 'team', 2);
        assert.deepEqual(await s.artifacts.listTags('team/app', { limit: 10 }), []);
        assert.equal(await s.blobs.linked('team/app', b), undefined);
        assert.deepEqual(await s.artifacts.listArtifacts('team/app'), []);
      });
    });

    // ------------------------------------------------------------ blobs
    describe('blobs', () => {
      test('reserve, claim (deleting) makes it busy and unlinkable; forget frees the digest', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        const d = freshDigest();
        assert.equal(await s.blobs.reserve(d, 1_000), 'reserved');
        assert.equal(await s.blobs.reserve(d, 1_100), 'reserved', 'reserving a live blob again is fine');
        assert.equal(await s.blobs.link('team/app', d, 10, 1_100), true);
        assert.equal(await s.blobs.linked('team/app', d), 10);

        assert.equal(await s.gc.claim(d, 5_000), true);
        assert.equal(await s.blobs.reserve(d, 6_000), 'busy');
        assert.equal(await s.blobs.link('team/app', d, 10, 6_000), false);
        assert.equal(await s.blobs.linked('team/app', d), undefined, 'a deleting blob is not servable');
        assert.equal(await s.blobs.mount('team/app', 'team/app', d, 6_000), undefined);

        await s.gc.forget(d);
        assert.deepEqual(await s.gc.claimed(), []);
        assert.equal(await s.blobs.linked('team/app', d), undefined, 'forgetting drops the old links');
        assert.equal(await s.blobs.reserve(d, 7_000), 'reserved');
        assert.equal(await s.blobs.linked('team/app', d), undefined);
        assert.equal(await s.blobs.link('team/app', d, 12, 7_000), true);
        assert.equal(await s.blobs.linked('team/app', d), 12);
      });

      test('link: false for an unknown blob, NOT_FOUND for an unknown repository', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        assert.equal(await s.blobs.link('team/app', freshDigest(), 10, 1), false);
        const d = freshDigest();
        await s.blobs.reserve(d, 1);
        await rejectsWithCode(s.blobs.link('team/nope', d, 10, 1), 'NOT_FOUND');
        assert.equal(await s.blobs.link('team/app', d, 10, 1), true);
        assert.equal(await s.blobs.link('team/app', d, 10, 2), true, 'linking twice is fine');
      });

      test('linked() with touch refreshes a stale touch time, so collection skips the blob', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        const d = await blob(s, 'team/app', { now: 1_000, size: 33 });
        assert.deepEqual(await s.gc.unreferencedBlobs(5_000), [{ digest: d, size: 33 }]);
        // Plain linked() changes nothing, nor does a touch whose `before` the blob already meets.
        assert.equal(await s.blobs.linked('team/app', d), 33);
        assert.equal(await s.blobs.linked('team/app', d, { now: 9_000, before: 500 }), 33);
        assert.deepEqual(await s.gc.unreferencedBlobs(5_000), [{ digest: d, size: 33 }]);
        // A touch with a later `before` refreshes it.
        assert.equal(await s.blobs.linked('team/app', d, { now: 9_000, before: 4_000 }), 33);
        assert.deepEqual(await s.gc.unreferencedBlobs(5_000), []);
        assert.equal(await s.gc.claim(d, 5_000), false);
        assert.deepEqual(await s.gc.unreferencedBlobs(9_001), [{ digest: d, size: 33 }]);
        assert.equal(await s.blobs.linked('team/other', d, { now: 9_000, before: 4_000 }), undefined);
      });

      test('reserving an existing blob again never changes its recorded size; link records the verified size', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        const d = await blob(s, 'team/app', { size: 1000 });
        // A push of other content claiming the same digest reserves it before it is verified.
        assert.equal(await s.blobs.reserve(d, 2_000), 'reserved');
        assert.equal(await s.blobs.linked('team/app', d), 1000);
        const fresh2 = freshDigest();
        assert.equal(await s.blobs.reserve(fresh2, 2_000), 'reserved');
        assert.equal(await s.blobs.link('team/app', fresh2, 4321, 2_001), true);
        assert.equal(await s.blobs.linked('team/app', fresh2), 4321);
      });

      test('unlink removes the link only from that repository', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        await repo(s, 'team/web');
        const d = await blob(s, 'team/app');
        await s.blobs.link('team/web', d, 100, 1_000);
        assert.equal(await s.blobs.unlink('team/app', d), true);
        assert.equal(await s.blobs.unlink('team/app', d), false);
        assert.equal(await s.blobs.linked('team/app', d), undefined);
        assert.equal(await s.blobs.linked('team/web', d), 100);
        const r = await s.artifacts.putManifest(putInput('team/app', manifest('m'), { blobs: [d] }));
        assert.deepEqual(r, { kind: 'missing', blobs: [d], manifests: [] });
      });

      test('mount links a blob from a repository that has it; undefined from one that lacks it', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/src');
        await repo(s, 'team/dst');
        await repo(s, 'team/empty');
        const d = await blob(s, 'team/src', { size: 77, now: 1_000 });
        assert.equal(await s.blobs.mount('team/empty', 'team/dst', d, 9_000), undefined);
        assert.equal(await s.blobs.linked('team/dst', d), undefined);
        assert.equal(await s.blobs.mount('team/src', 'team/dst', d, 9_000), 77);
        assert.equal(await s.blobs.linked('team/dst', d), 77);
        assert.equal(await s.blobs.mount('team/src', 'team/dst', d, 9_500), 77, 'mounting again is fine');
        // The mount counts as a use: the blob is fresh again.
        assert.equal(await s.gc.claim(d, 5_000), false);
        await putStored(s, 'team/dst', manifest('m'), { blobs: [d] });
        assert.equal(await s.blobs.mount('team/src', 'team/dst', freshDigest(), 9_000), undefined);
      });
    });

    // ------------------------------------------------------------ uploads
    describe('uploads', () => {
      test('create (unknown repository is NOT_FOUND), get, touch, stale and delete', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        await rejectsWithCode(s.uploads.create('u-x', 'team/nope', 1), 'NOT_FOUND');
        assert.equal(await s.uploads.get('u-x'), undefined);

        await s.uploads.create('u-b', 'team/app', 1_000);
        await s.uploads.create('u-a', 'team/app', 2_000);
        await s.uploads.create('u-c', 'team/app', 3_000);
        assert.deepEqual(await s.uploads.get('u-b'), { repository: 'team/app', createdAt: 1_000, updatedAt: 1_000 });

        await s.uploads.touch('u-b', 4_000);
        assert.deepEqual(await s.uploads.get('u-b'), { repository: 'team/app', createdAt: 1_000, updatedAt: 4_000 });
        await s.uploads.touch('u-nope', 4_000);

        assert.deepEqual(await s.uploads.stale(1_000), []);
        assert.deepEqual(await s.uploads.stale(3_000), ['u-a']);
        assert.deepEqual(await s.uploads.stale(3_001), ['u-a', 'u-c']);
        assert.deepEqual(await s.uploads.stale(10_000), ['u-a', 'u-b', 'u-c']);

        assert.equal(await s.uploads.delete('u-a'), true);
        assert.equal(await s.uploads.delete('u-a'), false);
        assert.equal(await s.uploads.get('u-a'), undefined);
        assert.deepEqual(await s.uploads.stale(10_000), ['u-b', 'u-c']);
      });
    });

    // ------------------------------------------------------------ gc
    describe('gc', () => {
      test('unreferencedBlobs skips referenced, fresh (touched at/after before) and deleting blobs', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        const old1 = await blob(s, 'team/app', { now: 1_000, size: 1 });
        const old2 = await blob(s, 'team/app', { now: 4_999, size: 2 });
        const referenced = await blob(s, 'team/app', { now: 1_000 });
        await blob(s, 'team/app', { now: 5_000 }); // touched exactly at `before`: too fresh
        await blob(s, 'team/app', { now: 6_000 }); // touched after `before`
        const deleting = await blob(s, 'team/app', { now: 1_000 });
        assert.equal(await s.gc.claim(deleting, 5_000), true);
        await putStored(s, 'team/app', manifest('m'), { blobs: [referenced] });
        const unlinkedOnly = freshDigest(); // reserved but never linked: still a candidate
        await s.blobs.reserve(unlinkedOnly, 1_000);

        const expected = [
          { digest: old1, size: 1 },
          { digest: old2, size: 2 },
          { digest: unlinkedOnly, size: 0 }, // no verified content ever arrived: its size is unknown
        ].sort((a, b) => (a.digest < b.digest ? -1 : 1));
        assert.deepEqual(await s.gc.unreferencedBlobs(5_000), expected);
        // A reference from a manifest in any repository protects the blob.
        await repo(s, 'team/web');
        await s.blobs.link('team/web', old1, 1, 1_000);
        await putStored(s, 'team/web', manifest('w'), { blobs: [old1] });
        assert.deepEqual(
          (await s.gc.unreferencedBlobs(5_000)).map((x) => x.digest),
          expected.filter((x) => x.digest !== old1).map((x) => x.digest),
        );
      });

      test('claim: false when referenced, fresh, unknown or already claimed; true for an old unreferenced blob', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        const referenced = await blob(s, 'team/app', { now: 1_000 });
        await putStored(s, 'team/app', manifest('m'), { blobs: [referenced] });
        const fresh1 = await blob(s, 'team/app', { now: 5_000 });
        const old = await blob(s, 'team/app', { now: 1_000 });
        assert.equal(await s.gc.claim(referenced, 5_000), false);
        assert.equal(await s.gc.claim(fresh1, 5_000), false);
        assert.equal(await s.gc.claim(freshDigest(), 5_000), false);
        assert.equal(await s.gc.claim(old, 5_000), true);
        assert.equal(await s.gc.claim(old, 5_000), false);
        assert.deepEqual(await s.gc.claimed(), [old]);
        // The referenced blob is still servable; the claimed one is not.
        assert.equal(await s.blobs.linked('team/app', referenced), 100);
        assert.equal(await s.blobs.linked('team/app', old), undefined);
      });

      test('pin: a pinned blob is no candidate and cannot be claimed; the blob it replaces ages from then and is collectable', async (t) => {
        const s = await fresh(t);
        const first = freshDigest();
        const second = freshDigest();
        assert.equal(await s.blobs.reserve(first, 1_000), 'reserved');
        assert.deepEqual(await s.blobs.pin('advisory-db', first, 70, 1_000), { previous: undefined });
        assert.deepEqual(await s.blobs.pin('advisory-db', first, 70, 1_500), { previous: undefined }, 'pinning the same blob again replaces nothing');
        assert.deepEqual(await s.gc.unreferencedBlobs(10_000), []);
        assert.equal(await s.gc.claim(first, 10_000), false);
        assert.ok((await s.gc.knownBlobs()).includes(first), 'known: the orphan sweep leaves it too');

        assert.equal(await s.blobs.reserve(second, 2_000), 'reserved');
        assert.deepEqual(await s.blobs.pin('advisory-db', second, 80, 3_000), { previous: first });
        // Let go at 3000: its grace counts from then, not from when it was stored.
        assert.deepEqual(await s.gc.unreferencedBlobs(3_000), []);
        assert.deepEqual(await s.gc.unreferencedBlobs(3_001), [{ digest: first, size: 70 }]);
        assert.equal(await s.gc.claim(second, 10_000), false, 'the pinned one stays');
        assert.equal(await s.gc.claim(first, 10_000), true);
        await s.gc.forget(first);

        // A blob a collection is deleting cannot be pinned.
        const doomed = freshDigest();
        await s.blobs.reserve(doomed, 1_000);
        assert.equal(await s.gc.claim(doomed, 5_000), true);
        assert.equal(await s.blobs.pin('other', doomed, 10, 6_000), false);
        assert.deepEqual(await s.gc.claimed(), [doomed]);
      });

      test('claimOrphan: true for an unknown digest (then busy), false for a known one', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        const known = await blob(s, 'team/app');
        const orphan = freshDigest();
        assert.equal(await s.gc.claimOrphan(orphan, 50), true);
        assert.equal(await s.gc.claimOrphan(orphan, 50), false);
        assert.equal(await s.gc.claimOrphan(known, 100), false);
        assert.equal(await s.blobs.linked('team/app', known), 100, 'a known blob stays live');
        assert.equal(await s.blobs.reserve(orphan, 9_000), 'busy');
        assert.deepEqual(await s.gc.claimed(), [orphan]);
      });

      test('claimed lists deleting digests in order; forget leaves live blobs alone', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        const ds = [await blob(s, 'team/app'), await blob(s, 'team/app'), await blob(s, 'team/app')];
        const live = await blob(s, 'team/app');
        for (const d of ds) assert.equal(await s.gc.claim(d, 5_000), true);
        assert.deepEqual(await s.gc.claimed(), sorted(ds));
        await s.gc.forget(live);
        assert.equal(await s.blobs.linked('team/app', live), 100);
        await s.gc.forget(ds[0]!);
        assert.deepEqual(await s.gc.claimed(), sorted(ds.slice(1)));
      });

      test('manifestGraph reports tags, subjects and index children', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        await repo(s, 'team/web');
        const m1 = manifest('m1');
        const m2 = manifest('m2');
        const idx = manifest('idx');
        const sig = manifest('sig');
        const w = manifest('w');
        await putStored(s, 'team/app', m1, { tag: 'v1', now: 1 });
        await putStored(s, 'team/app', m2, { now: 2 });
        await putStored(s, 'team/app', idx, { mediaType: MediaType.OciIndex, children: [m1.digest, m2.digest], tag: 'latest', now: 3 });
        await putStored(s, 'team/app', sig, { subject: m1.digest, artifactType: 'application/sig', now: 4 });
        await putStored(s, 'team/web', w, { now: 5 });

        const graph = await s.gc.manifestGraph();
        const node = (repository: string, digest: Digest) => {
          const n = graph.find((x) => x.repository === repository && x.digest === digest);
          assert.ok(n, `no node for ${repository}@${digest}`);
          return { ...n, children: sorted(n.children) };
        };
        assert.equal(graph.length, 5);
        assert.deepEqual(node('team/app', m1.digest), { repository: 'team/app', digest: m1.digest, tagged: true, subject: null, children: [], pushedAt: 1 });
        assert.deepEqual(node('team/app', m2.digest), { repository: 'team/app', digest: m2.digest, tagged: false, subject: null, children: [], pushedAt: 2 });
        assert.deepEqual(node('team/app', idx.digest), { repository: 'team/app', digest: idx.digest, tagged: true, subject: null, children: sorted([m1.digest, m2.digest]), pushedAt: 3 });
        assert.deepEqual(node('team/app', sig.digest), { repository: 'team/app', digest: sig.digest, tagged: false, subject: m1.digest, children: [], pushedAt: 4 });
        assert.deepEqual(node('team/web', w.digest), { repository: 'team/web', digest: w.digest, tagged: false, subject: null, children: [], pushedAt: 5 });

        await s.artifacts.deleteTag('team/app', 'v1');
        assert.equal((await s.gc.manifestGraph()).find((n) => n.digest === m1.digest)?.tagged, false);
      });

      test('deleteManifests deletes in the order given (index before its child), all or nothing', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        await repo(s, 'team/web');
        const child = manifest('child');
        const idx = manifest('idx');
        const b = await blob(s, 'team/app');
        await putStored(s, 'team/app', child, { blobs: [b], tag: 'c' });
        await putStored(s, 'team/app', idx, { mediaType: MediaType.OciIndex, children: [child.digest], tag: 'i' });
        const keep = manifest('keep');
        await putStored(s, 'team/web', keep, { tag: 'k' });

        const n = await s.gc.deleteManifests([
          { repository: 'team/app', digest: idx.digest },
          { repository: 'team/app', digest: child.digest },
          { repository: 'team/app', digest: manifest('unknown').digest },
          { repository: 'team/nope', digest: child.digest },
        ]);
        assert.equal(n, 2);
        assert.deepEqual(await s.artifacts.listTags('team/app', { limit: 10 }), []);
        assert.deepEqual(
          (await s.gc.manifestGraph()).map((x) => x.digest),
          [keep.digest],
        );
        assert.deepEqual(
          (await s.gc.unreferencedBlobs(5_000)).map((x) => x.digest),
          [b],
        );
        assert.equal(await s.gc.deleteManifests([]), 0);
      });

      test('deleteManifests with a child before its index never leaves a partial result', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        const child = manifest('child');
        const idx = manifest('idx');
        await putStored(s, 'team/app', child);
        await putStored(s, 'team/app', idx, { mediaType: MediaType.OciIndex, children: [child.digest] });
        const outcome = await s.gc
          .deleteManifests([
            { repository: 'team/app', digest: child.digest },
            { repository: 'team/app', digest: idx.digest },
          ])
          .then(
            (n) => n,
            () => 'rejected' as const,
          );
        const left = (await s.gc.manifestGraph()).map((x) => x.digest);
        if (outcome === 'rejected') assert.deepEqual(sorted(left), sorted([child.digest, idx.digest]), 'a failed batch must delete nothing');
        else {
          assert.equal(outcome, 2);
          assert.deepEqual(left, []);
        }
        // Whatever happened, the index never points at a missing child.
        if (left.includes(idx.digest)) assert.ok(left.includes(child.digest));
      });

      test('knownBlobs lists every blob the store knows, in any state', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        const live = await blob(s, 'team/app');
        const claimedOld = await blob(s, 'team/app', { now: 1 });
        assert.equal(await s.gc.claim(claimedOld, 5_000), true);
        const orphan = freshDigest();
        await s.gc.claimOrphan(orphan, 1);
        assert.deepEqual(sorted(await s.gc.knownBlobs()), sorted([live, claimedOld, orphan]));
        await s.gc.forget(orphan);
        assert.deepEqual(sorted(await s.gc.knownBlobs()), sorted([live, claimedOld]));
      });
    });

    // ------------------------------------------------------------ jobs
    describe('jobs', () => {
      const claim = (kinds: string[], now: number, leaseMs: number, holder = 'replica-a', maxAttempts = 5) => ({ kinds, now, leaseMs, holder, maxAttempts });

      test('enqueue is idempotent per kind and key; claim takes the oldest due job and leases it', async (t) => {
        const s = await fresh(t);
        assert.equal(await s.jobs.enqueue('sbom', 'a/b@sha256:1', '{"n":1}', 1000), true);
        assert.equal(await s.jobs.enqueue('sbom', 'a/b@sha256:1', '{"n":2}', 1001), false, 'the same key is queued once');
        assert.equal(await s.jobs.enqueue('scan', 'a/b@sha256:1', '{}', 1002), true, 'another kind is another job');
        assert.equal(await s.jobs.enqueue('sbom', 'a/b@sha256:2', '{"n":3}', 1003), true);
        assert.equal(await s.jobs.claim(claim(['sbom'], 999, 60_000)), undefined, 'nothing is due before its time');
        const first = await s.jobs.claim(claim(['sbom'], 2000, 60_000));
        assert.equal(first?.key, 'a/b@sha256:1');
        assert.equal(first?.payload, '{"n":1}');
        assert.equal(first?.state, 'running');
        assert.equal(first?.attempts, 1);
        const second = await s.jobs.claim(claim(['sbom'], 2000, 60_000));
        assert.equal(second?.key, 'a/b@sha256:2', 'a leased job is not claimed twice');
        assert.equal(await s.jobs.claim(claim(['sbom'], 2000, 60_000)), undefined);
        assert.equal(await s.jobs.complete(first!.id, 'replica-b', 3000), false, 'only the holder completes a job');
        assert.equal(await s.jobs.complete(first!.id, 'replica-a', 3000), true);
        assert.equal((await s.jobs.get('sbom', 'a/b@sha256:1'))?.state, 'done');
        assert.deepEqual(await s.jobs.counts('sbom'), { queued: 0, running: 1, done: 1, failed: 0 });
      });

      test('a lapsed lease (the worker died) makes the job claimable again', async (t) => {
        const s = await fresh(t);
        await s.jobs.enqueue('sbom', 'k', '{}', 0);
        const a = await s.jobs.claim(claim(['sbom'], 10, 1000));
        assert.equal(await s.jobs.claim(claim(['sbom'], 500, 1000)), undefined);
        const b = await s.jobs.claim(claim(['sbom'], 1011, 1000));
        assert.equal(b?.id, a?.id);
        assert.equal(b?.attempts, 2);
      });

      test('fail with a retry time requeues; without one it is failed for good, with its error', async (t) => {
        const s = await fresh(t);
        await s.jobs.enqueue('sbom', 'k', '{}', 0);
        const j = await s.jobs.claim(claim(['sbom'], 1, 1000));
        assert.equal(await s.jobs.fail(j!.id, 'replica-b', 'not mine', 2, null), false, 'only the holder fails a job');
        await s.jobs.fail(j!.id, 'replica-a', 'layer missing', 2, 5000);
        assert.equal(await s.jobs.claim(claim(['sbom'], 4999, 1000)), undefined);
        const again = await s.jobs.claim(claim(['sbom'], 5000, 1000));
        assert.equal(again?.id, j?.id);
        await s.jobs.fail(again!.id, 'replica-a', 'still missing', 5001, null);
        const rec = await s.jobs.get('sbom', 'k');
        assert.equal(rec?.state, 'failed');
        assert.equal(rec?.error, 'still missing');
        assert.equal(await s.jobs.claim(claim(['sbom'], 1e12, 1000)), undefined);
      });

      test('requeue puts a done or failed job back in the queue, and nothing else', async (t) => {
        const s = await fresh(t);
        assert.equal(await s.jobs.requeue('scan', 'absent', 1), false);
        await s.jobs.enqueue('scan', 'k', '{"a":1}', 0);
        assert.equal(await s.jobs.requeue('scan', 'k', 1), false, 'a queued job stays as it is');
        const j = await s.jobs.claim(claim(['scan'], 1, 1000));
        assert.equal(await s.jobs.requeue('scan', 'k', 2), false, 'a running job stays as it is');
        await s.jobs.fail(j!.id, 'replica-a', 'broken', 3, null);
        assert.equal(await s.jobs.requeue('scan', 'k', 4), true);
        const again = await s.jobs.get('scan', 'k');
        assert.deepEqual([again?.state, again?.attempts, again?.error, again?.runAfter, again?.payload], ['queued', 0, null, 4, '{"a":1}']);
        const k = await s.jobs.claim(claim(['scan'], 4, 1000));
        assert.equal(k?.id, j?.id);
        await s.jobs.complete(k!.id, 'replica-a', 5);
        assert.equal(await s.jobs.requeue('scan', 'k', 6), true);
        assert.equal((await s.jobs.claim(claim(['scan'], 6, 1000)))?.id, j?.id);
      });

      test('renew extends the lease of the holder only; once it lapses and another claims it, it is theirs', async (t) => {
        const s = await fresh(t);
        await s.jobs.enqueue('scan', 'k', '{}', 0);
        const a = await s.jobs.claim(claim(['scan'], 10, 1000, 'replica-a'));
        assert.equal(await s.jobs.renew(a!.id, 'replica-b', 5000, 500), false, 'not held by b');
        assert.equal(await s.jobs.renew(a!.id, 'replica-a', 5000, 900), true);
        assert.equal(await s.jobs.claim(claim(['scan'], 4000, 1000, 'replica-b')), undefined, 'the renewed lease holds past its first end');
        const b = await s.jobs.claim(claim(['scan'], 5001, 1000, 'replica-b'));
        assert.equal(b?.id, a?.id, 'lapsed again: another replica takes it');
        assert.equal(await s.jobs.renew(a!.id, 'replica-a', 9000, 5002), false, 'a lost its lease');
        assert.equal(await s.jobs.complete(a!.id, 'replica-a', 5003), false, 'a, whose lease lapsed, records nothing');
        assert.equal(await s.jobs.fail(a!.id, 'replica-a', 'stale', 5003, 6000), false);
        assert.equal((await s.jobs.get('scan', 'k'))?.state, 'running', "b's run goes on");
        assert.equal(await s.jobs.complete(b!.id, 'replica-b', 5003), true);
        assert.equal(await s.jobs.renew(a!.id, 'replica-b', 9000, 5004), false, 'a finished job has no lease');
      });

      test('release gives back the running jobs of one holder at once, and only those', async (t) => {
        const s = await fresh(t);
        for (const k of ['a1', 'a2', 'b1', 'q']) await s.jobs.enqueue('sbom', k, '{}', 0);
        const a1 = await s.jobs.claim(claim(['sbom'], 1, 60_000, 'replica-a'));
        const a2 = await s.jobs.claim(claim(['sbom'], 1, 60_000, 'replica-a'));
        const b1 = await s.jobs.claim(claim(['sbom'], 1, 60_000, 'replica-b'));
        await s.jobs.complete(a2!.id, 'replica-a', 2);
        assert.equal(await s.jobs.release('replica-a', 3), 1, 'one job of replica-a was running');
        const back = await s.jobs.get('sbom', a1!.key);
        assert.deepEqual([back?.state, back?.attempts, back?.runAfter], ['queued', 1, 3]);
        assert.match(back?.error ?? '', /interrupted/);
        assert.equal((await s.jobs.get('sbom', a2!.key))?.state, 'done');
        assert.equal((await s.jobs.get('sbom', b1!.key))?.state, 'running', "another replica's job is left alone");
        assert.equal((await s.jobs.get('sbom', 'q'))?.state, 'queued', 'a queued job is left alone');
        const next = [await s.jobs.claim(claim(['sbom'], 3, 60_000, 'replica-a')), await s.jobs.claim(claim(['sbom'], 3, 60_000, 'replica-a'))];
        const again = next.find((j) => j?.id === a1?.id);
        assert.ok(again !== undefined, 'due at once, well before its lease would have lapsed');
        assert.equal(again.attempts, 2);
      });

      test('giveBack returns a running job to the queue, due now, its attempt not counted; only its holder can', async (t) => {
        const s = await fresh(t);
        await s.jobs.enqueue('scan', 'k', '{}', 0);
        const j = await s.jobs.claim(claim(['scan'], 1, 60_000, 'replica-a'));
        assert.equal(j?.attempts, 1);
        assert.equal(await s.jobs.giveBack(j!.id, 'replica-b', 2), false);
        assert.equal(await s.jobs.giveBack(j!.id, 'replica-a', 2), true);
        const back = await s.jobs.get('scan', 'k');
        assert.deepEqual([back?.state, back?.attempts, back?.runAfter], ['queued', 0, 2]);
        assert.equal(await s.jobs.giveBack(j!.id, 'replica-a', 3), false, 'no longer running');
        assert.equal((await s.jobs.claim(claim(['scan'], 2, 60_000, 'replica-a')))?.attempts, 1);
      });

      test('a job claimed maxAttempts times without finishing is failed for good, not claimed again', async (t) => {
        const s = await fresh(t);
        await s.jobs.enqueue('scan', 'bomb', '{}', 0);
        let now = 1;
        for (let i = 1; i <= 3; i++) {
          const j = await s.jobs.claim(claim(['scan'], now, 1000, 'replica-a', 3));
          assert.equal(j?.key, 'bomb');
          assert.equal(j?.attempts, i);
          // The process dies (no complete, no fail); it restarts and gives the job back.
          await s.jobs.release('replica-a', now + 1);
          now += 2;
        }
        await s.jobs.enqueue('scan', 'fine', '{}', now);
        const next = await s.jobs.claim(claim(['scan'], now, 1000, 'replica-a', 3));
        assert.equal(next?.key, 'fine', 'the job that ended its process three times is skipped');
        const bomb = await s.jobs.get('scan', 'bomb');
        assert.equal(bomb?.state, 'failed');
        assert.match(bomb?.error ?? '', /tried 3 times; the last run ended with the process running it/);
        // A lapsed lease at the last attempt ends the same way.
        const lapsed = await s.jobs.claim(claim(['scan'], now + 5000, 1000, 'replica-b', 1));
        assert.equal(lapsed, undefined);
        assert.equal((await s.jobs.get('scan', 'fine'))?.state, 'failed');
      });

      test('concurrent claims never hand one job to two workers', async (t) => {
        const s = await fresh(t);
        for (let i = 0; i < 20; i++) await s.jobs.enqueue('sbom', `k${i}`, '{}', 0);
        const claims = await Promise.all(Array.from({ length: 30 }, () => s.jobs.claim(claim(['sbom'], 1, 60_000))));
        const ids = claims.filter((c) => c !== undefined).map((c) => c.id);
        assert.equal(ids.length, 20);
        assert.equal(new Set(ids).size, 20);
      });
    });

    // ------------------------------------------------------------ scan results
    describe('scan results', () => {
      const summary = {
        vulnerabilities: { critical: 1, high: 2, medium: 3, low: 4, unknown: 5, fixable: 6 },
        secrets: { critical: 7, high: 0, medium: 0, low: 0, unknown: 1 },
        misconfigurations: { critical: 0, high: 1, medium: 2, low: 3, unknown: 0 },
      };

      const refs = (...n: number[]): Uint32Array => Uint32Array.from(n);
      const none = { vulnerabilities: refs() };

      test('put records a summary and its state per image and replaces them; get, list and evaluation read them back', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        const [a, b] = [manifest('a'), manifest('b')];
        await putStored(s, 'team/app', a);
        await putStored(s, 'team/app', b);
        const report = freshDigest();
        assert.equal(await s.scans.get('team/app', a.digest), undefined);
        assert.equal(await s.scans.evaluation('team/app', a.digest), undefined);
        const first = { repository: 'team/app', digest: a.digest, dbBuiltAt: null, scannedAt: 1_000, summary, reportDigest: report, warnings: ['layer 2 (sha256:0123456789ab): a foreign layer (urls) that team/app does not hold; not read'] };
        assert.equal(await s.scans.put(first, { vulnerabilities: refs(3, 70000, 2 ** 32 - 1), keys: refs(5, 2, 9, 1) }), true);
        assert.deepEqual(await s.scans.get('team/app', a.digest), first);
        const e = await s.scans.evaluation('team/app', a.digest);
        assert.deepEqual(e, { record: first, vulnerabilities: refs(3, 70000, 2 ** 32 - 1), keys: refs(5, 2, 9, 1) }, 'every uint32 kept');
        const second = { ...first, dbBuiltAt: '2024-05-01T00:00:00.000Z', scannedAt: 2_000, summary: { ...summary, vulnerabilities: { ...summary.vulnerabilities, critical: 0 } }, warnings: [] };
        assert.equal(await s.scans.put(second, { vulnerabilities: refs(4) }), true);
        assert.deepEqual(await s.scans.evaluation('team/app', a.digest), { record: second, vulnerabilities: refs(4), keys: refs(5, 2, 9, 1) }, 'replaced; keys kept when none are given');
        await s.scans.put({ ...first, digest: b.digest }, none);
        assert.deepEqual((await s.scans.list('team/app')).map((r) => r.digest), sorted([a.digest, b.digest]));
        assert.deepEqual((await s.scans.evaluation('team/app', b.digest))?.keys, undefined);
        assert.deepEqual(await s.scans.list('team/other'), []);
      });

      test('a result is refused for an image that is not stored, and goes when its image goes', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        const m = manifest('m');
        const record = { repository: 'team/app', digest: m.digest, dbBuiltAt: null, scannedAt: 1, summary, reportDigest: freshDigest(), warnings: [] };
        const state = { vulnerabilities: refs(1), keys: refs(1, 1) };
        assert.equal(await s.scans.put(record, state), false, 'no such image');
        assert.equal(await s.scans.put({ ...record, repository: 'team/nothing' }, state), false, 'no such repository');
        await putStored(s, 'team/app', m);
        assert.equal(await s.scans.put(record, state), true);
        assert.equal((await s.artifacts.deleteManifest('team/app', m.digest)).kind, 'deleted');
        assert.equal(await s.scans.get('team/app', m.digest), undefined);
        await putStored(s, 'team/app', m);
        assert.equal(await s.scans.evaluation('team/app', m.digest), undefined, 'no state outlives its image');
        assert.equal(await s.scans.put(record, state), true);
        assert.equal(await s.artifacts.deleteRepository('team/app'), true);
        assert.equal(await s.scans.get('team/app', m.digest), undefined);
      });

      test('evaluations pages through every result with its state; unscanned lists images without one', async (t) => {
        const s = await fresh(t);
        const image = 'application/vnd.oci.image.config.v1+json';
        const stored: { repository: string; digest: Digest }[] = [];
        for (const name of ['team/b', 'team/a']) {
          await repo(s, name);
          for (let i = 0; i < 3; i++) {
            const m = manifest(`${name}-${i}`);
            await putStored(s, name, m, { artifactType: image });
            stored.push({ repository: name, digest: m.digest });
          }
        }
        const other = manifest('not an image');
        await putStored(s, 'team/a', other, { artifactType: 'application/sbom' });
        const scanned = stored.slice(0, 4);
        for (const [i, x] of scanned.entries()) {
          const record = { ...x, dbBuiltAt: 'b1', scannedAt: i, summary, reportDigest: freshDigest(), warnings: [] };
          assert.equal(await s.scans.put(record, { vulnerabilities: refs(i), ...(i % 2 === 0 ? { keys: refs(100 + i, 1) } : {}) }), true);
        }
        const seen: string[] = [];
        let pages = 0;
        for (let cursor: string | undefined, first = true; first || cursor !== undefined; first = false) {
          const page = await s.scans.evaluations(cursor, 3);
          pages += 1;
          assert.ok(page.items.length <= 3);
          for (const e of page.items) {
            seen.push(`${e.record.repository}@${e.record.digest} ${e.keys?.join(',') ?? '-'} ${e.vulnerabilities?.join(',')}`);
          }
          cursor = page.next;
        }
        assert.equal(pages, 2);
        assert.deepEqual(sorted(seen), sorted(scanned.map((x, i) => `${x.repository}@${x.digest} ${i % 2 === 0 ? `${100 + i},1` : '-'} ${i}`)), 'each result once, with its state');
        const unscanned: string[] = [];
        for (let cursor: string | undefined, first = true; first || cursor !== undefined; first = false) {
          const page = await s.scans.unscanned([image], cursor, 1);
          unscanned.push(...page.items.map((x) => `${x.repository}@${x.digest}`));
          cursor = page.next;
        }
        assert.deepEqual(sorted(unscanned), sorted(stored.slice(4).map((x) => `${x.repository}@${x.digest}`)), 'images only, each once');
        assert.deepEqual((await s.scans.unscanned([], undefined, 10)).items, []);
      });

      test('updateEvaluations rewrites the evaluation of many results at once, keeps the rest, skips the gone', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        const [a, b, gone] = [manifest('a'), manifest('b'), manifest('gone')];
        for (const m of [a, b, gone]) await putStored(s, 'team/app', m);
        const base = { repository: 'team/app', dbBuiltAt: 'b1', scannedAt: 7, summary, warnings: ['kept as it was'] };
        const ra = { ...base, digest: a.digest, reportDigest: freshDigest() };
        const rb = { ...base, digest: b.digest, reportDigest: freshDigest() };
        await s.scans.put(ra, { vulnerabilities: refs(1), keys: refs(7, 1) });
        await s.scans.put(rb, { vulnerabilities: refs(1) });
        await s.scans.put({ ...base, digest: gone.digest, reportDigest: freshDigest() }, none);
        assert.equal((await s.artifacts.deleteManifest('team/app', gone.digest)).kind, 'deleted');
        const counts = { critical: 9, high: 8, medium: 7, low: 6, unknown: 5, fixable: 4 };
        const n = await s.scans.updateEvaluations([
          { repository: 'team/app', digest: a.digest, dbBuiltAt: 'b2', counts, vulnerabilities: refs(2, 3) },
          { repository: 'team/app', digest: b.digest, dbBuiltAt: 'b2', counts, keys: refs(8, 2) },
          { repository: 'team/app', digest: gone.digest, dbBuiltAt: 'b2', counts, vulnerabilities: refs(), keys: refs(1, 1) },
          { repository: 'team/none', digest: a.digest, dbBuiltAt: 'b2', counts, vulnerabilities: refs() },
        ]);
        assert.equal(n, 2);
        const after = { summary: { ...summary, vulnerabilities: counts }, dbBuiltAt: 'b2' };
        assert.deepEqual(await s.scans.evaluation('team/app', a.digest), { record: { ...ra, ...after }, vulnerabilities: refs(2, 3), keys: refs(7, 1) }, 'secrets, misconfigurations, report, scan time and keys kept');
        assert.deepEqual(await s.scans.evaluation('team/app', b.digest), { record: { ...rb, ...after }, vulnerabilities: refs(1), keys: refs(8, 2) }, 'ids kept when none are given');
        assert.equal(await s.scans.evaluation('team/app', gone.digest), undefined);
        assert.equal(await s.scans.updateEvaluations([]), 0);
      });

      test('intern numbers each term once, for good, also when callers race; terms reads them back', async (t) => {
        const s = await fresh(t);
        const many = Array.from({ length: 1200 }, (_, i) => `CVE-2024-${i}`);
        const first = await s.scans.intern(['GHSA-x', 'CVE-1', 'GHSA-x', '0\u007fnpm\u007fa\u007f1']);
        assert.equal(first[0], first[2], 'one number per term');
        assert.equal(new Set(first).size, 3);
        assert.ok(first.every((n) => Number.isInteger(n) && n > 0 && n < 2 ** 32));
        const raced = await Promise.all([s.scans.intern(many), s.scans.intern([...many].reverse()), s.scans.intern(many.slice(600))]);
        assert.deepEqual(raced[1], [...raced[0]].reverse());
        assert.deepEqual(raced[2], raced[0].slice(600));
        assert.equal(new Set(raced[0]).size, many.length);
        assert.deepEqual(await s.scans.intern(['CVE-1']), [first[1]], 'the same number later');
        assert.deepEqual(await s.scans.terms([first[3]!, raced[0][1100]!, 987654321, first[0]!]), ['0\u007fnpm\u007fa\u007f1', 'CVE-2024-1100', undefined, 'GHSA-x']);
        assert.deepEqual(await s.scans.intern([]), []);
      });
    });

    // ------------------------------------------------------------ image documents
    describe('image documents', () => {
      test('put records the document Portcullis made of an image, replaces it, and refuses what is not stored', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        await repo(s, 'team/other');
        const [image, sbom1, sbom2, elsewhere] = [manifest('image'), manifest('sbom 1'), manifest('sbom 2'), manifest('elsewhere')];
        for (const m of [image, sbom1, sbom2]) await putStored(s, 'team/app', m);
        await putStored(s, 'team/other', elsewhere);
        assert.equal(await s.documents.get('team/app', image.digest, 'cyclonedx-json'), undefined);
        assert.equal(await s.documents.put('team/app', image.digest, 'cyclonedx-json', sbom1.digest, 10), true);
        assert.equal(await s.documents.get('team/app', image.digest, 'cyclonedx-json'), sbom1.digest);
        assert.equal(await s.documents.get('team/app', image.digest, 'spdx-json'), undefined, 'per kind');
        assert.equal(await s.documents.get('team/other', image.digest, 'cyclonedx-json'), undefined, 'per repository');
        assert.equal(await s.documents.put('team/app', image.digest, 'cyclonedx-json', sbom2.digest, 11), true);
        assert.equal(await s.documents.get('team/app', image.digest, 'cyclonedx-json'), sbom2.digest, 'replaced');
        assert.equal(await s.documents.put('team/app', image.digest, 'spdx-json', elsewhere.digest, 12), false, 'a document of another repository');
        assert.equal(await s.documents.put('team/app', freshDigest(), 'spdx-json', sbom1.digest, 12), false, 'an image that is not stored');
        assert.equal(await s.documents.put('team/none', image.digest, 'spdx-json', sbom1.digest, 12), false, 'a repository that does not exist');
      });

      test('a document goes with its image, and with its own manifest', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        const [a, b, sa, sb] = [manifest('a'), manifest('b'), manifest('sbom of a'), manifest('sbom of b')];
        for (const m of [a, b, sa, sb]) await putStored(s, 'team/app', m);
        await s.documents.put('team/app', a.digest, 'cyclonedx-json', sa.digest, 1);
        await s.documents.put('team/app', b.digest, 'cyclonedx-json', sb.digest, 1);
        assert.equal((await s.artifacts.deleteManifest('team/app', a.digest)).kind, 'deleted');
        assert.equal((await s.artifacts.deleteManifest('team/app', sb.digest)).kind, 'deleted');
        assert.equal(await s.documents.get('team/app', a.digest, 'cyclonedx-json'), undefined, 'the image went');
        assert.equal(await s.documents.get('team/app', b.digest, 'cyclonedx-json'), undefined, 'the document went');
      });
    });

    // ------------------------------------------------------------ gates
    describe('gates: security team, policies, trusted keys, waivers, promotions', () => {
      test('the security team flag is set at creation or by update, and read back', async (t) => {
        const s = await fresh(t);
        const sam = await s.users.create({ username: 'sam', email: null, admin: false, securityTeam: true, passwordHash: 'h', now: 1 });
        assert.equal(sam.securityTeam, true);
        await s.users.create({ username: 'dev', email: null, admin: false, passwordHash: 'h', now: 1 });
        assert.equal((await s.users.get('dev'))?.securityTeam, false);
        assert.equal((await s.users.update('dev', { securityTeam: true, now: 2 })).securityTeam, true);
        assert.equal((await s.users.update('sam', { securityTeam: false, now: 3 })).securityTeam, false);
      });

      test('a project has one policy document, replaced whole; it goes with the project', async (t) => {
        const s = await fresh(t);
        await s.projects.create({ name: 'prod', public: false, now: 1 });
        assert.equal(await s.policies.get('prod'), undefined);
        assert.equal(await s.policies.put({ project: 'prod', document: '{"a":1}', updatedAt: 5, updatedBy: 'ann' }), true);
        assert.deepEqual(await s.policies.get('prod'), { project: 'prod', document: '{"a":1}', updatedAt: 5, updatedBy: 'ann' });
        assert.equal(await s.policies.put({ project: 'prod', document: '{"b":2}', updatedAt: 6, updatedBy: null }), true);
        assert.deepEqual(await s.policies.get('prod'), { project: 'prod', document: '{"b":2}', updatedAt: 6, updatedBy: null });
        assert.equal(await s.policies.put({ project: 'none', document: '{}', updatedAt: 1, updatedBy: null }), false);
        assert.equal(await s.projects.delete('prod'), true);
        assert.equal(await s.policies.get('prod'), undefined);
      });

      test('trusted keys: one name per project, listed by name, deleted one by one', async (t) => {
        const s = await fresh(t);
        await s.projects.create({ name: 'prod', public: false, now: 1 });
        await s.projects.create({ name: 'dev', public: false, now: 1 });
        const key = (project: string, name: string) => ({ project, name, publicKey: `PEM of ${name}`, createdAt: 3, createdBy: 'ann' });
        assert.equal(await s.trustedKeys.add(key('prod', 'ci')), 'added');
        assert.equal(await s.trustedKeys.add(key('prod', 'ci')), 'exists');
        assert.equal(await s.trustedKeys.add(key('prod', 'alt')), 'added');
        assert.equal(await s.trustedKeys.add(key('dev', 'ci')), 'added', 'names are per project');
        assert.equal(await s.trustedKeys.add(key('none', 'ci')), 'no-project');
        assert.deepEqual(await s.trustedKeys.list('prod'), [key('prod', 'alt'), key('prod', 'ci')]);
        assert.equal(await s.trustedKeys.delete('prod', 'ci'), true);
        assert.equal(await s.trustedKeys.delete('prod', 'ci'), false);
        assert.deepEqual((await s.trustedKeys.list('prod')).map((k) => k.name), ['alt']);
        assert.deepEqual((await s.trustedKeys.list('dev')).map((k) => k.name), ['ci']);
      });

      test('waivers: requested pending, decided once (atomically), listed newest first, active while approved and unexpired', async (t) => {
        const s = await fresh(t);
        await s.projects.create({ name: 'prod', public: false, now: 1 });
        const digest = freshDigest();
        const base = { project: 'prod', repository: 'prod/app', digest, ids: ['CVE-2024-1', 'CVE-2024-2'], reason: 'not reachable', requestedBy: 'dev', requestedAt: 10, expiresAt: 1_000 };
        const w = await s.waivers.create(base);
        assert.deepEqual(w, { ...base, id: w!.id, state: 'pending', decidedBy: null, decidedAt: null, comment: null });
        assert.equal(await s.waivers.create({ ...base, project: 'none' }), undefined);
        const wide = await s.waivers.create({ ...base, repository: null, digest: null, ids: ['GHSA-x'], expiresAt: 500 });
        assert.deepEqual(await s.waivers.active('prod', 20), [], 'pending waivers suppress nothing');
        const decisions = await Promise.all([s.waivers.decide(w!.id, 'approved', 'sec1', 'ok', 30), s.waivers.decide(w!.id, 'rejected', 'sec2', 'no', 31)]);
        assert.equal(decisions.filter((d) => d === 'not-pending').length, 1, 'one decision wins');
        const approved = decisions.find((d) => d !== 'not-pending') as Exclude<(typeof decisions)[number], 'not-pending' | undefined>;
        assert.ok(approved !== undefined && (approved.state === 'approved' || approved.state === 'rejected'));
        assert.equal(await s.waivers.decide(9_999, 'approved', 'sec', null, 1), undefined);
        await s.waivers.decide(wide!.id, 'approved', 'sec1', null, 40);
        const active = await s.waivers.active('prod', 100);
        assert.deepEqual(active.map((x) => x.id).sort(), (approved.state === 'approved' ? [w!.id, wide!.id] : [wide!.id]).sort());
        assert.deepEqual((await s.waivers.active('prod', 600)).map((x) => x.id), approved.state === 'approved' ? [w!.id] : [], 'the wide one expired at 500');
        assert.deepEqual((await s.waivers.list({ project: 'prod', limit: 10 })).map((x) => x.id), [wide!.id, w!.id]);
        assert.deepEqual((await s.waivers.list({ state: 'pending', limit: 10 })).map((x) => x.id), []);
        assert.deepEqual((await s.waivers.get(wide!.id))?.ids, ['GHSA-x']);
      });

      test('promotions are recorded with their gates and listed newest first, per target project', async (t) => {
        const s = await fresh(t);
        const gates = [{ gate: 'severity', passed: false, reason: '1 critical', ids: ['CVE-1'] }];
        const d = freshDigest();
        const a = await s.promotions.record({ source: 'staging/app', sourceDigest: d, target: 'prod/app', targetTag: '1.0', targetProject: 'prod', actor: 'ci', outcome: 'refused', gates, signature: null, createdAt: 1 });
        const b = await s.promotions.record({ source: 'staging/app', sourceDigest: d, target: 'prod/app', targetTag: '1.0', targetProject: 'prod', actor: 'ci', outcome: 'promoted', gates: [], signature: freshDigest(), createdAt: 2 });
        await s.promotions.record({ source: 'staging/app', sourceDigest: d, target: 'qa/app', targetTag: null, targetProject: 'qa', actor: null, outcome: 'promoted', gates: [], signature: null, createdAt: 3 });
        assert.deepEqual(a.gates, gates);
        assert.deepEqual((await s.promotions.list({ project: 'prod', limit: 10 })).map((p) => [p.id, p.outcome]), [
          [b.id, 'promoted'],
          [a.id, 'refused'],
        ]);
        assert.equal((await s.promotions.list({ limit: 10 })).length, 3);
        const other = await s.promotions.record({ source: 'staging/other', sourceDigest: freshDigest(), target: 'prod/other', targetTag: '2.0', targetProject: 'prod', actor: 'ci', outcome: 'promoted', gates: [], signature: null, createdAt: 4 });
        assert.deepEqual((await s.promotions.list({ digest: d, limit: 10 })).map((p) => p.targetProject), ['qa', 'prod', 'prod'], 'of one digest, newest first');
        assert.deepEqual((await s.promotions.list({ project: 'prod', digest: other.sourceDigest, limit: 10 })).map((p) => p.id), [other.id]);
        assert.deepEqual(await s.promotions.list({ project: 'qa', digest: other.sourceDigest, limit: 10 }), []);
      });
    });

    // ------------------------------------------------------------ signing keys
    describe('signing keys', () => {
      test('a project holds one signing key: put replaces it, delete removes it, and it goes with the project', async (t) => {
        const s = await fresh(t);
        await s.projects.create({ name: 'team', public: false, now: 1 });
        assert.equal(await s.signingKeys.get('team'), undefined);
        const first = { project: 'team', encryptedKey: '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nA\n', publicKey: '-----BEGIN PUBLIC KEY-----\nB\n', createdAt: 10 };
        assert.equal(await s.signingKeys.put(first), true);
        assert.deepEqual(await s.signingKeys.get('team'), first);
        const second = { ...first, encryptedKey: 'C', publicKey: 'D', createdAt: 20 };
        assert.equal(await s.signingKeys.put(second), true);
        assert.deepEqual(await s.signingKeys.get('team'), second);
        assert.equal(await s.signingKeys.put({ ...first, project: 'nobody' }), false, 'no such project');
        assert.equal(await s.signingKeys.get('nobody'), undefined);
        assert.equal(await s.signingKeys.delete('team'), true);
        assert.equal(await s.signingKeys.delete('team'), false);
        assert.equal(await s.signingKeys.get('team'), undefined);
        await s.signingKeys.put(first);
        assert.equal(await s.projects.delete('team'), true);
        await s.projects.create({ name: 'team', public: false, now: 2 });
        assert.equal(await s.signingKeys.get('team'), undefined, 'a new project of the same name has no key');
      });
    });

    // ------------------------------------------------------------ settings
    describe('settings', () => {
      test('putIfAbsent keeps the first value; put overwrites', async (t) => {
        const s = await fresh(t);
        assert.equal(await s.settings.get('k'), undefined);
        assert.equal(await s.settings.putIfAbsent('k', 'first'), 'first');
        assert.equal(await s.settings.putIfAbsent('k', 'second'), 'first');
        assert.equal(await s.settings.get('k'), 'first');
        await s.settings.put('k', 'third');
        assert.equal(await s.settings.get('k'), 'third');
        await s.settings.put('new', 'v');
        assert.equal(await s.settings.get('new'), 'v');
        const raced = await Promise.all([s.settings.putIfAbsent('race', 'a'), s.settings.putIfAbsent('race', 'b')]);
        assert.equal(raced[0], raced[1], 'both callers see the one stored value');
        assert.equal(await s.settings.get('race'), raced[0]);
      });
    });

    // ------------------------------------------------------------ concurrency
    describe('concurrency', () => {
      test('GC locking: a manifest PUT racing a claim of its blob never both win (30 rounds)', async (t) => {
        const s = await fresh(t);
        await repo(s, 'team/app');
        const rounds = 30;
        let stored = 0;
        let claimed = 0;
        for (let i = 0; i < rounds; i++) {
          const d = await blob(s, 'team/app', { now: 1_000, size: 10 });
          const m = manifest(`round-${i}`);
          const [put, claim] = await Promise.allSettled([s.artifacts.putManifest(putInput('team/app', m, { blobs: [d], blobBytes: 10, now: 9_000 })), s.gc.claim(d, 5_000)]);
          if (put.status === 'rejected') assert.fail(`round ${i}: putManifest rejected: ${String(put.reason)}`);
          if (claim.status === 'rejected') assert.fail(`round ${i}: claim rejected: ${String(claim.reason)}`);
          const manifestStored = put.value.kind === 'stored';
          assert.ok(!(manifestStored && claim.value), `round ${i}: the manifest was stored AND its blob claimed for deletion`);
          if (manifestStored) {
            assert.equal(claim.value, false, `round ${i}`);
            stored++;
            assert.equal(await s.blobs.linked('team/app', d), 10);
            assert.ok(await s.artifacts.getManifest('team/app', m.digest, false));
          } else {
            assert.equal(claim.value, true, `round ${i}: neither the PUT nor the claim won (${JSON.stringify(put.value)})`);
            assert.deepEqual(put.value, { kind: 'missing', blobs: [d], manifests: [] }, `round ${i}`);
            claimed++;
            assert.equal(await s.artifacts.getManifest('team/app', m.digest, false), undefined);
          }
        }
        assert.equal(stored + claimed, rounds);
        t.diagnostic(`${stored} PUTs won, ${claimed} claims won`);
      });

      test('concurrent transactions do not collide', async (t) => {
        const s = await fresh(t);
        await s.projects.create({ name: 'team', public: false, now: 1 });
        const results = await Promise.allSettled(
          ['r1', 'r2', 'r3'].map((name) =>
            s.robots.create({ name, description: '', secretHash: 'h', permissions: [{ project: 'team', actions: ['pull'] }], createdBy: null, expiresAt: null, now: 1 }),
          ),
        );
        for (const r of results) if (r.status === 'rejected') assert.fail(`a concurrent robots.create failed: ${String(r.reason)}`);
        assert.deepEqual(
          (await s.robots.list()).map((r) => r.name),
          ['r1', 'r2', 'r3'],
        );
      });

      test('a write outside a transaction survives a concurrent transaction that rolls back', async (t) => {
        const s = await fresh(t);
        const [robot, user] = await Promise.allSettled([
          s.robots.create({ name: 'ci', description: '', secretHash: 'h', permissions: [{ project: 'ghost', actions: ['pull'] }], createdBy: null, expiresAt: null, now: 1 }),
          s.users.create({ username: 'amy', email: null, admin: false, passwordHash: 'h', now: 1 }),
        ]);
        assert.equal(robot.status, 'rejected');
        assert.equal(user.status, 'fulfilled');
        assert.ok(await s.users.get('amy'), 'users.create resolved, but the user is gone: it was rolled back with the robot transaction');
        assert.equal(await s.robots.get('ci'), undefined);
      });
    });
  });
}
