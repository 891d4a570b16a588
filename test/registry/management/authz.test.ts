// Authorization on every route, tested: every route the management API registers, against every
// kind of caller, with the status the access rules give. A final check fails when a route is added
// without a row here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { addMember, basicAuth, createProject, createRobot, createUser, startTestServer, type TestServer } from '../../helpers/server.js';
import { call, pushImage } from './fixtures.js';
import { EXTRA_ROWS } from './authz-rows.js';
import { WHO, type Expect, type Method, type Req, type Row, type RowContext, type Who } from './authz-types.js';

/** Project roles of the member principals, in `team` (and in `open`, the public project). */
const ROLES: Partial<Record<Who, string>> = { guest: 'guest', developer: 'developer', maintainer: 'maintainer', projectAdmin: 'project-admin' };
const USERNAME: Partial<Record<Who, string>> = { outsider: 'outsider', guest: 'guest1', developer: 'dev1', maintainer: 'maint1', projectAdmin: 'padmin1', admin: 'admin' };
const passwordOf = (who: Who) => (who === 'admin' ? 'admin-password-1' : `${USERNAME[who]}-password`);

let counter = 0;
const fresh = (prefix: string) => `${prefix}${++counter}x${process.pid}`;

interface World {
  readonly s: TestServer;
  readonly auth: Record<Who, string | undefined>;
  readonly robotSecret: string;
}

async function setUp(s: TestServer): Promise<World> {
  for (const who of WHO) {
    const name = USERNAME[who];
    if (name !== undefined && who !== 'admin') await createUser(s, name, passwordOf(who));
  }
  await createUser(s, 'target', 'target-password');
  await createUser(s, 'bystander', 'bystander-password');
  for (const project of ['team', 'open']) {
    await createProject(s, project, project === 'open');
    for (const [who, role] of Object.entries(ROLES)) await addMember(s, project, USERNAME[who as Who]!, role);
    await pushImage(s, `${project}/app`, 'latest');
  }
  const robot = await createRobot(s, 'ci', [{ project: 'team', actions: ['pull', 'push'] }]);
  assert.equal(robot.name, 'robot$ci');
  // One real collection, so GET /api/v1/system/gc has a report to return.
  const gc = await s.admin('/api/v1/system/gc', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  assert.equal(gc.status, 200, await gc.text());
  const auth = {} as Record<Who, string | undefined>;
  for (const who of WHO) {
    auth[who] = who === 'anonymous' ? undefined : who === 'robot' ? basicAuth(robot.name, robot.secret) : basicAuth(USERNAME[who]!, passwordOf(who));
  }
  return { s, auth, robotSecret: robot.secret };
}

/** The account's own username (robots and anonymous callers have none of their own in /users). */
const selfName = (who: Who) => (who === 'anonymous' ? 'nobody' : who === 'robot' ? 'robot$ci' : USERNAME[who]!);

function rowsFor(w: World, project: string): Row[] {
  const { s, robotSecret } = w;
  const json = { 'Content-Type': 'application/json' };
  /** A fresh project with the same memberships as `project`. */
  const freshProject = async () => {
    const name = fresh('p');
    await createProject(s, name, project === 'open');
    for (const [who, role] of Object.entries(ROLES)) await addMember(s, name, USERNAME[who as Who]!, role);
    return name;
  };
  const freshRepo = async () => {
    const repo = fresh('r');
    await pushImage(s, `${project}/${repo}`, 'latest', { layers: [10] });
    return repo;
  };
  const freshRobot = async () => (await createRobot(s, fresh('bot'), [{ project: 'team', actions: ['pull'] }])).name;
  const freshMember = async () => {
    const name = fresh('m');
    const r = await s.admin('/api/v1/users', { method: 'POST', headers: json, body: JSON.stringify({ username: name, password: 'member-password' }) });
    assert.equal(r.status, 201);
    await addMember(s, project, name, 'guest');
    return name;
  };
  const P = `/api/v1/projects/${project}`;
  /** The project's signing key exists (created, or replaced, by the administrator). */
  const withKey = async <T>(req: T): Promise<T> => {
    const r = await s.admin(`${P}/signing-key`, { method: 'POST', headers: json, body: '{}' });
    assert.equal(r.status, 201, await r.text());
    return req;
  };
  async function resourceGone(req: Req, status: number): Promise<void> {
    const res = await call(s, s.adminAuth, 'GET', req.path);
    await res.arrayBuffer();
    if (status === 409) assert.equal(res.status, 200, `${req.path} went although its deletion was refused with 409`);
    else assert.equal(res.status, status < 300 ? 404 : 200, `${req.path} after DELETE answered ${status}`);
  }

  async function memberGone(req: Req, status: number): Promise<void> {
    const [path, username] = [req.path.slice(0, req.path.lastIndexOf('/')), req.path.slice(req.path.lastIndexOf('/') + 1)];
    const members = (await (await call(s, s.adminAuth, 'GET', path)).json()) as { username: string }[];
    assert.equal(members.some((m) => m.username === username), status >= 300, `membership of ${username} after DELETE answered ${status}`);
  }
  const row = (method: Method, route: string, note: string, request: Row['request'], expect: Expect): Row => ({
    method,
    route,
    note,
    request,
    expect,
    // Deletions: the resource is gone exactly when the request succeeded.
    ...(method === 'DELETE' ? { verify: route.endsWith('/members/:username') ? memberGone : resourceGone } : {}),
  });

  const ctx: RowContext = { s, project, P, row, fresh, freshProject, freshRepo };
  const extra = EXTRA_ROWS.flatMap((rows) => rows(ctx));

  if (project === 'open') {
    // The public project: visible to everyone, so callers without a role get 403 rather than 404.
    //                                                                                                         anon out  gst  dev  mnt  padm robot admin
    return [
      row('GET', '/api/v1/projects/:project', '', () => ({ path: P }), /*                                     */ [200, 200, 200, 200, 200, 200, 200, 200]),
      row('PATCH', '/api/v1/projects/:project', '', () => ({ path: P, body: { public: true } }), /*             */ [401, 403, 403, 403, 403, 200, 403, 200]),
      row('DELETE', '/api/v1/projects/:project', 'empty project', async () => ({ path: `/api/v1/projects/${await freshProject()}` }), [401, 403, 403, 403, 403, 204, 403, 204]),
      row('GET', '/api/v1/projects/:project/members', '', () => ({ path: `${P}/members` }), /*                 */ [401, 403, 200, 200, 200, 200, 403, 200]),
      row('POST', '/api/v1/projects/:project/members', '', () => ({ path: `${P}/members`, body: { username: 'bystander', role: 'guest' } }), [401, 403, 403, 403, 403, 201, 403, 201]),
      row('PUT', '/api/v1/projects/:project/members/:username', '', () => ({ path: `${P}/members/bystander`, body: { role: 'guest' } }), [401, 403, 403, 403, 403, 200, 403, 200]),
      row('DELETE', '/api/v1/projects/:project/members/:username', '', async () => ({ path: `${P}/members/${await freshMember()}` }), [401, 403, 403, 403, 403, 204, 403, 204]),
      row('GET', '/api/v1/projects/:project/repositories', '', () => ({ path: `${P}/repositories` }), /*       */ [200, 200, 200, 200, 200, 200, 200, 200]),
      row('GET', '/api/v1/projects/:project/repositories/:repo', '', () => ({ path: `${P}/repositories/app` }), [200, 200, 200, 200, 200, 200, 200, 200]),
      row('DELETE', '/api/v1/projects/:project/repositories/:repo', '', async () => ({ path: `${P}/repositories/${await freshRepo()}` }), [401, 403, 403, 403, 204, 204, 403, 204]),
      row('GET', '/api/v1/projects/:project/repositories/:repo/artifacts', '', () => ({ path: `${P}/repositories/app/artifacts` }), [200, 200, 200, 200, 200, 200, 200, 200]),
      row('GET', '/api/v1/projects/:project/repositories/:repo/artifacts/:reference', '', () => ({ path: `${P}/repositories/app/artifacts/latest` }), [200, 200, 200, 200, 200, 200, 200, 200]),
      // SBOMs are off in this server: the request queues one and answers 202.
      row('GET', '/api/v1/projects/:project/repositories/:repo/artifacts/:reference/sbom', '', () => ({ path: `${P}/repositories/app/artifacts/latest/sbom` }), [202, 202, 202, 202, 202, 202, 202, 202]),
      // Scans are off in this server too: the request queues one and answers 202.
      row('GET', '/api/v1/projects/:project/repositories/:repo/artifacts/:reference/scan', '', () => ({ path: `${P}/repositories/app/artifacts/latest/scan` }), [202, 202, 202, 202, 202, 202, 202, 202]),
      row('GET', '/api/v1/projects/:project/repositories/:repo/artifacts/:reference/scan/report', '', () => ({ path: `${P}/repositories/app/artifacts/latest/scan/report` }), [202, 202, 202, 202, 202, 202, 202, 202]),
      row('DELETE', '/api/v1/projects/:project/repositories/:repo/artifacts/:reference', '', async () => ({ path: `${P}/repositories/${await freshRepo()}/artifacts/latest` }), [401, 403, 403, 403, 204, 204, 403, 204]),
      row('POST', '/api/v1/projects/:project/signing-key', '', () => ({ path: `${P}/signing-key`, body: {} }), /*      */ [401, 403, 403, 403, 403, 201, 403, 201]),
      row('GET', '/api/v1/projects/:project/signing-key', '', () => withKey({ path: `${P}/signing-key` }), /*        */ [200, 200, 200, 200, 200, 200, 200, 200]),
      row('DELETE', '/api/v1/projects/:project/signing-key', '', () => withKey({ path: `${P}/signing-key` }), /*     */ [401, 403, 403, 403, 403, 204, 403, 204]),
      row('POST', '/api/v1/projects/:project/repositories/:repo/artifacts/:reference/sign', '', () => withKey({ path: `${P}/repositories/app/artifacts/latest/sign`, body: {} }), [401, 403, 403, 201, 201, 201, 403, 201]),
      row('GET', '/api/v1/projects/:project/repositories/:repo/artifacts/:reference/signatures', '', () => ({ path: `${P}/repositories/app/artifacts/latest/signatures` }), [200, 200, 200, 200, 200, 200, 200, 200]),
      ...extra,
    ];
  }

  const freshUser = () => fresh('u');
  //                                                                                                                      anon out  gst  dev  mnt  padm robot admin
  return [
    row('GET', '/healthz', '', () => ({ path: '/healthz' }), /*                                                           */ [200, 200, 200, 200, 200, 200, 200, 200]),
    row('GET', '/readyz', '', () => ({ path: '/readyz' }), /*                                                             */ [200, 200, 200, 200, 200, 200, 200, 200]),
    row('GET', '/service/token', 'scope on team', () => ({ path: '/service/token?service=portcullis&scope=repository:team/app:pull' }), [200, 200, 200, 200, 200, 200, 200, 200]),
    row(
      'POST',
      '/service/token',
      'password grant with own credentials',
      (who) => {
        const form = new URLSearchParams({ grant_type: 'password', service: 'portcullis', scope: 'repository:team/app:pull' });
        if (who !== 'anonymous') {
          form.set('username', who === 'robot' ? 'robot$ci' : USERNAME[who]!);
          form.set('password', who === 'robot' ? robotSecret : passwordOf(who));
        }
        return { path: '/service/token', body: form };
      },
      /*                                                                                                                  */ [401, 200, 200, 200, 200, 200, 200, 200],
    ),
    row('GET', '/api/v1/system/info', '', () => ({ path: '/api/v1/system/info' }), /*                                     */ [401, 200, 200, 200, 200, 200, 200, 200]),
    row('POST', '/api/v1/system/gc', 'dry run', () => ({ path: '/api/v1/system/gc', body: { dryRun: true } }), /*          */ [401, 403, 403, 403, 403, 403, 403, 200]),
    row('GET', '/api/v1/system/gc', '', () => ({ path: '/api/v1/system/gc' }), /*                                         */ [401, 403, 403, 403, 403, 403, 403, 200]),
    // No advisory DB in this server: the administrator is let through and told there is nothing to evaluate against.
    row('POST', '/api/v1/system/vulndb/reevaluate', 'no advisory DB', () => ({ path: '/api/v1/system/vulndb/reevaluate' }), [401, 403, 403, 403, 403, 403, 403, 409]),
    // Its age and feed status for any signed-in account (robots too); updates are off in this server.
    row('GET', '/api/v1/system/vulndb', 'no advisory DB', () => ({ path: '/api/v1/system/vulndb' }), /*                  */ [401, 200, 200, 200, 200, 200, 200, 200]),
    row('POST', '/api/v1/system/vulndb/update', 'updates off', () => ({ path: '/api/v1/system/vulndb/update' }), /*      */ [401, 403, 403, 403, 403, 403, 403, 409]),

    row('GET', '/api/v1/users/current', '', () => ({ path: '/api/v1/users/current' }), /*                                 */ [401, 200, 200, 200, 200, 200, 200, 200]),
    row('GET', '/api/v1/users', '', () => ({ path: '/api/v1/users' }), /*                                                 */ [401, 403, 403, 403, 403, 403, 403, 200]),
    row('POST', '/api/v1/users', 'new user', () => ({ path: '/api/v1/users', body: { username: freshUser(), password: 'new-user-password' } }), [401, 403, 403, 403, 403, 403, 403, 201]),
    row('GET', '/api/v1/users/:username', 'another user', () => ({ path: '/api/v1/users/target' }), /*                   */ [401, 403, 403, 403, 403, 403, 403, 200]),
    row('GET', '/api/v1/users/:username', 'self', (who) => ({ path: `/api/v1/users/${selfName(who)}` }), /*              */ [401, 200, 200, 200, 200, 200, 403, 200]),
    row('PATCH', '/api/v1/users/:username', 'another user', () => ({ path: '/api/v1/users/target', body: { email: 'target@example.com' } }), [401, 403, 403, 403, 403, 403, 403, 200]),
    row('PATCH', '/api/v1/users/:username', 'self, email', (who) => ({ path: `/api/v1/users/${selfName(who)}`, body: { email: 'me@example.com' } }), [401, 200, 200, 200, 200, 200, 403, 200]),
    row('PATCH', '/api/v1/users/:username', 'self, admin: true', (who) => ({ path: `/api/v1/users/${selfName(who)}`, body: { admin: true } }), [401, 403, 403, 403, 403, 403, 403, 200]),
    row('PUT', '/api/v1/users/:username/password', 'another user', () => ({ path: '/api/v1/users/target/password', body: { newPassword: 'target-password' } }), [401, 403, 403, 403, 403, 403, 403, 204]),
    row(
      'PUT',
      '/api/v1/users/:username/password',
      'self, with the right oldPassword',
      (who) => ({ path: `/api/v1/users/${selfName(who)}/password`, body: { oldPassword: who === 'robot' ? robotSecret : passwordOf(who), newPassword: who === 'robot' || who === 'anonymous' ? 'whatever-long' : passwordOf(who) } }),
      /*                                                                                                                  */ [401, 204, 204, 204, 204, 204, 403, 204],
    ),
    row(
      'DELETE',
      '/api/v1/users/:username',
      'another user',
      async () => {
        const name = freshUser();
        const r = await s.admin('/api/v1/users', { method: 'POST', headers: json, body: JSON.stringify({ username: name, password: 'victim-password' }) });
        assert.equal(r.status, 201);
        return { path: `/api/v1/users/${name}` };
      },
      /*                                                                                                                  */ [401, 403, 403, 403, 403, 403, 403, 204],
    ),

    row('GET', '/api/v1/projects', '', () => ({ path: '/api/v1/projects' }), /*                                           */ [200, 200, 200, 200, 200, 200, 200, 200]),
    row('POST', '/api/v1/projects', 'new project', () => ({ path: '/api/v1/projects', body: { name: fresh('np') } }), /*   */ [401, 201, 201, 201, 201, 201, 403, 201]),
    row('GET', '/api/v1/projects/:project', '', () => ({ path: P }), /*                                                   */ [401, 404, 200, 200, 200, 200, 200, 200]),
    row('PATCH', '/api/v1/projects/:project', '', () => ({ path: P, body: { public: false } }), /*                          */ [401, 404, 403, 403, 403, 200, 403, 200]),
    row('DELETE', '/api/v1/projects/:project', 'still has repositories', () => ({ path: P }), /*                           */ [401, 404, 403, 403, 403, 409, 403, 409]),
    row('DELETE', '/api/v1/projects/:project', 'empty project', async () => ({ path: `/api/v1/projects/${await freshProject()}` }), [401, 404, 403, 403, 403, 204, 404, 204]),
    row('GET', '/api/v1/projects/:project/members', '', () => ({ path: `${P}/members` }), /*                               */ [401, 404, 200, 200, 200, 200, 403, 200]),
    row('POST', '/api/v1/projects/:project/members', '', () => ({ path: `${P}/members`, body: { username: 'bystander', role: 'guest' } }), [401, 404, 403, 403, 403, 201, 403, 201]),
    row('PUT', '/api/v1/projects/:project/members/:username', '', () => ({ path: `${P}/members/bystander`, body: { role: 'guest' } }), [401, 404, 403, 403, 403, 200, 403, 200]),
    row('DELETE', '/api/v1/projects/:project/members/:username', '', async () => ({ path: `${P}/members/${await freshMember()}` }), [401, 404, 403, 403, 403, 204, 403, 204]),
    row('GET', '/api/v1/projects/:project/repositories', '', () => ({ path: `${P}/repositories` }), /*                     */ [401, 404, 200, 200, 200, 200, 200, 200]),
    row('GET', '/api/v1/projects/:project/repositories/:repo', '', () => ({ path: `${P}/repositories/app` }), /*          */ [401, 404, 200, 200, 200, 200, 200, 200]),
    row('DELETE', '/api/v1/projects/:project/repositories/:repo', '', async () => ({ path: `${P}/repositories/${await freshRepo()}` }), [401, 404, 403, 403, 204, 204, 403, 204]),
    row('GET', '/api/v1/projects/:project/repositories/:repo/artifacts', '', () => ({ path: `${P}/repositories/app/artifacts` }), [401, 404, 200, 200, 200, 200, 200, 200]),
    row('GET', '/api/v1/projects/:project/repositories/:repo/artifacts/:reference', '', () => ({ path: `${P}/repositories/app/artifacts/latest` }), [401, 404, 200, 200, 200, 200, 200, 200]),
    row('GET', '/api/v1/projects/:project/repositories/:repo/artifacts/:reference/sbom', '', () => ({ path: `${P}/repositories/app/artifacts/latest/sbom` }), [401, 404, 202, 202, 202, 202, 202, 202]),
    row('GET', '/api/v1/projects/:project/repositories/:repo/artifacts/:reference/scan', '', () => ({ path: `${P}/repositories/app/artifacts/latest/scan` }), [401, 404, 202, 202, 202, 202, 202, 202]),
    row('GET', '/api/v1/projects/:project/repositories/:repo/artifacts/:reference/scan/report', '', () => ({ path: `${P}/repositories/app/artifacts/latest/scan/report` }), [401, 404, 202, 202, 202, 202, 202, 202]),
    row('DELETE', '/api/v1/projects/:project/repositories/:repo/artifacts/:reference', '', async () => ({ path: `${P}/repositories/${await freshRepo()}/artifacts/latest` }), [401, 404, 403, 403, 204, 204, 403, 204]),
    row('POST', '/api/v1/projects/:project/signing-key', '', () => ({ path: `${P}/signing-key`, body: {} }), /*        */ [401, 404, 403, 403, 403, 201, 403, 201]),
    row('GET', '/api/v1/projects/:project/signing-key', '', () => withKey({ path: `${P}/signing-key` }), /*          */ [401, 404, 200, 200, 200, 200, 200, 200]),
    row('DELETE', '/api/v1/projects/:project/signing-key', '', () => withKey({ path: `${P}/signing-key` }), /*       */ [401, 404, 403, 403, 403, 204, 403, 204]),
    row('POST', '/api/v1/projects/:project/repositories/:repo/artifacts/:reference/sign', '', () => withKey({ path: `${P}/repositories/app/artifacts/latest/sign`, body: {} }), [401, 404, 403, 201, 201, 201, 201, 201]),
    row('GET', '/api/v1/projects/:project/repositories/:repo/artifacts/:reference/signatures', '', () => ({ path: `${P}/repositories/app/artifacts/latest/signatures` }), [401, 404, 200, 200, 200, 200, 200, 200]),

    row('GET', '/api/v1/robots', '', () => ({ path: '/api/v1/robots' }), /*                                               */ [401, 200, 200, 200, 200, 200, 403, 200]),
    row('POST', '/api/v1/robots', 'pull on team', () => ({ path: '/api/v1/robots', body: { name: fresh('bot'), permissions: [{ project: 'team', actions: ['pull'] }] } }), [401, 403, 403, 403, 403, 201, 403, 201]),
    row('GET', '/api/v1/robots/:name', '', () => ({ path: '/api/v1/robots/ci' }), /*                                      */ [401, 404, 404, 404, 404, 200, 403, 200]),
    row('PATCH', '/api/v1/robots/:name', 'description', () => ({ path: '/api/v1/robots/robot$ci', body: { description: 'the CI robot' } }), [401, 404, 404, 404, 404, 200, 403, 200]),
    row('POST', '/api/v1/robots/:name/secret', '', async () => ({ path: `/api/v1/robots/${await freshRobot()}/secret` }), [401, 404, 404, 404, 404, 200, 403, 200]),
    row('DELETE', '/api/v1/robots/:name', '', async () => ({ path: `/api/v1/robots/${await freshRobot()}` }), /*          */ [401, 404, 404, 404, 404, 204, 403, 204]),
    ...extra,
  ];
}

function routeRegex(route: string): RegExp {
  return new RegExp(`^${route.replace(/:[A-Za-z]+/g, '[^/]+')}$`);
}

/** Every (method, route) the management API registers on a fresh fastify app. */
async function registeredRoutes(s: TestServer): Promise<Set<string>> {
  const app = Fastify();
  const routes: { method: string; url: string }[] = [];
  app.addHook('onRoute', (r) => {
    for (const m of Array.isArray(r.method) ? r.method : [r.method]) routes.push({ method: m, url: r.url });
  });
  s.server.registry.registerManagementApi(app);
  await app.ready();
  await app.close();
  const gets = new Set(routes.filter((r) => r.method === 'GET').map((r) => r.url));
  const out = new Set<string>();
  for (const r of routes) {
    // fastify adds HEAD for every GET by itself; those answer like the GET.
    if (r.method === 'HEAD' && gets.has(r.url)) continue;
    out.add(`${r.method} ${r.url}`);
  }
  return out;
}

test('authorization on every route, tested', { timeout: 120_000 }, async (t) => {
  const s = await startTestServer(t, { config: { auth: { maxFailedLogins: 1000 } } });
  const world = await setUp(s);
  const privateRows = rowsFor(world, 'team');
  const publicRows = rowsFor(world, 'open');
  const staticRoutes = new Set(privateRows.map((r) => r.route).filter((r) => !r.includes(':')));

  const run = async (r: Row, who: Who): Promise<number> => {
    const req = await r.request(who);
    // The path must reach the route the row names, not a neighbour (e.g. /users/current vs /users/:username).
    const bare = req.path.split('?')[0]!;
    assert.match(bare, routeRegex(r.route), `${r.method} ${req.path} does not match ${r.route}`);
    if (r.route.includes(':')) assert.ok(!staticRoutes.has(bare), `${req.path} would hit the static route ${bare}`);
    const res = await call(s, world.auth[who], r.method, req.path, req.body);
    await res.arrayBuffer();
    await r.verify?.(req, res.status);
    if (res.status === 401) assert.match(res.headers.get('www-authenticate') ?? '', /^Basic /, `${r.method} ${req.path} as ${who}: 401 without a Basic challenge`);
    return res.status;
  };

  const table = async (rows: readonly Row[], label: string, whos: readonly Who[]) => {
    for (const r of rows) {
      await t.test(`${label}: ${r.method} ${r.route}${r.note ? ` (${r.note})` : ''}`, async () => {
        const actual: Record<string, number> = {};
        const expected: Record<string, number> = {};
        for (const who of whos) {
          expected[who] = r.expect[WHO.indexOf(who)]!;
          actual[who] = await run(r, who);
        }
        assert.deepEqual(actual, expected);
      });
    }
  };

  await table(privateRows, 'private project team', WHO);
  // Anonymous callers on the public project are checked on their own below.
  await table(publicRows, 'public project open', WHO.filter((w) => w !== 'anonymous'));

  await t.test('public project open, anonymous: reads succeed, everything else asks to sign in (401), as on a private project', async () => {
    const actual: Record<string, number> = {};
    const expected: Record<string, number> = {};
    for (const r of publicRows) {
      const key = `${r.method} ${r.route}${r.note ? ` (${r.note})` : ''}`;
      expected[key] = r.expect[0];
      actual[key] = await run(r, 'anonymous');
    }
    assert.deepEqual(actual, expected);
  });

  await t.test('the table covers every registered route, and nothing else', async () => {
    const registered = await registeredRoutes(s);
    const covered = new Set(privateRows.map((r) => `${r.method} ${r.route}`));
    const missing = [...registered].filter((r) => !covered.has(r)).sort();
    const stale = [...covered].filter((r) => !registered.has(r)).sort();
    assert.deepEqual(missing, [], `routes without a row in the authorization table: ${missing.join(', ')}`);
    assert.deepEqual(stale, [], `rows for routes that are not registered: ${stale.join(', ')}`);
    assert.ok(registered.size >= 30, `only ${registered.size} routes found: is the onRoute hook seeing them?`);
    // Every project-scoped route also has a row for the public project.
    const publicCovered = new Set(publicRows.map((r) => `${r.method} ${r.route}`));
    const projectScoped = [...registered].filter((r) => r.includes('/api/v1/projects/:project'));
    assert.deepEqual(projectScoped.filter((r) => !publicCovered.has(r)), []);
  });
});
