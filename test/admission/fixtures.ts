/**
 * The webhook under test: `startAdmissionServer` on loopback with a certificate issued for its
 * Service name, the policy as a file beside its key files, registry credentials; and AdmissionReview requests shaped as the API server sends them (requestKind,
 * requestResource, userInfo, options, dryRun, oldObject), posted over HTTPS to a client that
 * trusts only the webhook's CA.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { AdmissionController, AdmissionMetrics, FactSource, issueServingCertificates, StaticNamespaces, startAdmissionServer, WatchedPolicy, type NamespaceSource } from '../../src/admission/index.js';
import type { Logger } from '../../src/shared/index.js';
import { tempDir } from '../helpers/env.js';

export const SERVICE = 'portcullis-admission';
export const NAMESPACE = 'portcullis-system';
const SERVERNAME = `${SERVICE}.${NAMESPACE}.svc`;

export interface LogEntry {
  readonly msg: string;
  readonly obj: Record<string, unknown>;
}

/** A logger that keeps every entry. */
export function capturingLogger(): { log: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const fn = (obj: Record<string, unknown> | string, msg?: string) => {
    if (typeof obj === 'string') entries.push({ msg: obj, obj: {} });
    else entries.push({ msg: msg ?? '', obj });
  };
  const log: Logger = { debug: fn, info: fn, warn: fn, error: fn, child: () => log };
  return { log, entries };
}

export interface Webhook {
  readonly url: string;
  readonly dir: string;
  readonly policyFile: string;
  readonly policy: WatchedPolicy;
  readonly entries: LogEntry[];
  post(path: string, body: string | Buffer, headers?: Record<string, string>): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }>;
  review(endpoint: 'validate' | 'mutate', review: Record<string, unknown>): Promise<ReviewResponse>;
  get(path: string): Promise<{ status: number; text: string }>;
}

export interface ReviewResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: { code: number; message: string };
  readonly warnings?: string[];
  readonly patchType?: string;
  readonly patch?: string;
}

export interface WebhookOptions {
  /** The policy YAML; `files` are written beside it (key files). */
  readonly policy: string;
  readonly files?: Readonly<Record<string, string>>;
  /** Registry credentials: registry → [user, password] (the CLI reads them from a Docker config file). */
  readonly auths?: Readonly<Record<string, readonly [string, string]>>;
  readonly insecureRegistries?: readonly string[];
  readonly namespaces?: NamespaceSource;
  readonly timeoutMs?: number;
  readonly digestTtlMs?: number;
  readonly fetchTimeoutMs?: number;
}

export async function startWebhook(t: TestContext, o: WebhookOptions): Promise<Webhook> {
  const dir = tempDir(t, 'portcullis-admission-');
  const certs = await issueServingCertificates({ service: SERVICE, namespace: NAMESPACE, now: new Date() });
  writeFileSync(join(dir, 'tls.crt'), certs.cert);
  writeFileSync(join(dir, 'tls.key'), certs.key, { mode: 0o600 });
  for (const [name, text] of Object.entries(o.files ?? {})) writeFileSync(join(dir, name), text);
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, o.policy);
  const { log, entries } = capturingLogger();
  const policy = new WatchedPolicy(policyFile, log);
  const now = Date.now;
  const facts = new FactSource({
    credentials: (registry) => {
      const a = o.auths?.[registry];
      return Promise.resolve(a === undefined ? undefined : { username: a[0], password: a[1] });
    },
    insecureRegistries: new Set(o.insecureRegistries ?? []),
    tagTtlMs: 30_000,
    digestTtlMs: o.digestTtlMs ?? 60_000,
    fetchTimeoutMs: o.fetchTimeoutMs ?? 30_000,
    now,
    log,
    userAgent: 'portcullis-admission-test',
  });
  const controller = new AdmissionController({ policy: () => policy.current(), facts, namespaces: o.namespaces ?? new StaticNamespaces(new Map()), timeoutMs: o.timeoutMs ?? 8000, now, log });
  const server = await startAdmissionServer({ host: '127.0.0.1', port: 0, certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), controller, metrics: new AdmissionMetrics(facts.cache), log, now });
  t.after(async () => {
    policy.close();
    await server.close();
  });
  const post = (path: string, body: string | Buffer, headers: Record<string, string> = { 'Content-Type': 'application/json' }) => send('POST', server.port, path, certs.caCert, body, headers);
  return {
    url: server.url,
    dir,
    policyFile,
    policy,
    entries,
    post,
    get: (path) => send('GET', server.port, path, certs.caCert, undefined, {}),
    review: async (endpoint, review) => {
      const res = await post(`/${endpoint}`, JSON.stringify(review));
      if (res.status !== 200) throw new Error(`/${endpoint} answered ${res.status}: ${res.text}`);
      const doc = JSON.parse(res.text) as { apiVersion: string; kind: string; response: ReviewResponse };
      if (doc.apiVersion !== 'admission.k8s.io/v1' || doc.kind !== 'AdmissionReview') throw new Error(`not an AdmissionReview: ${res.text}`);
      return doc.response;
    },
  };
}

function send(method: string, port: number, path: string, ca: string, body: string | Buffer | undefined, headers: Record<string, string>): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, ca, servername: SERVERNAME, headers: { ...headers, ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// ------------------------------------------------------------------ AdmissionReviews as the API server sends them

const RESOURCES: Readonly<Record<string, { group: string; version: string; resource: string }>> = {
  Pod: { group: '', version: 'v1', resource: 'pods' },
  ReplicationController: { group: '', version: 'v1', resource: 'replicationcontrollers' },
  Deployment: { group: 'apps', version: 'v1', resource: 'deployments' },
  ReplicaSet: { group: 'apps', version: 'v1', resource: 'replicasets' },
  StatefulSet: { group: 'apps', version: 'v1', resource: 'statefulsets' },
  DaemonSet: { group: 'apps', version: 'v1', resource: 'daemonsets' },
  Job: { group: 'batch', version: 'v1', resource: 'jobs' },
  CronJob: { group: 'batch', version: 'v1', resource: 'cronjobs' },
  Service: { group: '', version: 'v1', resource: 'services' },
};

export interface Containers {
  readonly containers: readonly string[];
  readonly initContainers?: readonly string[];
  readonly ephemeralContainers?: readonly string[];
}

export function podSpec(c: Containers): Record<string, unknown> {
  const list = (images: readonly string[] | undefined, prefix: string) => images?.map((image, i) => ({ name: `${prefix}${i}`, image, imagePullPolicy: 'IfNotPresent', resources: {} }));
  return {
    containers: list(c.containers, 'app'),
    ...(c.initContainers !== undefined ? { initContainers: list(c.initContainers, 'init') } : {}),
    ...(c.ephemeralContainers !== undefined ? { ephemeralContainers: list(c.ephemeralContainers, 'debug') } : {}),
    restartPolicy: 'Always',
    dnsPolicy: 'ClusterFirst',
    serviceAccountName: 'default',
  };
}

/** An object of `kind` whose pod spec runs these images. */
export function workload(kind: string, name: string, namespace: string, c: Containers): Record<string, unknown> {
  const metadata = { name, namespace, labels: { app: name } };
  const template = { metadata: { labels: { app: name } }, spec: podSpec(c) };
  const apiVersion = RESOURCES[kind]!.group === '' ? 'v1' : `${RESOURCES[kind]!.group}/v1`;
  switch (kind) {
    case 'Pod':
      return { apiVersion, kind, metadata, spec: podSpec(c) };
    case 'CronJob':
      return { apiVersion, kind, metadata, spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { ...template, spec: { ...podSpec(c), restartPolicy: 'OnFailure' } } } } } };
    case 'Job':
      return { apiVersion, kind, metadata, spec: { template: { ...template, spec: { ...podSpec(c), restartPolicy: 'Never' } } } };
    case 'ReplicationController':
      return { apiVersion, kind, metadata, spec: { replicas: 1, selector: { app: name }, template } };
    default:
      return { apiVersion, kind, metadata, spec: { replicas: 1, selector: { matchLabels: { app: name } }, template, ...(kind === 'StatefulSet' ? { serviceName: name } : {}) } };
  }
}

export interface ReviewOptions {
  readonly operation?: 'CREATE' | 'UPDATE' | 'DELETE';
  readonly oldObject?: unknown;
  readonly subResource?: string;
  readonly dryRun?: boolean;
}

/** An AdmissionReview request for `object`, as kube-apiserver 1.30 sends it. */
export function admissionReview(object: Record<string, unknown>, o: ReviewOptions = {}): Record<string, unknown> {
  const kind = object['kind'] as string;
  const meta = object['metadata'] as { name: string; namespace: string };
  const r = RESOURCES[kind]!;
  const operation = o.operation ?? 'CREATE';
  return {
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid: randomUUID(),
      kind: { group: r.group, version: r.version, kind },
      resource: { group: r.group, version: r.version, resource: r.resource },
      ...(o.subResource !== undefined ? { subResource: o.subResource } : {}),
      requestKind: { group: r.group, version: r.version, kind },
      requestResource: { group: r.group, version: r.version, resource: r.resource },
      ...(o.subResource !== undefined ? { requestSubResource: o.subResource } : {}),
      name: meta.name,
      namespace: meta.namespace,
      operation,
      userInfo: { username: 'system:serviceaccount:ci:deployer', uid: randomUUID(), groups: ['system:serviceaccounts', 'system:authenticated'] },
      object: operation === 'DELETE' ? null : object,
      oldObject: operation === 'CREATE' ? null : (o.oldObject ?? object),
      dryRun: o.dryRun ?? false,
      options: operation === 'CREATE' ? { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl-client-side-apply' } : operation === 'UPDATE' ? { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1' } : { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
}
