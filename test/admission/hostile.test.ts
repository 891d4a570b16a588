/**
 * The webhook under bad input and failing registries: what is no AdmissionReview is a 4xx, a pod
 * it cannot read or judge is denied with the reason, a registry that hangs is given up at the
 * review's deadline and one that fails is a denial; concurrent reviews of one image share one
 * fetch; and whatever breaks inside, the answer is never `allowed: true` by accident.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { cosignSign, newKeyPair } from '../helpers/cosign.js';
import type { Target } from '../helpers/push.js';
import { createProject, startTestServer } from '../helpers/server.js';
import { pushSpec } from '../registry/gates-fixtures.js';
import { admissionReview, startWebhook, workload } from './fixtures.js';

const ci = newKeyPair();
const signedPolicy = (host: string) => `allowedRegistries: [${host}]\nrules:\n  - name: signed\n    images: ["${host}/**"]\n    require: { signatures: { keys: [ci.pub] } }\n`;
const pod = (image: string) => workload('Pod', 'p', 'default', { containers: [image] });

async function listening(t: TestContext, server: Server | ReturnType<typeof createTcpServer>): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('what is no AdmissionReview is refused with a 4xx, and nothing is admitted', { timeout: 30_000 }, async (t) => {
  const hook = await startWebhook(t, { policy: 'defaultAction: allow\n' });
  const review = admissionReview(pod('docker.io/library/nginx:1.25'));
  const body = (over: Record<string, unknown>) => JSON.stringify({ ...review, ...over });
  const request = review['request'] as Record<string, unknown>;
  for (const [what, text, status] of [
    ['not JSON', '{"kind": "AdmissionReview"', 400],
    ['another kind', body({ kind: 'Pod' }), 400],
    ['an older API version', body({ apiVersion: 'admission.k8s.io/v1beta1' }), 400],
    ['no request', body({ request: undefined }), 400],
    ['no uid', body({ request: { ...request, uid: undefined } }), 400],
    ['no kind', body({ request: { ...request, kind: undefined } }), 400],
    ['an unknown operation', body({ request: { ...request, operation: 'PATCH' } }), 400],
    ['a JSON array', '[]', 400],
  ] as const) {
    const res = await hook.post('/validate', text);
    assert.equal(res.status, status, `${what}: ${res.text}`);
    assert.doesNotMatch(res.text, /"allowed":\s*true/, what);
  }
  const big = Buffer.alloc(10 * 1024 * 1024, 0x20);
  assert.equal((await hook.post('/validate', big)).status, 413, 'a 10 MB body');
  assert.equal((await hook.post('/validate', JSON.stringify(review), { 'Content-Type': 'text/plain' })).status, 415);
  assert.equal((await hook.get('/validate')).status, 405);
  assert.equal((await hook.get('/nowhere')).status, 404);
  assert.equal((await hook.get('/healthz')).status, 200);
  assert.equal((await hook.get('/readyz')).status, 200);
  // An object of a judged kind that is malformed is denied, saying what is wrong.
  for (const [what, spec] of [
    ['containers that are no list', { containers: 'nginx' }],
    ['a container without an image', { containers: [{ name: 'x' }] }],
    ['an image that is no string', { containers: [{ name: 'x', image: 42 }] }],
  ] as const) {
    const r = await hook.review('validate', admissionReview({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec }));
    assert.equal(r.allowed, false, what);
    assert.equal(r.status?.code, 400, what);
  }
  const noSpec = await hook.review('validate', admissionReview({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default' }, spec: {} }));
  assert.equal(noSpec.allowed, false);
  assert.match(noSpec.status!.message, /spec\.template\.spec/);
});

test('a registry that hangs is given up at the deadline, one that answers 500 denies: never an accidental allow', { timeout: 30_000 }, async (t) => {
  // Accepts connections and never answers.
  const sockets: Socket[] = [];
  const hanging = createTcpServer((s) => void sockets.push(s));
  t.after(() => sockets.forEach((s) => s.destroy()));
  const hangs = await listening(t, hanging);
  const failing = createHttpServer((_req, res) => {
    res.writeHead(500, { 'Content-Type': 'application/json' });
    res.end('{"errors":[{"code":"UNKNOWN","message":"database is on fire"}]}');
  });
  const fails = await listening(t, failing);
  const hook = await startWebhook(t, {
    policy: `allowedRegistries: [${hangs}, ${fails}]\nrules:\n  - name: signed\n    images: ["**"]\n    require: { signatures: { keys: [ci.pub] }, maxSeverity: high }\n`,
    files: { 'ci.pub': ci.publicKeyPem },
    insecureRegistries: [hangs, fails],
    timeoutMs: 1500,
  });
  const started = Date.now();
  const hung = await hook.review('validate', admissionReview(pod(`${hangs}/team/app:1.0`)));
  const took = Date.now() - started;
  assert.equal(hung.allowed, false);
  assert.match(hung.status!.message, /ran out of time/);
  assert.ok(took >= 1400 && took < 4000, `answered after ${took} ms (deadline 1500 ms)`);
  const pinned = await hook.review('validate', admissionReview(pod(`${hangs}/team/app@sha256:${'b'.repeat(64)}`)));
  assert.equal(pinned.allowed, false, 'by digest too: the signatures are not there in time');
  const failed = await hook.review('validate', admissionReview(pod(`${fails}/team/app:1.0`)));
  assert.equal(failed.allowed, false);
  assert.match(failed.status!.message, /could not be resolved: .*500/);
});

test('whatever fails inside the webhook denies', { timeout: 30_000 }, async (t) => {
  const hook = await startWebhook(t, {
    policy: 'defaultAction: allow\nrules:\n  - name: labelled\n    images: ["**"]\n    namespaces: { selector: { matchLabels: { tier: gold } } }\n',
    namespaces: { labels: () => Promise.reject(new Error('a bug')) },
  });
  const r = await hook.review('validate', admissionReview(pod('docker.io/library/nginx:1.25')));
  assert.equal(r.allowed, false);
  assert.equal(r.status?.code, 500);
  assert.match(r.status!.message, /the admission webhook failed while judging this object; it is denied/);
  assert.ok(hook.entries.some((e) => e.msg === 'the admission decision failed: denied'));
});

test('concurrent reviews of one image share one fetch; later ones are answered from the cache', { timeout: 60_000 }, async (t) => {
  const s = await startTestServer(t);
  await createProject(s, 'team');
  const admin: Target = { url: s.url, auth: s.adminAuth };
  const digest = await pushSpec(admin, 'team/app', '1.0', {});
  await cosignSign(admin, 'team/app', digest, ci.privateKey);
  // A counting proxy in front of the registry.
  const seen: string[] = [];
  const proxy = createHttpServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const upstream = httpRequest({ host: '127.0.0.1', port: Number(new URL(s.url).port), path: req.url, method: req.method, headers: { ...req.headers, host: s.host } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(upstream);
  });
  const host = await listening(t, proxy);
  const hook = await startWebhook(t, { policy: signedPolicy(host), files: { 'ci.pub': ci.publicKeyPem }, auths: { [host]: ['admin', 'admin-password-1'] }, insecureRegistries: [host] });
  const answers = await Promise.all(Array.from({ length: 20 }, () => hook.review('validate', admissionReview(pod(`${host}/team/app:1.0`)))));
  assert.ok(answers.every((a) => a.allowed), JSON.stringify(answers.find((a) => !a.allowed)));
  const heads = seen.filter((l) => l.startsWith('HEAD /v2/team/app/manifests/1.0'));
  assert.ok(heads.length >= 1 && heads.length <= 2, `the tag was resolved ${heads.length} times (a challenge, then the request)`);
  const sigTag = `sha256-${digest.slice('sha256:'.length)}.sig`;
  const sigReads = seen.filter((l) => l.includes(`/manifests/${sigTag}`)).length;
  const before = seen.length;
  assert.equal((await hook.review('validate', admissionReview(pod(`${host}/team/app:1.0`)))).allowed, true);
  assert.equal(seen.length, before, 'the next review reads nothing from the registry');
  assert.ok(sigReads <= 2, `the signatures were listed ${sigReads} times for 20 reviews`);
});
