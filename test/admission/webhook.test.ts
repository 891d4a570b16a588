/**
 * The admission webhook over HTTPS against a real Portcullis registry holding signed, unsigned,
 * wrongly signed, vulnerable, clean, attested, promoted and not promoted images: every
 * requirement, every mode, every kind that holds a pod, sub-resources, DELETE and dry runs; the
 * mutating patch, applied with an independent JSONPatch implementation (fast-json-patch), pins
 * each image to the digest that was judged. The seed's two stories: totally-not-malware:latest
 * from an unknown registry is denied, and so is the image with critical CVEs and a missing
 * entrypoint (no promotion verdict, findings over the threshold).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import jsonpatch from 'fast-json-patch';
import { StaticNamespaces } from '../../src/admission/index.js';
import { buildDb } from '../helpers/advisory-db.js';
import { cosignAttest, cosignSign, newKeyPair, type KeyPair } from '../helpers/cosign.js';
import { tempDir } from '../helpers/env.js';
import type { Target } from '../helpers/push.js';
import { createProject, startTestServer, type TestServer } from '../helpers/server.js';
import { ADVISORIES, analysed, api, CRITICAL, ok, pushSpec } from '../registry/gates-fixtures.js';
import { admissionReview, startWebhook, workload, type Webhook } from './fixtures.js';

interface World {
  s: TestServer;
  host: string;
  ci: KeyPair;
  other: KeyPair;
  robot: readonly [string, string];
  /** digests by name */
  d: Record<string, string>;
}

let world: World | undefined;
const cleanups: (() => unknown)[] = [];
const w = (): World => world ?? assert.fail('the registry did not start');

before(async () => {
  const ctx = { after: (fn: () => unknown) => void cleanups.push(fn) } as unknown as TestContext;
  const db = join(tempDir(ctx, 'portcullis-admission-db-'), 'advisory.db');
  await buildDb(db, ADVISORIES, new Date(Date.now() - 60_000));
  const s = await startTestServer(ctx, { config: { scan: { enabled: true, db }, sbom: { enabled: true } } });
  const admin: Target = { url: s.url, auth: s.adminAuth };
  for (const p of ['staging', 'prod']) await createProject(s, p);
  await ok(api(s, 'POST', '/api/v1/projects/prod/signing-key', {}), 201);
  const ci = newKeyPair();
  const other = newKeyPair();
  const d: Record<string, string> = {};
  // Clean, CI-signed, promoted into prod.
  d['good'] = await pushSpec(admin, 'staging/app', '1.0', { packages: ['is-even@2.0.0'] });
  await analysed(s, 'staging/app', '1.0');
  await cosignSign(admin, 'staging/app', d['good'], ci.privateKey);
  await ok(api(s, 'POST', '/api/v1/promotions', { source: 'staging/app:1.0', target: 'prod/app:1.0' }), 201);
  // In prod directly, never promoted.
  const direct = async (tag: string, spec: Parameters<typeof pushSpec>[3], sign?: KeyPair): Promise<string> => {
    const digest = await pushSpec(admin, 'prod/app', tag, spec);
    await analysed(s, 'prod/app', tag);
    if (sign !== undefined) await cosignSign(admin, 'prod/app', digest, sign.privateKey);
    return digest;
  };
  d['unsigned'] = await direct('unsigned', { packages: ['is-even@2.0.0'], nonce: 'unsigned' });
  d['wrongkey'] = await direct('wrongkey', { packages: ['is-even@2.0.0'], nonce: 'wrongkey' }, other);
  d['vulnerable'] = await direct('vulnerable', { packages: ['left-pad@1.3.0'], nonce: 'vulnerable' }, ci);
  d['incident'] = await direct('1.4.2', { packages: ['left-pad@1.3.0'], entrypoint: '/app/processr', secret: true }, ci);
  d['attested'] = await direct('attested', { packages: ['is-even@2.0.0'], nonce: 'attested' }, ci);
  await cosignAttest(admin, 'prod/app', d['attested'], ci.privateKey, 'https://cyclonedx.org/bom', { bomFormat: 'CycloneDX', specVersion: '1.6', components: [] });
  // The webhook's own account: a robot that may pull in both projects.
  const res = await s.admin('/api/v1/robots', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'admission', permissions: [{ project: 'prod', actions: ['pull'] }, { project: 'staging', actions: ['pull'] }] }) });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  const robot = JSON.parse(text) as { name: string; secret: string };
  world = { s, host: s.host, ci, other, robot: [robot.name, robot.secret], d };
});
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

/** The policy most tests use: prod images must be signed by CI, clean, with an SBOM, promoted; modes by namespace. */
function prodPolicy(host: string): string {
  return `allowedRegistries: [${host}]
defaultAction: deny
rules:
  - name: prod-warn
    images: ["${host}/prod/**"]
    namespaces: { names: [canary] }
    mode: warn
    require: { signatures: { keys: [ci.pub] }, maxSeverity: high, promotedTo: prod }
  - name: prod-audit
    images: ["${host}/prod/**"]
    namespaces: { names: [sandbox] }
    mode: audit
    require: { signatures: { keys: [ci.pub] }, maxSeverity: high, promotedTo: prod }
  - name: prod-attested
    images: ["${host}/prod/**"]
    namespaces: { names: [sbom-only] }
    require: { attestations: [{ predicateType: https://cyclonedx.org/bom, key: ci.pub }] }
  - name: prod-pinned
    images: ["${host}/prod/**"]
    namespaces: { names: [strict] }
    require: { digestPinned: true }
  - name: prod
    images: ["${host}/prod/**"]
    require:
      signatures: { keys: [ci.pub] }
      maxSeverity: high
      sbom: true
      promotedTo: prod
      noLatest: true
`;
}

async function webhook(t: TestContext, policy = prodPolicy(w().host)): Promise<Webhook> {
  return startWebhook(t, { policy, files: { 'ci.pub': w().ci.publicKeyPem }, auths: { [w().host]: w().robot }, insecureRegistries: [w().host] });
}

const pod = (namespace: string, ...images: string[]) => workload('Pod', 'web', namespace, { containers: images });

test('a promoted, CI-signed, clean image is admitted; /mutate pins it to the digest that was judged', { timeout: 60_000 }, async (t) => {
  const { host, d } = w();
  const hook = await webhook(t);
  const image = `${host}/prod/app:1.0`;
  const validated = await hook.review('validate', admissionReview(pod('default', image)));
  assert.equal(validated.allowed, true, JSON.stringify(validated));
  assert.equal(validated.patch, undefined, 'the validating endpoint patches nothing');
  const object = workload('Deployment', 'web', 'default', { containers: [image, `${host}/prod/app@${d['good']}`], initContainers: [image] });
  const review = admissionReview(object);
  const mutated = await hook.review('mutate', review);
  assert.equal(mutated.allowed, true);
  assert.equal(mutated.patchType, 'JSONPatch');
  const ops = JSON.parse(Buffer.from(mutated.patch!, 'base64').toString('utf8')) as jsonpatch.Operation[];
  const patched = jsonpatch.applyPatch(structuredClone(object), ops, true).newDocument as { spec: { template: { spec: { containers: { image: string }[]; initContainers: { image: string }[] } } } };
  const spec = patched.spec.template.spec;
  assert.deepEqual([...spec.containers, ...spec.initContainers].map((c) => c.image), [`${host}/prod/app@${d['good']}`, `${host}/prod/app@${d['good']}`, `${host}/prod/app@${d['good']}`]);
  assert.equal(ops.length, 2, 'the image already pinned is left as it is');
  // The decision is logged, and counted.
  const decided = hook.entries.filter((e) => e.msg === 'admission: allowed' && e.obj['image'] === image);
  assert.ok(decided.length >= 2);
  assert.equal(decided[0]!.obj['digest'], d['good']);
  assert.equal(decided[0]!.obj['rule'], 'prod');
  const metrics = await hook.get('/metrics');
  assert.match(metrics.text, /portcullis_admission_reviews_total\{endpoint="mutate",result="allowed"\} 1/);
  assert.match(metrics.text, /portcullis_admission_review_duration_seconds_bucket/);
  assert.ok(Number(/portcullis_admission_cache_hits_total (\d+)/.exec(metrics.text)?.[1]) > 0, 'the second review read the cache');
});

test('every failing requirement denies, naming the image, the rule and the reason', { timeout: 60_000 }, async (t) => {
  const { host } = w();
  const hook = await webhook(t);
  const denied = async (image: string): Promise<string> => {
    const r = await hook.review('validate', admissionReview(pod('default', image)));
    assert.equal(r.allowed, false, `${image} was admitted`);
    assert.equal(r.status?.code, 403);
    return r.status!.message;
  };
  assert.match(await denied(`${host}/prod/app:unsigned`), new RegExp(`^image ${host}/prod/app:unsigned \\(sha256:[a-f0-9]{64}\\) is denied by rule prod: needs 1 signature that verify with the rule's keys; it has no signature; it was not promoted into prod$`));
  assert.match(await denied(`${host}/prod/app:wrongkey`), /needs 1 signature that verify with the rule's keys; 1 signature found, 0 verify with the rule's keys \(SIGNATURE_MISMATCH with ci\.pub\)/);
  assert.match(await denied(`${host}/prod/app:vulnerable`), new RegExp(`1 critical finding at or above high: ${CRITICAL}`));
  assert.match(await denied(`${host}/prod/app:latest`), /the tag latest could not be resolved|latest/);
  assert.match(await denied(`${host}/prod/nothing:1.0`), /the tag 1\.0 could not be resolved/);
  assert.match(await denied('not a reference!'), /is denied by the policy: .*not a valid/);
});

test('the seed\'s stories: totally-not-malware:latest and the incident image are denied', { timeout: 60_000 }, async (t) => {
  const { host } = w();
  const hook = await webhook(t);
  const malware = await hook.review('validate', admissionReview(pod('default', 'totally-not-malware:latest')));
  assert.equal(malware.allowed, false);
  assert.equal(malware.status?.message, `image totally-not-malware:latest is denied by the policy: registry docker.io is not one the policy allows (${host})`);
  const incident = await hook.review('validate', admissionReview(pod('default', `${host}/prod/app:1.4.2`)));
  assert.equal(incident.allowed, false);
  const message = incident.status!.message;
  assert.match(message, /it was not promoted into prod/);
  assert.match(message, new RegExp(`3 critical findings at or above high: .*${CRITICAL}`));
  assert.match(message, /PCL-IMG-001/, 'the missing entrypoint is a critical finding');
  // Beside an admitted image, one denied image denies the whole pod.
  const mixed = await hook.review('validate', admissionReview(pod('default', `${host}/prod/app:1.0`, 'totally-not-malware:latest')));
  assert.equal(mixed.allowed, false);
  assert.doesNotMatch(mixed.status!.message, /prod\/app:1\.0/);
});

test('modes: warn admits with a warning, audit admits and only logs, enforce denies', { timeout: 60_000 }, async (t) => {
  const { host } = w();
  const hook = await webhook(t);
  const image = `${host}/prod/app:unsigned`;
  const warned = await hook.review('validate', admissionReview(pod('canary', image)));
  assert.equal(warned.allowed, true);
  assert.equal(warned.warnings?.length, 1);
  assert.match(warned.warnings![0]!, /^image .*prod\/app:unsigned .* would be denied by rule prod-warn: needs 1 signature/);
  const audited = await hook.review('validate', admissionReview(pod('sandbox', image)));
  assert.equal(audited.allowed, true);
  assert.equal(audited.warnings, undefined);
  const logged = hook.entries.find((e) => e.msg === 'admission: audited' && e.obj['namespace'] === 'sandbox');
  assert.deepEqual(logged?.obj['reasons'], ['SIGNATURE', 'NOT_PROMOTED']);
  assert.equal((await hook.review('validate', admissionReview(pod('default', image)))).allowed, false);
});

test('attestations and digest pinning', { timeout: 60_000 }, async (t) => {
  const { host, d } = w();
  const hook = await webhook(t);
  assert.equal((await hook.review('validate', admissionReview(pod('sbom-only', `${host}/prod/app:attested`)))).allowed, true);
  const missing = await hook.review('validate', admissionReview(pod('sbom-only', `${host}/prod/app:1.0`)));
  assert.equal(missing.allowed, false);
  assert.match(missing.status!.message, /no https:\/\/cyclonedx\.org\/bom attestation verifies with the rule's key \(it has no attestation\)/);
  const tagged = await hook.review('validate', admissionReview(pod('strict', `${host}/prod/app:1.0`)));
  assert.match(tagged.status!.message, /not named by digest/);
  assert.equal((await hook.review('validate', admissionReview(pod('strict', `${host}/prod/app@${d['unsigned']}`)))).allowed, true);
});

test('every kind that holds a pod spec is judged; sub-resources, DELETE and other kinds are not', { timeout: 60_000 }, async (t) => {
  const { host } = w();
  const hook = await webhook(t);
  const bad = 'totally-not-malware:latest';
  const good = `${host}/prod/app:1.0`;
  for (const kind of ['Pod', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicationController']) {
    for (const [where, c] of [
      ['containers', { containers: [bad] }],
      ['initContainers', { containers: [good], initContainers: [bad] }],
      ['ephemeralContainers', { containers: [good], ephemeralContainers: [bad] }],
    ] as const) {
      const r = await hook.review('validate', admissionReview(workload(kind, 'w', 'default', c)));
      assert.equal(r.allowed, false, `${kind} with ${bad} in ${where}`);
    }
    assert.equal((await hook.review('validate', admissionReview(workload(kind, 'w', 'default', { containers: [good] })))).allowed, true, kind);
  }
  // kubectl debug adds an ephemeral container through the sub-resource.
  const debugged = workload('Pod', 'w', 'default', { containers: [good], ephemeralContainers: [bad] });
  assert.equal((await hook.review('validate', admissionReview(debugged, { operation: 'UPDATE', subResource: 'ephemeralcontainers', oldObject: workload('Pod', 'w', 'default', { containers: [good] }) }))).allowed, false);
  assert.equal((await hook.review('validate', admissionReview(debugged, { operation: 'UPDATE', subResource: 'status' }))).allowed, true, 'status changes no image');
  assert.equal((await hook.review('validate', admissionReview(workload('Pod', 'w', 'default', { containers: [bad] }), { operation: 'DELETE' }))).allowed, true);
  assert.equal((await hook.review('validate', admissionReview({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'default' }, spec: {} }))).allowed, true);
  // UPDATE judges the new object; a dry run is judged the same.
  const updated = await hook.review('validate', admissionReview(workload('Deployment', 'w', 'default', { containers: [bad] }), { operation: 'UPDATE', oldObject: workload('Deployment', 'w', 'default', { containers: [good] }), dryRun: true }));
  assert.equal(updated.allowed, false);
});

test('namespaces selected by label: labels from the Kubernetes API; unknown labels deny what they might decide', { timeout: 60_000 }, async (t) => {
  const { host, ci } = w();
  const policy = `rules:
  - name: gold
    images: ["${host}/prod/**"]
    namespaces: { selector: { matchLabels: { tier: gold } } }
    require: { signatures: { keys: [ci.pub] } }
  - name: others
    images: ["${host}/**"]
    mode: warn
`;
  const labelled = await startWebhook(t, {
    policy,
    files: { 'ci.pub': ci.publicKeyPem },
    auths: { [host]: w().robot },
    insecureRegistries: [host],
    namespaces: new StaticNamespaces(new Map([['payments', { tier: 'gold' }]])),
  });
  const r = await labelled.review('validate', admissionReview(pod('payments', `${host}/prod/app:unsigned`)));
  assert.equal(r.allowed, false);
  assert.match(r.status!.message, /rule gold/);
  assert.equal((await labelled.review('validate', admissionReview(pod('web', `${host}/prod/app:unsigned`)))).allowed, true, 'rule others warns only');
  const blind = await startWebhook(t, { policy, files: { 'ci.pub': ci.publicKeyPem }, auths: { [host]: w().robot }, insecureRegistries: [host], namespaces: { labels: () => Promise.resolve('the Kubernetes API cannot be reached: ECONNREFUSED') } });
  const unknown = await blind.review('validate', admissionReview(pod('web', `${host}/prod/app:1.0`)));
  assert.equal(unknown.allowed, false);
  assert.match(unknown.status!.message, /the labels of namespace web are needed by the policy and could not be read: the Kubernetes API cannot be reached/);
  assert.equal((await blind.review('validate', admissionReview(pod('web', `${host}/staging/app:1.0`)))).allowed, true, 'no label rule could decide a staging image');
});

test('the policy file is read again when it changes; an invalid one is refused and the one in force stays', { timeout: 60_000 }, async (t) => {
  const { host } = w();
  const hook = await webhook(t);
  const image = `${host}/prod/app:unsigned`;
  assert.equal((await hook.review('validate', admissionReview(pod('default', image)))).allowed, false);
  writeFileSync(hook.policyFile, `allowedRegistries: [${host}]\ndefaultAction: allow\n`);
  assert.equal(hook.policy.check(), true);
  assert.equal((await hook.review('validate', admissionReview(pod('default', image)))).allowed, true);
  writeFileSync(hook.policyFile, `allowedRegistries: [${host}]\nrules:\n  - name: r\n    images: ["**"]\n    require: { maxSeverity: severe }\n`);
  assert.equal(hook.policy.check(), false);
  const refused = hook.entries.find((e) => e.msg.startsWith('the admission policy was not reloaded'));
  assert.match(String(refused?.obj['err']), /rules\.0\.require\.maxSeverity/);
  assert.equal((await hook.review('validate', admissionReview(pod('default', image)))).allowed, true, 'the last good policy is in force');
  writeFileSync(hook.policyFile, prodPolicy(host));
  assert.equal(hook.policy.check(), true);
  assert.equal((await hook.review('validate', admissionReview(pod('default', image)))).allowed, false);
});

test('what is known of a digest is read again after its TTL: a CI signature added later admits the image', { timeout: 60_000 }, async (t) => {
  const { s, host, ci } = w();
  const admin: Target = { url: s.url, auth: s.adminAuth };
  const hook = await startWebhook(t, { policy: prodPolicy(host), files: { 'ci.pub': ci.publicKeyPem }, auths: { [host]: w().robot }, insecureRegistries: [host], digestTtlMs: 1 });
  const digest = await pushSpec(admin, 'staging/late', '1.0', { packages: ['is-even@2.0.0'], nonce: 'late' });
  await analysed(s, 'staging/late', '1.0');
  await ok(api(s, 'POST', '/api/v1/promotions', { source: 'staging/late:1.0', target: 'prod/late:1.0' }), 201);
  const image = `${host}/prod/late:1.0`;
  const before = await hook.review('validate', admissionReview(pod('default', image)));
  // Only prod's own signature, from the promotion: not CI's.
  assert.match(before.status!.message, /1 signature found, 0 verify with the rule's keys \(SIGNATURE_MISMATCH with ci\.pub\)/);
  await cosignSign(admin, 'prod/late', digest, ci.privateKey);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal((await hook.review('validate', admissionReview(pod('default', image)))).allowed, true);
});
