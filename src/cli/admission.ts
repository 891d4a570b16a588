/**
 * `portcullis admission serve | check` (and, from admission-deploy.ts, `cert | manifests`): the
 * Kubernetes admission webhook, and the same decisions offline so CI can test a policy (and the
 * images a manifest names) before the cluster sees them.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import type { AdmissionVerdict } from '../policy/index.js';
import { parseDuration } from '../shared/index.js';
import { registerAdmissionDeploy } from './admission-deploy.js';
import { dockerConfigPath, lookupCredentials } from './docker-config.js';
import { CliError } from './errors.js';
import { fileOutput, render, stdoutOutput } from './output.js';
import type { CliIo, CliState } from './program.js';
import { packageVersion } from './version.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function duration(text: string, what: string, zero = false): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 0 || (ms === 0 && !zero)) throw new CliError('USAGE', `${what} "${text}" is not a duration (8s, 1m${zero ? ', 0 for none' : ''})`);
  return ms;
}

/** Registry credentials from a Docker config file (Docker Hub under its v1 index URL, as docker writes it). */
function credentialsFrom(path: string): (registry: string) => Promise<{ username: string; password: string } | undefined> {
  return async (registry) => (registry === 'docker.io' ? ((await lookupCredentials('https://index.docker.io/v1/', path)) ?? lookupCredentials(registry, path)) : lookupCredentials(registry, path));
}

function listenAddress(addr: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(addr);
  if (m === null || Number(m[2]) > 65535) throw new CliError('USAGE', `--addr "${addr}" is not HOST:PORT`);
  return { host: m[1]!.replace(/^\[|\]$/g, '') || '0.0.0.0', port: Number(m[2]) };
}

interface Common {
  policy: string;
  registryConfig?: string;
  insecureRegistry: string[];
  timeout: string;
}

export function registerAdmission(program: Command, io: CliIo, state: CliState): void {
  const admission = program.command('admission').description('the Kubernetes admission webhook: only signed, scanned, allowed images start');
  const common = (cmd: Command): Command =>
    cmd
      .requiredOption('--policy <file>', 'the admission policy (YAML; docs/admission.md)')
      .option('--registry-config <file>', 'Docker config file with registry credentials (default $DOCKER_CONFIG/config.json or ~/.docker/config.json)')
      .option('--insecure-registry <host:port>', 'reach this registry over plain HTTP (repeatable)', collect, [])
      .option('--timeout <duration>', 'the most one review waits for registries before it denies', '8s');

  common(admission.command('serve').description('serve /validate and /mutate over HTTPS (AdmissionReview admission.k8s.io/v1), /healthz, /readyz and /metrics'))
    .requiredOption('--tls-cert <file>', 'serving certificate (PEM; portcullis admission cert)')
    .requiredOption('--tls-key <file>', 'its private key (PEM)')
    .option('--addr <host:port>', 'listen address', '0.0.0.0:8443')
    .option('--kube-api <url>', 'the Kubernetes API, for namespace labels (default: in the cluster, from the service account)')
    .option('--kube-token-file <file>', 'bearer token for --kube-api')
    .option('--kube-ca-file <file>', 'CA bundle of --kube-api')
    .option('--tag-ttl <duration>', 'how long the digest a tag names is remembered (0: asked at every review)', '30s')
    .option('--digest-ttl <duration>', "how long a digest's signatures, attestations and scan are remembered (0: checked at every review)", '60s')
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .action(async (o: Common & { tlsCert: string; tlsKey: string; addr: string; kubeApi?: string; kubeTokenFile?: string; kubeCaFile?: string; tagTtl: string; digestTtl: string; logLevel: string }) => {
      const { host, port } = listenAddress(o.addr);
      const timeoutMs = duration(o.timeout, '--timeout');
      const tagTtlMs = duration(o.tagTtl, '--tag-ttl', true);
      const digestTtlMs = duration(o.digestTtl, '--digest-ttl', true);
      const { pino } = await import('pino');
      const log = pino({ level: o.logLevel, base: { service: 'portcullis-admission' } }, pino.destination(2));
      const { guardRejections } = await import('../server/index.js');
      guardRejections(log);
      const a = await import('../admission/index.js');
      const policy = new a.WatchedPolicy(resolve(io.cwd, o.policy), log);
      const now = Date.now;
      const facts = new a.FactSource({
        credentials: credentialsFrom(o.registryConfig !== undefined ? resolve(io.cwd, o.registryConfig) : dockerConfigPath(io.env)),
        insecureRegistries: new Set(o.insecureRegistry),
        tagTtlMs,
        digestTtlMs,
        fetchTimeoutMs: 30_000,
        now,
        log,
        userAgent: `portcullis-admission/${packageVersion()}`,
      });
      const api = o.kubeApi !== undefined ? { server: o.kubeApi, tokenFile: o.kubeTokenFile ?? '/var/run/secrets/kubernetes.io/serviceaccount/token', ...(o.kubeCaFile !== undefined ? { caFile: o.kubeCaFile } : {}) } : a.inClusterApi(io.env);
      const namespaces = api !== undefined ? new a.KubeNamespaces({ ...api, ttlMs: 30_000, now }) : new a.StaticNamespaces(new Map());
      if (api === undefined) log.warn('not in a cluster and no --kube-api: namespace labels are unknown (rules that select namespaces by label deny what they might judge)');
      const controller = new a.AdmissionController({ policy: () => policy.current(), facts, namespaces, timeoutMs, now, log });
      const metrics = new a.AdmissionMetrics(facts.cache);
      const server = await a.startAdmissionServer({ host, port, certFile: resolve(io.cwd, o.tlsCert), keyFile: resolve(io.cwd, o.tlsKey), controller, metrics, log, now });
      policy.watch();
      process.stderr.write(`Portcullis admission ${packageVersion()} serving on ${server.url} (policy ${o.policy}: ${policy.current().policy.rules.length} rules)\n`);
      await new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      process.stderr.write('shutting down\n');
      policy.close();
      await server.close();
    });

  common(admission.command('check').description('judge images, or the workloads of a manifest, by a policy as the webhook would; exit with --exit-code when one is denied'))
    .argument('[images...]', 'images to judge (as a Pod in --namespace would name them)')
    .option('-f, --filename <file>', 'a manifest (YAML or JSON, several documents) whose workloads are judged, as kubectl -f reads them (repeatable)', collect, [])
    .option('-n, --namespace <ns>', 'the namespace of images given as arguments, and of manifest objects that name none', 'default')
    .option('--namespace-labels <key=value>', 'a label of the namespace, for rules that select by label (repeatable)', collect, [])
    .addOption(new Option('--format <format>', 'result format').choices(['table', 'json']).default('table'))
    .option('-o, --output <file>', 'write the result to FILE instead of stdout')
    .option('--exit-code <n>', 'exit with this code when an image is denied', '1')
    .action(async (images: string[], o: Common & { filename: string[]; namespace: string; namespaceLabels: string[]; format: 'table' | 'json'; output?: string; exitCode: string }) => {
      if (images.length === 0 && o.filename.length === 0) throw new CliError('USAGE', 'name images to judge, or a manifest with -f');
      if (!/^\d+$/.test(o.exitCode) || Number(o.exitCode) > 255) throw new CliError('USAGE', `--exit-code must be an integer from 0 to 255, not "${o.exitCode}"`);
      const timeoutMs = duration(o.timeout, '--timeout');
      const labels: Record<string, string> = {};
      for (const l of o.namespaceLabels) {
        const i = l.indexOf('=');
        if (i <= 0) throw new CliError('USAGE', `--namespace-labels "${l}" is not key=value`);
        labels[l.slice(0, i)] = l.slice(i + 1);
      }
      const a = await import('../admission/index.js');
      const { silentLogger } = await import('../shared/index.js');
      let loaded;
      try {
        loaded = a.loadPolicyFile(resolve(io.cwd, o.policy));
      } catch (err) {
        if (err instanceof a.AdmissionError) throw new CliError('FAILED', err.message);
        throw err;
      }
      const objects = [...images.map((image, i) => podOf(image, i, o.namespace)), ...o.filename.flatMap((f) => manifestObjects(io, f, o.namespace))];
      const now = Date.now;
      const facts = new a.FactSource({
        credentials: credentialsFrom(o.registryConfig !== undefined ? resolve(io.cwd, o.registryConfig) : dockerConfigPath(io.env)),
        insecureRegistries: new Set(o.insecureRegistry),
        tagTtlMs: 30_000,
        digestTtlMs: 60_000,
        fetchTimeoutMs: timeoutMs,
        now,
        log: silentLogger,
        userAgent: `portcullis-admission/${packageVersion()}`,
      });
      const namespaceLabels = new Map<string, Record<string, string>>();
      for (const obj of objects) namespaceLabels.set(obj.namespace, { ...labels, 'kubernetes.io/metadata.name': obj.namespace });
      const controller = new a.AdmissionController({ policy: () => loaded, facts, namespaces: new a.StaticNamespaces(namespaceLabels), timeoutMs, now, log: silentLogger });
      const rows: { object: string; namespace: string; verdict: AdmissionVerdict }[] = [];
      const messages: string[] = [];
      for (const obj of objects) {
        const decision = await controller.decide({ uid: `check-${rows.length}`, kind: { group: '', version: 'v1', kind: obj.kind }, operation: 'CREATE', dryRun: true, object: obj.object, oldObject: null, namespace: obj.namespace, name: obj.name }, false);
        for (const v of decision.verdicts) rows.push({ object: `${obj.kind}/${obj.name}`, namespace: obj.namespace, verdict: v });
        if (!decision.answer.allowed && decision.answer.message !== undefined) messages.push(`${obj.kind}/${obj.name}: ${decision.answer.message}`);
        for (const w of decision.answer.warnings ?? []) process.stderr.write(`warning: ${obj.kind}/${obj.name}: ${w}\n`);
      }
      const out = o.output !== undefined ? fileOutput(resolve(io.cwd, o.output)) : stdoutOutput;
      out.result(
        render(o.format, rows.map((r) => ({ object: r.object, namespace: r.namespace, ...r.verdict })), ['OBJECT', 'IMAGE', 'DIGEST', 'RULE', 'MODE', 'RESULT', 'REASONS'], (r: { object: string } & AdmissionVerdict) => [
          r.object,
          r.image,
          r.digest ?? '',
          r.rule ?? '(policy)',
          r.mode,
          !r.allowed ? 'denied' : r.reasons.length > 0 ? (r.mode === 'warn' ? 'warned' : 'audited') : 'allowed',
          r.reasons.map((x) => x.code).join(' '),
        ]),
      );
      for (const m of messages) process.stderr.write(`denied: ${m}\n`);
      if (rows.some((r) => !r.verdict.allowed)) state.exitCode = Number(o.exitCode);
    });

  registerAdmissionDeploy(admission, io);
}

interface CheckedObject {
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  readonly object: unknown;
}

function podOf(image: string, i: number, namespace: string): CheckedObject {
  return { kind: 'Pod', name: `image-${i + 1}`, namespace, object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: `image-${i + 1}`, namespace }, spec: { containers: [{ name: 'c', image }] } } };
}

/** The objects of a manifest file that hold a pod spec (Lists unpacked); others are skipped. */
function manifestObjects(io: CliIo, file: string, defaultNamespace: string): CheckedObject[] {
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(resolve(io.cwd, file), 'utf8');
  } catch (err) {
    throw new CliError('FAILED', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const out: CheckedObject[] = [];
  const visit = (doc: unknown): void => {
    if (typeof doc !== 'object' || doc === null) return;
    const d = doc as { kind?: unknown; items?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
    if (d.kind === 'List' && Array.isArray(d.items)) return d.items.forEach(visit);
    if (typeof d.kind !== 'string') return;
    const name = typeof d.metadata?.name === 'string' ? d.metadata.name : '(unnamed)';
    const namespace = typeof d.metadata?.namespace === 'string' ? d.metadata.namespace : defaultNamespace;
    out.push({ kind: d.kind, name, namespace, object: doc });
  };
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new CliError('FAILED', `${file} is not YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
    visit(doc.toJS());
  }
  return out;
}
