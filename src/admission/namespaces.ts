/**
 * The labels of a namespace, for rules that select namespaces by label: an AdmissionReview names
 * the namespace but not its labels, so they are read from the Kubernetes API (in the cluster,
 * with the pod's service account; remembered for a while) or, offline, given by the caller.
 */
import { readFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';

export type Labels = Readonly<Record<string, string>>;

export interface NamespaceSource {
  /** The namespace's labels; a string says why they could not be read. */
  labels(name: string, signal: AbortSignal): Promise<Labels | string>;
}

/** Labels known in advance (`admission check`, tests). */
export class StaticNamespaces implements NamespaceSource {
  constructor(private readonly known: ReadonlyMap<string, Labels>) {}
  labels(name: string): Promise<Labels | string> {
    return Promise.resolve(this.known.get(name) ?? { 'kubernetes.io/metadata.name': name });
  }
}

export interface KubeApiOptions {
  /** `https://HOST:PORT` of the API server. */
  readonly server: string;
  /** The bearer token file (the service account's, re-read as it rotates). */
  readonly tokenFile: string;
  /** The API server's CA bundle; undefined trusts the system's. */
  readonly caFile?: string;
  readonly ttlMs: number;
  readonly now: () => number;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The in-cluster API server, from the environment Kubernetes gives every pod; undefined outside a cluster. */
export function inClusterApi(env: NodeJS.ProcessEnv): { server: string; tokenFile: string; caFile: string } | undefined {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
  if (host === undefined || host === '') return undefined;
  return { server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`, tokenFile: `${SA_DIR}/token`, caFile: `${SA_DIR}/ca.crt` };
}

/** Namespaces read from the Kubernetes API (`get namespaces`), each remembered for `ttlMs`. */
export class KubeNamespaces implements NamespaceSource {
  private readonly cache = new Map<string, { value: Promise<Labels | string>; until: number }>();
  private readonly agent: Agent | undefined;

  constructor(private readonly o: KubeApiOptions) {
    this.agent = o.server.startsWith('https:') ? new Agent({ keepAlive: true, ...(o.caFile !== undefined ? { ca: readFileSync(o.caFile) } : {}) }) : undefined;
  }

  labels(name: string, signal: AbortSignal): Promise<Labels | string> {
    const now = this.o.now();
    const hit = this.cache.get(name);
    if (hit !== undefined && hit.until > now) return hit.value;
    const value = this.fetch(name);
    const entry = { value, until: now + this.o.ttlMs };
    this.cache.set(name, entry);
    // An answer that says why it failed is not remembered.
    void value.then((v) => {
      if (typeof v === 'string' && this.cache.get(name) === entry) this.cache.delete(name);
    });
    if (this.cache.size > 10_000) this.cache.clear();
    return abortable(value, signal);
  }

  private fetch(name: string): Promise<Labels | string> {
    let token: string;
    try {
      token = readFileSync(this.o.tokenFile, 'utf8').trim();
    } catch (err) {
      return Promise.resolve(`the service account token ${this.o.tokenFile} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const url = new URL(`/api/v1/namespaces/${encodeURIComponent(name)}`, this.o.server);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      const req = send(url, { method: 'GET', headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' }, ...(this.agent !== undefined ? { agent: this.agent } : {}), timeout: 5000 }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > 1024 * 1024) res.destroy(new Error('the namespace object is over 1 MiB'));
          else chunks.push(c);
        });
        res.on('error', (err) => resolve(`the Kubernetes API failed: ${err.message}`));
        res.on('end', () => {
          if (res.statusCode !== 200) return resolve(`the Kubernetes API answered ${res.statusCode ?? 0} for namespace ${name} (does the webhook's service account may get namespaces?)`);
          try {
            const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { metadata?: { labels?: unknown } };
            const labels = doc.metadata?.labels;
            const out: Record<string, string> = {};
            if (typeof labels === 'object' && labels !== null) for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
            resolve(out);
          } catch {
            resolve(`the Kubernetes API answered a namespace that is not JSON`);
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
      req.on('error', (err) => resolve(`the Kubernetes API cannot be reached: ${err.message}`));
      req.end();
    });
  }
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T | string> {
  if (signal.aborted) return Promise.resolve('the review ran out of time reading the namespace');
  return new Promise((resolve) => {
    const abort = (): void => resolve('the review ran out of time reading the namespace');
    signal.addEventListener('abort', abort, { once: true });
    void p.then((v) => {
      signal.removeEventListener('abort', abort);
      resolve(v);
    });
  });
}
