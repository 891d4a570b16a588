/**
 * An API server as far as `kubectl apply --dry-run=client` needs one: the discovery documents of
 * Kubernetes' built-in resources (the legacy form, which kubectl falls back to when the aggregated
 * one is not offered) and 404 for every object, so that each is "created (dry run)". It records
 * the object paths kubectl asked for: a namespaced object is asked for under its namespace.
 *
 * The resource list is Kubernetes' own, written from its API reference, not from the manifests under
 * test: a kind it does not hold is what an API server would not know either.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** group → version → [plural, Kind, namespaced] */
const BUILT_IN: Record<string, Record<string, [string, string, boolean][]>> = {
  '': {
    v1: [
      ['namespaces', 'Namespace', false], ['nodes', 'Node', false], ['persistentvolumes', 'PersistentVolume', false],
      ['pods', 'Pod', true], ['services', 'Service', true], ['serviceaccounts', 'ServiceAccount', true],
      ['secrets', 'Secret', true], ['configmaps', 'ConfigMap', true], ['endpoints', 'Endpoints', true],
      ['replicationcontrollers', 'ReplicationController', true], ['persistentvolumeclaims', 'PersistentVolumeClaim', true],
      ['limitranges', 'LimitRange', true], ['resourcequotas', 'ResourceQuota', true], ['events', 'Event', true],
    ],
  },
  apps: { v1: [['deployments', 'Deployment', true], ['replicasets', 'ReplicaSet', true], ['statefulsets', 'StatefulSet', true], ['daemonsets', 'DaemonSet', true], ['controllerrevisions', 'ControllerRevision', true]] },
  batch: { v1: [['jobs', 'Job', true], ['cronjobs', 'CronJob', true]] },
  policy: { v1: [['poddisruptionbudgets', 'PodDisruptionBudget', true]] },
  'networking.k8s.io': { v1: [['networkpolicies', 'NetworkPolicy', true], ['ingresses', 'Ingress', true], ['ingressclasses', 'IngressClass', false]] },
  'rbac.authorization.k8s.io': { v1: [['clusterroles', 'ClusterRole', false], ['clusterrolebindings', 'ClusterRoleBinding', false], ['roles', 'Role', true], ['rolebindings', 'RoleBinding', true]] },
  'admissionregistration.k8s.io': { v1: [['validatingwebhookconfigurations', 'ValidatingWebhookConfiguration', false], ['mutatingwebhookconfigurations', 'MutatingWebhookConfiguration', false], ['validatingadmissionpolicies', 'ValidatingAdmissionPolicy', false], ['validatingadmissionpolicybindings', 'ValidatingAdmissionPolicyBinding', false]] },
  'scheduling.k8s.io': { v1: [['priorityclasses', 'PriorityClass', false]] },
};

export interface KubeDiscovery {
  /** A kubeconfig file that points kubectl here. */
  readonly kubeconfig: string;
  /** The object paths kubectl asked for (discovery requests left out). */
  readonly asked: string[];
  close(): Promise<void>;
}

export async function startKubeDiscovery(dir: string): Promise<KubeDiscovery> {
  const asked: string[] = [];
  const resourceList = (groupVersion: string, resources: [string, string, boolean][]) => ({
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion,
    resources: resources.map(([name, kind, namespaced]) => ({ name, singularName: kind.toLowerCase(), namespaced, kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] })),
  });
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://stub').pathname;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/version') return send(200, { major: '1', minor: '32', gitVersion: 'v1.32.0' });
    if (path === '/api') return send(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
    if (path === '/api/v1') return send(200, resourceList('v1', BUILT_IN['']!['v1']!));
    if (path === '/apis') {
      const groups = Object.entries(BUILT_IN).filter(([g]) => g !== '').map(([name, versions]) => {
        const vs = Object.keys(versions).map((version) => ({ groupVersion: `${name}/${version}`, version }));
        return { name, versions: vs, preferredVersion: vs[0] };
      });
      return send(200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
    }
    const gv = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
    const resources = gv === null ? undefined : BUILT_IN[gv[1]!]?.[gv[2]!];
    if (gv !== null && resources !== undefined) return send(200, resourceList(`${gv[1]}/${gv[2]}`, resources));
    // Older kubectl also asks for the OpenAPI document (/openapi/v2): not an object; a 404 is fine.
    if (path.startsWith('/api/') || path.startsWith('/apis/')) asked.push(`${req.method} ${path}`);
    send(404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'NotFound', code: 404, message: `${path} not found` });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'stub', cluster: { server: `http://127.0.0.1:${port}` } }],
    users: [{ name: 'stub', user: {} }],
    contexts: [{ name: 'stub', context: { cluster: 'stub', user: 'stub' } }],
    'current-context': 'stub',
  }));
  return {
    kubeconfig,
    asked,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
