/**
 * The Kubernetes objects that run the admission webhook, as plain objects and as the YAML
 * stream `portcullis admission manifests` prints. Pure: the caller reads the files (policy,
 * its key files, certificates) and passes their text.
 *
 * The YAML is written as YAML 1.1, which is what Kubernetes reads (sigs.k8s.io/yaml): a string
 * such as `on`, `yes` or `0755` is then quoted, where YAML 1.2 output would leave it bare and
 * the API server would read a boolean or a number.
 */
import { createHash } from 'node:crypto';
import { Document, parse as parseYaml } from 'yaml';
import { keyPaths, parseAdmissionPolicy } from '../policy/index.js';
import { serviceNameProblem } from './cert.js';

export const DEFAULT_NAMESPACE = 'portcullis-admission';
/** The name of the Service (and of every other object): the serving certificate is for NAME.NS.svc. */
export const ADMISSION_NAME = 'portcullis-admission';
export const DEFAULT_IMAGE_REPOSITORY = 'registry.example.com/portcullis';
export const TLS_SECRET = `${ADMISSION_NAME}-tls`;
export const REGISTRY_SECRET = `${ADMISSION_NAME}-registry`;
export const CONFIG_DIR = '/etc/portcullis';
export const POLICY_KEY = 'policy.yaml';
/**
 * V8 flags of the webhook's process. A small young generation: reviews make short-lived garbage
 * only, and Node's default 16 MiB semi-spaces hold ~50 MiB that a 2-replica webhook on every
 * node's path does not need. An old generation bounded at 192 MiB: its live data is ~30 MiB (the
 * caches hold at most 10,000 answers each, of a few hundred bytes), and without a bound V8 let
 * uncached load grow the heap to ~90 MiB of garbage before collecting it (RSS 176 MB against 111 MB
 * with it, in bench:admission, which measures the webhook with these flags). Far below the pod's
 * 512Mi limit: a heap that did fill would end the process, whose reviews the API server then
 * refuses (failurePolicy Fail) while the other replica serves.
 */
export const WEBHOOK_NODE_OPTIONS = '--max-semi-space-size=4 --max-old-space-size=192';
const PORT = 8443;
/** The unprivileged user of distroless images; any non-root id would do. */
const USER_ID = 65532;
/** Namespaces the webhook never judges: the control plane's, and its own (else it could not start itself). */
const ALWAYS_EXCLUDED = ['kube-system'];
/** Namespaces it must not live in: its own namespace escapes the policy, so it has to be one of its own. */
const SHARED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

/** An admission policy that admits everything: what a deployment without --policy starts with. */
export const PLACEHOLDER_POLICY = [
  '# Placeholder: this policy admits every image. Replace it with yours (see docs/admission.md),',
  '# check it with `portcullis admission check`, and print the manifests again with --policy FILE.',
  'defaultAction: allow',
  'rules: []',
  '',
].join('\n');

export interface PolicyFile {
  /** The path the policy names it by, relative to the policy file. */
  readonly path: string;
  readonly content: string;
}

export interface ManifestOptions {
  readonly namespace: string;
  readonly image: string;
  /** Portcullis's version, for the app.kubernetes.io/version label. */
  readonly version: string;
  /** PEM CA certificate(s) the API server trusts for the webhook; absent: the caBundle is left out. */
  readonly caBundle?: string;
  /** The serving certificate and key; absent: the TLS Secret is left to be created by hand. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** The policy file's text and the key files it names; absent: PLACEHOLDER_POLICY. */
  readonly policy?: { readonly text: string; readonly files: readonly PolicyFile[] };
  /** More namespaces the webhooks skip (besides kube-system and its own). */
  readonly excludeNamespaces?: readonly string[];
}

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly [field: string]: unknown;
}

/** One document of the stream: the object and the comment printed above it. */
export interface Manifest {
  readonly object: KubeObject;
  readonly comment: string;
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
/** Kubernetes' rule for a volume item path: relative, no `..` element. */
const SAFE_RELATIVE = /^(?!\/)(?!.*(^|\/)\.\.(\/|$)).+$/;

/**
 * The key files a policy names by path (relative to the policy file), once each; a PolicyError
 * (POLICY_INVALID, naming the bad key's path) when the policy does not validate.
 */
export function policyKeyPaths(text: string): string[] {
  return keyPaths(parseAdmissionPolicy(parseYaml(text) as unknown));
}

/** What is wrong with the options (each a sentence for the user); empty when none. */
export function manifestOptionProblems(o: ManifestOptions): string[] {
  const problems: string[] = [];
  const name = serviceNameProblem(ADMISSION_NAME, o.namespace);
  if (name !== undefined) problems.push(name);
  if (SHARED_NAMESPACES.has(o.namespace)) problems.push(`the webhook does not judge its own namespace, so it needs one of its own, not "${o.namespace}"`);
  if (o.image.trim() === '' || /\s/.test(o.image)) problems.push(`"${o.image}" is not an image reference`);
  for (const ns of o.excludeNamespaces ?? []) {
    const p = serviceNameProblem(ADMISSION_NAME, ns);
    if (p !== undefined) problems.push(`--exclude-namespace: ${p}`);
  }
  const seen = new Set<string>();
  for (const f of o.policy?.files ?? []) {
    const path = f.path.replace(/^\.\//, '');
    if (!SAFE_RELATIVE.test(path)) problems.push(`the policy names the key file ${f.path}: in the cluster a key file is mounted beside the policy, so name it by a path inside the policy's folder (or give the PEM inline)`);
    else if (path === POLICY_KEY || /^(tls|docker)(\/|$)/.test(path)) problems.push(`the policy names the key file ${f.path}, where the deployment mounts its own files: move it`);
    else if (seen.has(path)) problems.push(`the policy names the key file ${f.path} twice`);
    seen.add(path);
  }
  return problems;
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function labels(version: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': ADMISSION_NAME,
    'app.kubernetes.io/component': 'admission-webhook',
    'app.kubernetes.io/part-of': 'portcullis',
    // A version such as 1.0.0+build is no label value: the label is then left out.
    ...(LABEL_VALUE.test(version) && version.length <= 63 ? { 'app.kubernetes.io/version': version } : {}),
    'app.kubernetes.io/managed-by': 'portcullis',
  };
}

const SELECTOR = { 'app.kubernetes.io/name': ADMISSION_NAME, 'app.kubernetes.io/component': 'admission-webhook' };

/** The ConfigMap key of a policy's key file (keys allow no `/`); the volume puts it back at its path. */
function keyFileKey(i: number, path: string): string {
  return `key-${i}-${path.split('/').at(-1)!.replace(/[^-._a-zA-Z0-9]/g, '_')}`.slice(0, 253);
}

/** The objects, in the order `kubectl apply -f` should create them: the webhooks last. */
export function admissionManifests(o: ManifestOptions): Manifest[] {
  const ns = o.namespace;
  const meta = (name: string, namespaced = true) => ({ name, ...(namespaced ? { namespace: ns } : {}), labels: labels(o.version) });
  const policyText = o.policy?.text ?? PLACEHOLDER_POLICY;
  const files = o.policy?.files ?? [];
  // The webhook re-reads its policy and certificate when they change, but a Secret reaches the
  // pods' volume only within a minute or two: a new certificate rolls the pods instead, so that
  // `kubectl rollout status` tells when every pod serves it (docs/admission.md, renewing).
  const tlsHash = o.tls !== undefined ? createHash('sha256').update(o.tls.cert).digest('hex') : undefined;
  const excluded = [...new Set([...ALWAYS_EXCLUDED, ns, ...(o.excludeNamespaces ?? [])])];

  const out: Manifest[] = [];
  out.push({
    comment: `The webhook's namespace. It is exempt from the webhooks (else the webhook's own pods\ncould not start while it is down), so keep nothing else in it. Pod Security "restricted" holds.`,
    object: {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns, labels: { ...labels(o.version), 'pod-security.kubernetes.io/enforce': 'restricted' } },
    },
  });
  out.push({
    comment: `Its identity: the webhook reads namespaces' labels from the API (rules may select namespaces by label).`,
    object: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(ADMISSION_NAME) },
  });
  out.push({
    comment: 'May read namespaces, nothing else.',
    object: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: meta(ADMISSION_NAME, false),
      rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get'] }],
    },
  });
  out.push({
    comment: '',
    object: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: meta(ADMISSION_NAME, false),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: ADMISSION_NAME },
      subjects: [{ kind: 'ServiceAccount', name: ADMISSION_NAME, namespace: ns }],
    },
  });
  if (o.tls !== undefined) {
    out.push({
      comment: `The serving certificate for ${ADMISSION_NAME}.${ns}.svc and its key: this file holds a private key.`,
      object: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: meta(TLS_SECRET),
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': base64(o.tls.cert), 'tls.key': base64(o.tls.key) },
      },
    });
  }
  const configComment = [
    ...(o.tls === undefined
      ? [
          `The Secret ${TLS_SECRET} (type kubernetes.io/tls: the serving certificate`,
          `for ${ADMISSION_NAME}.${ns}.svc) is not in this file. Print the manifests`,
          `with --tls-dir DIR to include it, or create it from \`portcullis admission cert\`'s files:`,
          `  kubectl -n ${ns} create secret tls ${TLS_SECRET} --cert=tls.crt --key=tls.key`,
          'A placeholder here would replace a Secret made that way at every apply.',
          '',
        ]
      : []),
    `The admission policy${files.length > 0 ? ' and the key files it names' : ''}, mounted at ${CONFIG_DIR}; the webhook re-reads`,
    'it when it changes (a ConfigMap reaches the pods within a minute or two).',
    ...(o.policy === undefined ? ['This one is a placeholder that admits every image: print the manifests with --policy FILE.'] : []),
  ].join('\n');
  out.push({
    comment: configComment,
    object: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta(ADMISSION_NAME),
      data: { [POLICY_KEY]: policyText, ...Object.fromEntries(files.map((f, i) => [keyFileKey(i, f.path), f.content])) },
    },
  });
  out.push({
    comment: `What the API server calls: https://${ADMISSION_NAME}.${ns}.svc:443.`,
    object: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(ADMISSION_NAME),
      spec: { type: 'ClusterIP', selector: SELECTOR, ports: [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }] },
    },
  });
  out.push({ comment: deploymentComment(), object: deployment(o, meta(ADMISSION_NAME), tlsHash, files) });
  out.push({
    comment: 'Node drains and cluster upgrades leave at least one webhook pod serving: with failurePolicy Fail,\nno serving pod means no pod can be created outside the exempt namespaces.',
    object: {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta(ADMISSION_NAME),
      spec: { minAvailable: 1, selector: { matchLabels: SELECTOR } },
    },
  });
  const caNote = o.caBundle === undefined
    ? '\nNO caBundle: the API server cannot verify the webhook and, with failurePolicy Fail, refuses\nevery pod and workload it matches. Print the manifests with --ca-file ca.crt (or --tls-dir DIR).'
    : '';
  out.push({ comment: webhookComment('Validating', excluded) + caNote, object: webhookConfiguration('Validating', o, excluded, meta(ADMISSION_NAME, false)) });
  out.push({ comment: webhookComment('Mutating', excluded) + caNote, object: webhookConfiguration('Mutating', o, excluded, meta(ADMISSION_NAME, false)) });
  return out;
}

function deploymentComment(): string {
  return [
    'Two replicas on different nodes where there are, replaced one at a time (never fewer than two',
    'while rolling). Non-root, read-only root file system, no capabilities. Registry credentials:',
    `an optional Secret ${REGISTRY_SECRET} of type kubernetes.io/dockerconfigjson (see docs/admission.md).`,
  ].join('\n');
}

function deployment(o: ManifestOptions, metadata: KubeObject['metadata'], tlsHash: string | undefined, files: readonly PolicyFile[]): KubeObject {
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path, port: 'https', scheme: 'HTTPS' },
    periodSeconds,
    timeoutSeconds: 2,
    failureThreshold,
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      replicas: 2,
      revisionHistoryLimit: 5,
      selector: { matchLabels: SELECTOR },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: labels(o.version), ...(tlsHash !== undefined ? { annotations: { 'portcullis.dev/tls-sha256': tlsHash } } : {}) },
        spec: {
          serviceAccountName: ADMISSION_NAME,
          securityContext: { runAsNonRoot: true, runAsUser: USER_ID, runAsGroup: USER_ID, fsGroup: USER_ID, seccompProfile: { type: 'RuntimeDefault' } },
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: SELECTOR } }],
          containers: [
            {
              name: 'webhook',
              image: o.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['portcullis'],
              args: [
                'admission',
                'serve',
                '--policy',
                `${CONFIG_DIR}/${POLICY_KEY}`,
                '--tls-cert',
                `${CONFIG_DIR}/tls/tls.crt`,
                '--tls-key',
                `${CONFIG_DIR}/tls/tls.key`,
                // Absent while the optional Secret is: no credentials, anonymous pulls.
                '--registry-config',
                `${CONFIG_DIR}/docker/config.json`,
                '--addr',
                `0.0.0.0:${PORT}`,
              ],
              env: [
                { name: 'HOME', value: '/tmp' },
                { name: 'NODE_OPTIONS', value: WEBHOOK_NODE_OPTIONS },
              ],
              ports: [{ name: 'https', containerPort: PORT, protocol: 'TCP' }],
              readinessProbe: probe('/readyz', 5, 2),
              livenessProbe: probe('/healthz', 10, 3),
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            {
              // One read-only directory: the policy (and its key files), tls/, docker/config.json.
              name: 'config',
              projected: {
                defaultMode: 0o440,
                sources: [
                  { configMap: { name: ADMISSION_NAME, items: [{ key: POLICY_KEY, path: POLICY_KEY }, ...files.map((f, i) => ({ key: keyFileKey(i, f.path), path: f.path.replace(/^\.\//, '') }))] } },
                  { secret: { name: TLS_SECRET, items: [{ key: 'tls.crt', path: 'tls/tls.crt' }, { key: 'tls.key', path: 'tls/tls.key' }] } },
                  { secret: { name: REGISTRY_SECRET, optional: true, items: [{ key: '.dockerconfigjson', path: 'docker/config.json' }] } },
                ],
              },
            },
            { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
          ],
        },
      },
    },
  };
}

function webhookComment(kind: 'Validating' | 'Mutating', excluded: readonly string[]): string {
  const what = kind === 'Validating'
    ? 'Admits or denies pods and workloads by the policy.'
    : 'Pins each image to the digest its tag names; called again if a later mutating webhook\nadds containers.';
  return [
    what,
    'failurePolicy Fail: when no webhook pod answers, the requests it matches are refused.',
    `Exempt namespaces: ${excluded.join(', ')}. A broken webhook is undone with`,
    `  kubectl delete ${kind.toLowerCase()}webhookconfiguration ${ADMISSION_NAME}`,
  ].join('\n');
}

/** Pods (ephemeral containers included: `kubectl debug` adds them) and every kind that makes pods. */
const RULES = [
  { apiGroups: [''], apiVersions: ['v1'], resources: ['pods', 'pods/ephemeralcontainers', 'replicationcontrollers'] },
  { apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'] },
  { apiGroups: ['batch'], apiVersions: ['v1'], resources: ['jobs', 'cronjobs'] },
].map((r) => ({ ...r, operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' }));

function webhookConfiguration(kind: 'Validating' | 'Mutating', o: ManifestOptions, excluded: readonly string[], metadata: KubeObject['metadata']): KubeObject {
  const path = kind === 'Validating' ? '/validate' : '/mutate';
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: `${kind}WebhookConfiguration`,
    metadata,
    webhooks: [
      {
        name: `${kind === 'Validating' ? 'validate' : 'mutate'}.admission.portcullis.dev`,
        admissionReviewVersions: ['v1'],
        clientConfig: {
          service: { namespace: o.namespace, name: ADMISSION_NAME, path, port: 443 },
          ...(o.caBundle !== undefined ? { caBundle: base64(o.caBundle) } : {}),
        },
        rules: RULES,
        // Requests in other API versions are converted to v1 and sent too.
        matchPolicy: 'Equivalent',
        namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: excluded }] },
        failurePolicy: 'Fail',
        sideEffects: 'None',
        timeoutSeconds: 10,
        // A sidecar injected by a webhook that runs after this one gets its image pinned too.
        ...(kind === 'Mutating' ? { reinvocationPolicy: 'IfNeeded' } : {}),
      },
    ],
  };
}

/** The multi-document YAML stream, each object under its comment. */
export function renderManifests(o: ManifestOptions): string {
  const header = [
    `Portcullis ${o.version}: the admission webhook in namespace ${o.namespace}.`,
    'Made by `portcullis admission manifests`; apply with `kubectl apply -f FILE`. See docs/admission.md.',
  ];
  const docs = admissionManifests(o).map((m, i) => {
    // No anchors and aliases for objects used twice (the selector): plainer for readers and tools.
    const doc = new Document(m.object, { version: '1.1', aliasDuplicateObjects: false });
    const comment = i === 0 ? [...header, '', m.comment].join('\n') : m.comment;
    if (comment !== '') doc.commentBefore = comment.split('\n').map((l) => (l === '' ? '' : ` ${l}`)).join('\n');
    return doc.toString({ lineWidth: 0 });
  });
  return docs.join('---\n');
}
