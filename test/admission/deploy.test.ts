/**
 * `portcullis admission manifests`: the printed YAML read back by PyYAML (YAML 1.1, the family of
 * the Go parser Kubernetes reads manifests with), every object validated by the kubernetes-models
 * validators of its kind and type-checked against their TypeScript types (which, unlike the
 * validators, refuse unknown fields), and the whole wired up for real: the Deployment's command
 * line, run against the files its volume would hold, serves the probes and AdmissionReviews to a
 * client that trusts only the webhook configuration's caBundle under the Service's name.
 *
 * kubectl reads them too: `kubectl apply --dry-run=client --validate=false` (Debian's 1.20 and 1.32
 * alike) asks an API server for its discovery documents and for each object, so it runs against a
 * stub that answers discovery for Kubernetes' built-in kinds and 404 for every object.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ValidatingWebhookConfiguration, MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import ts from 'typescript';
import { parseAdmissionPolicy } from '../../src/policy/index.js';
import { CLI, runCli } from '../helpers/cli.js';
import { startKubeDiscovery } from '../helpers/kube-discovery.js';
import { requirePythonModule, requireTools, tempDir } from '../helpers/env.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PYTHON = '/usr/bin/python3';
/** Parsed YAML, walked by the assertions. */
type Obj = Record<string, any>;

/** Each kind the manifests may hold: its validator class, and its type in kubernetes-models. */
const KINDS: Record<string, { model: new (data: any) => { validate(): void }; module: string; type: string }> = {
  'v1/Namespace': { model: Namespace, module: 'kubernetes-models/v1', type: 'INamespace' },
  'v1/ServiceAccount': { model: ServiceAccount, module: 'kubernetes-models/v1', type: 'IServiceAccount' },
  'v1/Secret': { model: Secret, module: 'kubernetes-models/v1', type: 'ISecret' },
  'v1/ConfigMap': { model: ConfigMap, module: 'kubernetes-models/v1', type: 'IConfigMap' },
  'v1/Service': { model: Service, module: 'kubernetes-models/v1', type: 'IService' },
  'apps/v1/Deployment': { model: Deployment, module: 'kubernetes-models/apps/v1', type: 'IDeployment' },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget, module: 'kubernetes-models/policy/v1', type: 'IPodDisruptionBudget' },
  'rbac.authorization.k8s.io/v1/ClusterRole': { model: ClusterRole, module: 'kubernetes-models/rbac.authorization.k8s.io/v1', type: 'IClusterRole' },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { model: ClusterRoleBinding, module: 'kubernetes-models/rbac.authorization.k8s.io/v1', type: 'IClusterRoleBinding' },
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration': { model: ValidatingWebhookConfiguration, module: 'kubernetes-models/admissionregistration.k8s.io/v1', type: 'IValidatingWebhookConfiguration' },
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': { model: MutatingWebhookConfiguration, module: 'kubernetes-models/admissionregistration.k8s.io/v1', type: 'IMutatingWebhookConfiguration' },
};

/** The documents of a YAML stream as PyYAML reads them (empty documents dropped). */
function pyyaml(text: string): Obj[] {
  const r = spawnSync(PYTHON, ['-c', 'import sys, json, yaml; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d is not None], sys.stdout, default=str)'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Obj[];
}

/** TypeScript's diagnostics for the objects given as literals of their kubernetes-models types. */
function typeCheck(objects: readonly Obj[]): string[] {
  const file = join(ROOT, 'test', '__kube-manifest-check__.ts');
  const lines = objects.map((o, i) => {
    const k = KINDS[`${o['apiVersion']}/${o['kind']}`]!;
    return `import type { ${k.type} as T${i} } from '${k.module}';\nexport const o${i}: T${i} = ${JSON.stringify(o, null, 1)};`;
  });
  const text = lines.join('\n');
  const options: ts.CompilerOptions = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, noEmit: true, skipLibCheck: true, types: [] };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (f, lang, ...rest) => (f === file ? ts.createSourceFile(f, text, lang) : getSourceFile.call(host, f, lang, ...rest));
  host.fileExists = (f) => f === file || fileExists.call(host, f);
  host.readFile = (f) => (f === file ? text : readFile.call(host, f));
  const program = ts.createProgram({ rootNames: [file], options, host });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

async function cli(home: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  const r = await runCli(home, args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

const POLICY = `# the team's policy
defaultAction: allow
rules:
  - name: prod
    images: ["registry.example.com/prod/**"]
    require:
      signatures:
        keys: [keys/team.pub]
      noLatest: true
`;

/** A home with certificates (certs/), a policy naming a key file by a relative path, and the manifests printed for them. */
async function fullSetup(t: TestContext, extra: readonly string[] = []): Promise<{ home: string; yaml: string; stderr: string }> {
  const home = tempDir(t);
  await cli(home, ['admission', 'cert', '--out', 'certs']);
  mkdirSync(join(home, 'policy', 'keys'), { recursive: true });
  writeFileSync(join(home, 'policy', 'policy.yaml'), POLICY);
  const pub = spawnSync('openssl', ['ec', '-pubout'], { input: spawnSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout'], { encoding: 'utf8' }).stdout, encoding: 'utf8' }).stdout;
  writeFileSync(join(home, 'policy', 'keys', 'team.pub'), pub);
  const r = await cli(home, ['admission', 'manifests', '--tls-dir', 'certs', '--policy', 'policy/policy.yaml', '--image', 'registry.example.com/portcullis:9.9.9', ...extra]);
  return { home, yaml: r.stdout, stderr: r.stderr };
}

const byKind = (objects: readonly Obj[], kind: string): Obj => {
  const found = objects.filter((o) => o['kind'] === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!;
};

test('every object validates with kubernetes-models, by its validator and by its TypeScript type', async (t) => {
  if (!requireTools(t, 'openssl') || !requirePythonModule(t, PYTHON, 'yaml', 'python3-yaml')) return;
  const { yaml } = await fullSetup(t);
  const objects = pyyaml(yaml);
  assert.deepEqual(objects.map((o) => o['kind']), ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Secret', 'ConfigMap', 'Service', 'Deployment', 'PodDisruptionBudget', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']);
  for (const o of objects) {
    const k = KINDS[`${o['apiVersion']}/${o['kind']}`];
    assert.ok(k !== undefined, `${o['apiVersion']} ${o['kind']} has no validator in this test: add it`);
    assert.doesNotThrow(() => new k.model(o).validate(), `${o['kind']}`);
  }
  assert.deepEqual(typeCheck(objects), []);

  // Both oracles can fail: a wrong type for the validator, an unknown field for the types.
  const deployment = byKind(objects, 'Deployment');
  assert.throws(() => new Deployment({ ...deployment, spec: { ...deployment['spec'], replicas: 'two' } }).validate(), /replicas must be integer/);
  const typo = { ...deployment, spec: { ...deployment['spec'], template: { ...deployment['spec'].template, spec: { ...deployment['spec'].template.spec, serviceAcountName: 'x' } } } };
  assert.match(typeCheck([typo]).join('\n'), /serviceAcountName/);
  const webhook = byKind(objects, 'ValidatingWebhookConfiguration');
  assert.match(typeCheck([{ ...webhook, webhooks: [{ ...webhook['webhooks'][0], failurePolicy: 'Fial' }] }]).join('\n'), /Fial/);
});

/** kubectl, run without blocking this process (the stub API server answers it from here). */
function kubectl(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** An object as applied, without what kubectl adds: its last-applied annotation (and an emptied annotations map). */
function withoutLastApplied(o: Obj): { object: Obj; lastApplied: Obj } {
  const copy = structuredClone(o);
  const annotations = copy['metadata'].annotations as Record<string, string>;
  const lastApplied = JSON.parse(annotations['kubectl.kubernetes.io/last-applied-configuration']!) as Obj;
  delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  if (Object.keys(annotations).length === 0) delete copy['metadata'].annotations;
  if (lastApplied['metadata'].annotations !== undefined && Object.keys(lastApplied['metadata'].annotations).length === 0) delete lastApplied['metadata'].annotations;
  return { object: copy, lastApplied };
}

test('kubectl apply --dry-run=client reads every object as PyYAML does and asks for each at its API path', async (t) => {
  if (!requireTools(t, 'openssl', 'kubectl') || !requirePythonModule(t, PYTHON, 'yaml', 'python3-yaml')) return;
  const { home, yaml } = await fullSetup(t);
  const objects = pyyaml(yaml);
  const api = await startKubeDiscovery(home);
  t.after(() => api.close());
  const file = join(home, 'admission.yaml');
  writeFileSync(file, yaml);
  const base = ['--kubeconfig', api.kubeconfig, '--cache-dir', join(home, 'kube-cache'), 'apply', '--dry-run=client', '--validate=false', '-o', 'json'];
  const r = await kubectl([...base, '-f', file]);
  assert.equal(r.code, 0, r.stderr);
  const applied = (JSON.parse(r.stdout) as Obj)['items'] as Obj[];
  assert.equal(applied.length, objects.length);
  applied.forEach((o, i) => {
    const { object, lastApplied } = withoutLastApplied(o);
    assert.deepEqual(object, objects[i], `${objects[i]!['kind']}: Go's YAML reads what PyYAML reads`);
    assert.deepEqual(lastApplied, objects[i], `${objects[i]!['kind']}: as kubectl will remember it`);
  });
  const ns = 'portcullis-admission';
  const name = 'portcullis-admission';
  const expected = [
    `/api/v1/namespaces/${ns}`,
    `/api/v1/namespaces/${ns}/serviceaccounts/${name}`,
    `/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}`,
    `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${name}`,
    `/api/v1/namespaces/${ns}/secrets/${byKind(objects, 'Secret')['metadata'].name}`,
    `/api/v1/namespaces/${ns}/configmaps/${name}`,
    `/api/v1/namespaces/${ns}/services/${name}`,
    `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
    `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/${name}`,
    `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${name}`,
    `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${name}`,
  ];
  assert.deepEqual([...new Set(api.asked)].sort(), expected.map((p) => `GET ${p}`).sort());

  // The oracle can fail: a kind the API server does not know.
  const typo = join(home, 'typo.yaml');
  writeFileSync(typo, yaml.replace('kind: Deployment', 'kind: Deploymnet'));
  const bad = await kubectl([...base, '-f', typo]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /Deploymnet/);
});

test('the manifests hold what the webhook needs, consistently wired', async (t) => {
  if (!requireTools(t, 'openssl') || !requirePythonModule(t, PYTHON, 'yaml', 'python3-yaml')) return;
  const { home, yaml } = await fullSetup(t);
  const objects = pyyaml(yaml);
  const ns = 'portcullis-admission';
  for (const o of objects.filter((x) => !['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'].includes(x['kind']))) {
    assert.equal(o['metadata'].namespace, ns, `${o['kind']} in the webhook's namespace`);
  }
  const read = (f: string) => readFileSync(join(home, f), 'utf8');
  const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

  const secret = byKind(objects, 'Secret');
  assert.equal(secret['type'], 'kubernetes.io/tls');
  assert.equal(b64(secret['data']['tls.crt']), read('certs/tls.crt'));
  assert.equal(b64(secret['data']['tls.key']), read('certs/tls.key'));
  const config = byKind(objects, 'ConfigMap');
  assert.equal(config['data']['policy.yaml'], POLICY, 'the policy byte for byte, comments included');

  const deployment = byKind(objects, 'Deployment');
  const pod = deployment['spec'].template.spec;
  const [container] = pod.containers as Obj[];
  assert.equal(deployment['spec'].replicas, 2);
  assert.equal(container!['image'], 'registry.example.com/portcullis:9.9.9');
  assert.deepEqual([...container!['command'], ...container!['args']].slice(0, 3), ['portcullis', 'admission', 'serve']);
  const arg = (flag: string) => container!['args'][container!['args'].indexOf(flag) + 1] as string;
  assert.equal(arg('--policy'), '/etc/portcullis/policy.yaml');
  assert.equal(arg('--addr'), '0.0.0.0:8443');
  // Every file the command line names is one the volume holds.
  const mount = (container!['volumeMounts'] as Obj[]).find((m) => m['name'] === 'config')!;
  assert.equal(mount['readOnly'], true);
  const volume = (pod.volumes as Obj[]).find((v) => v['name'] === 'config')!;
  const served = new Map<string, string>();
  for (const s of volume['projected'].sources as Obj[]) {
    const [source, name] = s['configMap'] !== undefined ? [config, s['configMap'].name] : [s['secret'].name === secret['metadata'].name ? secret : undefined, s['secret'].name];
    for (const item of s[s['configMap'] !== undefined ? 'configMap' : 'secret'].items as Obj[]) {
      if (source === undefined) continue; // the optional registry Secret
      assert.equal(source['metadata'].name, name);
      const data = source === secret ? b64(source['data'][item['key']]) : source['data'][item['key']];
      served.set(`${mount['mountPath']}/${item['path']}`, data);
    }
  }
  assert.equal(served.get(arg('--policy')), POLICY);
  assert.equal(served.get(arg('--tls-cert')), read('certs/tls.crt'));
  assert.equal(served.get(arg('--tls-key')), read('certs/tls.key'));
  assert.equal(served.get('/etc/portcullis/keys/team.pub'), read('policy/keys/team.pub'), 'a key file the policy names, at its path beside the policy');
  assert.equal(dirname(arg('--registry-config')), '/etc/portcullis/docker');
  // A new certificate changes the pod template: the pods roll, and `rollout status` says when all serve it.
  assert.equal(deployment['spec'].template.metadata.annotations['portcullis.dev/tls-sha256'], createHash('sha256').update(read('certs/tls.crt')).digest('hex'));

  // Hardening.
  assert.deepEqual(container!['securityContext'], { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
  assert.ok(container!['resources'].requests.cpu && container!['resources'].requests.memory && container!['resources'].limits.cpu && container!['resources'].limits.memory);
  for (const [probe, path] of [['readinessProbe', '/readyz'], ['livenessProbe', '/healthz']] as const) {
    assert.deepEqual(container![probe].httpGet, { path, port: 'https', scheme: 'HTTPS' });
  }
  assert.equal((container!['ports'] as Obj[]).find((p) => p['name'] === 'https')!['containerPort'], 8443);

  // Selectors select the pods; the Service reaches the container's port.
  const podLabels = deployment['spec'].template.metadata.labels as Record<string, string>;
  const selects = (sel: Record<string, string>) => Object.entries(sel).every(([k, v]) => podLabels[k] === v);
  const service = byKind(objects, 'Service');
  assert.ok(selects(deployment['spec'].selector.matchLabels) && selects(service['spec'].selector) && selects(byKind(objects, 'PodDisruptionBudget')['spec'].selector.matchLabels));
  assert.deepEqual(service['spec'].ports, [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
  assert.equal(byKind(objects, 'PodDisruptionBudget')['spec'].minAvailable, 1);
  const binding = byKind(objects, 'ClusterRoleBinding');
  assert.deepEqual(binding['subjects'], [{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: ns }]);
  assert.deepEqual(byKind(objects, 'ClusterRole')['rules'], [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get'] }]);

  // The webhooks: one each, calling the Service, trusting ca.crt, judging every kind that runs pods.
  const RESOURCES: Record<string, string> = { Pod: '/pods', 'ephemeral containers (kubectl debug)': '/pods/ephemeralcontainers', ReplicationController: '/replicationcontrollers', Deployment: 'apps/deployments', ReplicaSet: 'apps/replicasets', StatefulSet: 'apps/statefulsets', DaemonSet: 'apps/daemonsets', Job: 'batch/jobs', CronJob: 'batch/cronjobs' };
  for (const [kind, path] of [['ValidatingWebhookConfiguration', '/validate'], ['MutatingWebhookConfiguration', '/mutate']] as const) {
    const [hook, ...more] = byKind(objects, kind)['webhooks'] as Obj[];
    assert.equal(more.length, 0);
    assert.deepEqual(hook!['clientConfig'].service, { namespace: ns, name: service['metadata'].name, path, port: 443 });
    assert.equal(b64(hook!['clientConfig'].caBundle), read('certs/ca.crt'));
    assert.equal(hook!['failurePolicy'], 'Fail');
    assert.equal(hook!['sideEffects'], 'None');
    assert.deepEqual(hook!['admissionReviewVersions'], ['v1']);
    assert.equal(hook!['timeoutSeconds'], 10);
    assert.deepEqual(hook!['namespaceSelector'], { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', ns] }] });
    const covered = new Set((hook!['rules'] as Obj[]).flatMap((r) => {
      assert.deepEqual(r['operations'], ['CREATE', 'UPDATE']);
      return (r['apiGroups'] as string[]).flatMap((g) => (r['resources'] as string[]).map((res) => `${g}/${res}`));
    }));
    for (const [k, r] of Object.entries(RESOURCES)) assert.ok(covered.has(r), `${kind} judges ${k}`);
  }
});

/** Waits for `serving on URL` on a child's stderr. */
function servingUrl(child: ReturnType<typeof spawn>): Promise<URL> {
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no "serving on" within 20 s: ${err}`)), 20_000);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      const m = /serving on (https:\/\/\S+)/.exec(err);
      if (m !== null) {
        clearTimeout(timer);
        resolve(new URL(m[1]!));
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}

function call(url: URL, path: string, ca: string, servername: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ host: url.hostname, port: url.port, path, method: data === undefined ? 'GET' : 'POST', ca, servername, agent: false, headers: data === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

test("the Deployment's command, with the files its volume holds, serves the probes and reviews to a client trusting the caBundle", async (t) => {
  if (!requireTools(t, 'openssl') || !requirePythonModule(t, PYTHON, 'yaml', 'python3-yaml')) return;
  const home = tempDir(t);
  await cli(home, ['admission', 'cert', '--namespace', 'gatekeeping', '--out', 'certs']);
  const objects = pyyaml((await cli(home, ['admission', 'manifests', '--namespace', 'gatekeeping', '--tls-dir', 'certs'])).stdout);
  const deployment = byKind(objects, 'Deployment');
  const container = deployment['spec'].template.spec.containers[0] as Obj;
  const mount = (container['volumeMounts'] as Obj[]).find((m) => m['name'] === 'config')!;
  const root = join(home, 'volume');
  for (const s of deployment['spec'].template.spec.volumes.find((v: Obj) => v['name'] === 'config').projected.sources as Obj[]) {
    const src = s['configMap'] ?? s['secret'];
    const object = objects.find((o) => (o['kind'] === 'ConfigMap' || o['kind'] === 'Secret') && o['metadata'].name === src.name);
    if (object === undefined) {
      assert.equal(src.optional, true, `${src.name} is optional`);
      continue;
    }
    for (const item of src.items as Obj[]) {
      const value = object['kind'] === 'Secret' ? Buffer.from(object['data'][item['key']], 'base64') : object['data'][item['key']];
      mkdirSync(dirname(join(root, item['path'])), { recursive: true });
      writeFileSync(join(root, item['path']), value);
    }
  }
  const args = (container['args'] as string[]).map((a) => (a.startsWith(`${mount['mountPath']}/`) ? join(root, a.slice(mount['mountPath'].length + 1)) : a === '0.0.0.0:8443' ? '127.0.0.1:0' : a));
  assert.equal(container['command'][0], 'portcullis');
  const child = spawn(process.execPath, [CLI, ...args], { cwd: home, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home }, stdio: ['ignore', 'ignore', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  const url = await servingUrl(child);

  const hook = byKind(objects, 'ValidatingWebhookConfiguration')['webhooks'][0] as Obj;
  const ca = Buffer.from(hook['clientConfig'].caBundle, 'base64').toString('utf8');
  const svc = hook['clientConfig'].service as Obj;
  const servername = `${svc['name']}.${svc['namespace']}.svc`;
  for (const probe of [container['readinessProbe'], container['livenessProbe']] as Obj[]) {
    assert.equal((await call(url, probe['httpGet'].path, ca, servername)).status, 200, probe['httpGet'].path);
  }
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app', namespace: 'team' }, spec: { containers: [{ name: 'app', image: `registry.example.com/app@sha256:${'a'.repeat(64)}` }] } };
  for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
    const path = byKind(objects, kind)['webhooks'][0].clientConfig.service.path as string;
    const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: `uid-${kind}`, kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'team', name: 'app', operation: 'CREATE', userInfo: { username: 'alice' }, object: pod, oldObject: null, dryRun: false } };
    const r = await call(url, path, ca, servername, review);
    assert.equal(r.status, 200, r.body);
    const answer = JSON.parse(r.body) as { response: { uid: string; allowed: boolean } };
    assert.deepEqual([answer.response.uid, answer.response.allowed], [`uid-${kind}`, true], `${path}: the placeholder policy admits every image`);
  }
  await assert.rejects(call(url, '/readyz', ca, `${svc['name']}.default.svc`), /altnames/, 'the certificate is for its own namespace only');
});

test('without certificates or policy: warnings, no Secret (a comment says how to make it), no caBundle, an allow-all placeholder policy', async (t) => {
  if (!requirePythonModule(t, PYTHON, 'yaml', 'python3-yaml')) return;
  const home = tempDir(t);
  const r = await cli(home, ['admission', 'manifests']);
  for (const flag of ['--ca-file', '--tls-dir', '--policy', '--image']) assert.match(r.stderr, new RegExp(`warning: no ${flag}`));
  const objects = pyyaml(r.stdout);
  assert.equal(objects.filter((o) => o['kind'] === 'Secret').length, 0);
  assert.match(r.stdout, /#\s+kubectl -n portcullis-admission create secret tls portcullis-admission-tls --cert=tls\.crt --key=tls\.key/);
  for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) assert.equal(byKind(objects, kind)['webhooks'][0].clientConfig.caBundle, undefined);
  assert.match(r.stdout, /NO caBundle/);
  const policy = parseAdmissionPolicy(pyyaml(byKind(objects, 'ConfigMap')['data']['policy.yaml'])[0]);
  assert.deepEqual(policy, { defaultAction: 'allow', rules: [] });
  assert.equal(byKind(objects, 'Deployment')['spec'].template.spec.containers[0].image, `registry.example.com/portcullis:${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version}`);
  for (const o of objects) assert.doesNotThrow(() => new KINDS[`${o['apiVersion']}/${o['kind']}`]!.model(o).validate());
});

test('names YAML 1.1 would read as booleans stay strings', async (t) => {
  if (!requirePythonModule(t, PYTHON, 'yaml', 'python3-yaml')) return;
  const home = tempDir(t);
  const objects = pyyaml((await cli(home, ['admission', 'manifests', '--namespace', 'on', '--exclude-namespace', 'yes', '--exclude-namespace', 'no'])).stdout);
  assert.equal(byKind(objects, 'Namespace')['metadata'].name, 'on');
  assert.deepEqual(byKind(objects, 'ValidatingWebhookConfiguration')['webhooks'][0].namespaceSelector.matchExpressions[0].values, ['kube-system', 'on', 'yes', 'no']);
  for (const o of objects) assert.doesNotThrow(() => new KINDS[`${o['apiVersion']}/${o['kind']}`]!.model(o).validate(), o['kind']);
});

test('-o FILE is private when it holds the TLS key', async (t) => {
  if (!requireTools(t, 'openssl')) return;
  const home = tempDir(t);
  await cli(home, ['admission', 'cert', '--out', 'certs']);
  await cli(home, ['admission', 'manifests', '--tls-dir', 'certs', '-o', 'admission.yaml']);
  assert.equal(statSync(join(home, 'admission.yaml')).mode & 0o077, 0);
  assert.match(readFileSync(join(home, 'admission.yaml'), 'utf8'), /kind: Secret/);
});

test('manifests refuses what would not work in the cluster', async (t) => {
  if (!requireTools(t, 'openssl')) return;
  const home = tempDir(t);
  await cli(home, ['admission', 'cert', '--out', 'certs']);
  await cli(home, ['admission', 'cert', '--namespace', 'elsewhere', '--out', 'other']);
  writeFileSync(join(home, 'bad-policy.yaml'), 'defaultAction: deny\nrules:\n  - name: x\n    images: ["a/**"]\n    require: { signatures: { keys: [k.pub] }, colour: red }\n');
  writeFileSync(join(home, 'outside.yaml'), 'rules:\n  - name: x\n    images: ["a/**"]\n    require: { signatures: { keys: [../k.pub] } }\n');
  writeFileSync(join(home, 'k.pub'), spawnSync('openssl', ['ec', '-pubout'], { input: spawnSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout'], { encoding: 'utf8' }).stdout, encoding: 'utf8' }).stdout);
  mkdirSync(join(home, 'sub'));
  writeFileSync(join(home, 'sub', 'outside.yaml'), readFileSync(join(home, 'outside.yaml')));
  const cases: [readonly string[], number, RegExp][] = [
    [['--namespace', 'default'], 2, /needs one of its own, not "default"/],
    [['--namespace', 'Bad_NS'], 2, /not a DNS label/],
    [['--exclude-namespace', 'a b'], 2, /--exclude-namespace/],
    [['--policy', 'bad-policy.yaml'], 1, /bad-policy\.yaml: rules\.0\.require/],
    [['--policy', 'sub/outside.yaml'], 2, /key file \.\.\/k\.pub/],
    [['--policy', 'missing.yaml'], 1, /cannot read the policy missing\.yaml: ENOENT/],
    [['--tls-dir', 'other'], 1, /is not for portcullis-admission\.portcullis-admission\.svc/],
    [['--tls-dir', 'certs', '--ca-file', 'other/ca.crt'], 1, /not signed by a CA of the caBundle/],
    [['--ca-file', 'certs/tls.key'], 1, /holds no PEM certificate/],
    [['--ca-file', 'certs/tls.crt'], 1, /is not a CA certificate/],
  ];
  for (const [args, code, message] of cases) {
    const r = await runCli(home, ['admission', 'manifests', ...args]);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stdout, '', 'nothing printed');
  }
});
